"""The benchmark suite: starts the real server (`python -m memory_service run`) on an embedded
PostgreSQL in a temporary folder and measures it over HTTP.

    python bench/run.py                 # 10k and 100k learnings (the issue's sizes)
    python bench/run.py --size small    # ~2k learnings: the whole suite in a few minutes
    python bench/run.py --peers         # also mem0 and Chroma on the evaluation set
    python bench/run.py --size 1m       # opt-in: 1M learnings through the bulk import (~2.5 h)
    python bench/run.py --size 100k     # the same path at 100k, for the side-by-side

--size 1m and --size 100k write the corpus as a team export and load it with
`memory-service import` (bench/million.py) instead of POSTing handoffs; real embeddings for
as many distinct texts as --embed-budget-minutes allows, synthetic ones for the rest.

Measured: ingest learnings/s next to the raw model on the same texts; search latency
p50/p95/p99 for 1, 4 and 16 clients, with and without a project filter, in each mode; brief
latency; cold start; peak memory; HNSW recall@10 against exact search, in SQL and through
/v1/search; with --peers, retrieval quality and speed of mem0 and Chroma next to ours.

The machine is shared and noisy: compare numbers within one run (the ratios are what the
targets are about), not across runs. Results go to bench/out/<timestamp>.json; the markdown
tables are printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # `python bench/run.py`: make the repository root importable (bench is not installed).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import psycopg

from bench import load, recall
from bench.corpus import Corpus, SyntheticHandoff, make_queries
from bench.embedder import RawEmbedder, embedding_texts, service_batch_size
from bench.report import MIB, render
from bench.server import ServerProcess, embedded_uri
from memory_service.db import libpq_url

# Imported now, at start: bench.recall reads the service's search settings (ef_search, the
# similarity floor) from this module, and the values must be those of the code the server
# subprocess is about to load, not of an edit made while the suite runs.
from memory_service.recall import ranking as _ranking  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
PRESETS: dict[str, dict[str, Any]] = {
    "small": {"sizes": [2_000], "requests": 100, "recall_queries": 50, "raw_sample": 2_000},
    "default": {
        "sizes": [10_000, 100_000],
        "requests": 200,
        "recall_queries": 100,
        # The raw model is timed on a random sample of each stage's texts (whole handoffs):
        # its throughput per text does not depend on how many there are, and embedding 90k
        # texts twice would double the run.
        "raw_sample": 6_000,
    },
    # Opt-in (issue 21, points 2-3): loaded through the bulk import, measured at 1 and 4
    # clients (16 clients on 2 cores measures the queue, and each cell costs minutes at 1M).
    "100k": {
        "sizes": [100_000],
        "requests": 200,
        "recall_queries": 100,
        "raw_sample": 0,
        "bulk": True,
        "clients": (1, 4),
    },
    "1m": {
        "sizes": [1_000_000],
        "requests": 200,
        # Each recall query runs exact searches over the whole table (~1-2 s each at 1M).
        "recall_queries": 50,
        "raw_sample": 0,
        "bulk": True,
        "clients": (1, 4),
    },
}
MODES = ("hybrid", "vector", "text")
FILTERS = ("none", "project")
CLIENTS = (1, 4, 16)
PROBE_REQUESTS = 20


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def machine() -> dict[str, Any]:
    import psutil  # type: ignore[import-untyped,unused-ignore]
    import torch

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # Uncommitted changes to the service make "commit" alone an incomplete description.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "memory_service", "migrations"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        if dirty:
            commit += f" + {len(dirty)} uncommitted file(s) in memory_service/migrations"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "memory_gib": psutil.virtual_memory().total / 1024**3,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "commit": commit,
    }


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------


def build_corpus(
    corpus: Corpus, total: int
) -> tuple[list[SyntheticHandoff], list[list[str]], list[int]]:
    """Handoffs until their learnings reach `total`; with each handoff's embedding texts and
    the running count of learnings after it."""
    handoffs: list[SyntheticHandoff] = []
    texts: list[list[str]] = []
    cumulative: list[int] = []
    count = 0
    stream = corpus.handoffs()
    while count < total:
        handoff = next(stream)
        group = embedding_texts(handoff)
        handoffs.append(handoff)
        texts.append(group)
        count += len(group)
        cumulative.append(count)
    return handoffs, texts, cumulative


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------


def _sample_groups(groups: list[list[str]], texts: int, rng: random.Random) -> list[list[str]]:
    """Whole handoffs drawn at random until they hold `texts` texts."""
    order = list(range(len(groups)))
    rng.shuffle(order)
    sample: list[list[str]] = []
    count = 0
    for i in order:
        if count >= texts:
            break
        sample.append(groups[i])
        count += len(groups[i])
    return sample


def _rate(parts: list[dict[str, float]]) -> dict[str, float]:
    texts = sum(p["texts"] for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    return {"texts": texts, "seconds": seconds, "per_s": texts / seconds if seconds else 0.0}


async def run_ingest(
    server: ServerProcess,
    key: str,
    embedder: RawEmbedder,
    handoffs: list[SyntheticHandoff],
    texts: list[list[str]],
    cumulative: list[int],
    sizes: list[int],
    *,
    clients: int,
    raw_sample: int,
    rounds: int,
    rng: random.Random,
) -> list[dict[str, Any]]:
    """Each stage is ingested in `rounds` slices, and before each slice the raw model is timed
    on a random sample of that slice's texts while the server is idle. Interleaving makes both
    sides see the same background load on a shared machine (other jobs come and go over the
    minutes a stage takes), so their ratio means something."""
    assert server.sampler is not None
    stages: list[dict[str, Any]] = []
    start = 0
    for size in sizes:
        end = next(i for i, c in enumerate(cumulative) if c >= size) + 1
        bounds = [start + (end - start) * r // rounds for r in range(rounds + 1)]
        total = load.IngestResult()
        raw_parts: list[dict[str, float]] = []
        raw_phase = f"raw model {size:,}"
        ingest_phase = f"ingest to {size:,}"
        for lo, hi in itertools.pairwise(bounds):
            sample = _sample_groups(texts[lo:hi], raw_sample // rounds, rng)
            server.sampler.set_phase(raw_phase)
            raw_parts.append(embedder.throughput([t for g in sample for t in g]))
            server.sampler.set_phase(ingest_phase)
            total.extend(await load.ingest(server.base_url, key, handoffs[lo:hi], clients=clients))
            log(
                f"ingest: {cumulative[hi - 1]:,} learnings; slice {hi - lo} handoffs at "
                f"{total.learnings / total.seconds:.0f} learnings/s so far; raw model "
                f"{_rate(raw_parts)['per_s']:.0f} texts/s so far"
            )
        server.sampler.set_phase("between")
        service = total.as_dict()
        raw = _rate(raw_parts)
        ratio = service["learnings_per_s"] / raw["per_s"]
        # The same ratio per CPU-second our side used: the service's learnings per CPU-second
        # of server + PostgreSQL against the raw model's texts per CPU-second of this process.
        # On a shared machine the wall-clock ratio also measures how much CPU other users left
        # each side (a process with more busy threads gets a bigger share); this one does not.
        cpu = server.sampler.cpu_report()
        service_cpu = cpu.get(ingest_phase, {}).get("service_cpu_s", 0.0)
        raw_cpu = cpu.get(raw_phase, {}).get("bench_cpu_s", 0.0)
        cpu_ratio = (
            (service["learnings"] / service_cpu) / (raw["texts"] / raw_cpu)
            if service_cpu and raw_cpu
            else None
        )
        log(
            f"ingest to {size:,}: {service['learnings_per_s']:.0f} learnings/s = {ratio:.0%} "
            f"of raw (wall clock), {cpu_ratio or 0:.0%} per CPU-second"
        )
        stages.append(
            {
                "from_learnings": cumulative[start - 1] if start else 0,
                "to_learnings": cumulative[end - 1],
                "rounds": rounds,
                "service": service,
                "raw": raw,
                "raw_rounds": raw_parts,
                "ratio": ratio,
                "cpu_ratio": cpu_ratio,
                "cpu": {k: cpu.get(k) for k in (raw_phase, ingest_phase)},
            }
        )
        start = end
    return stages


def search_bodies(queries: list[tuple[str, str]], mode: str, filt: str) -> list[dict[str, Any]]:
    bodies = []
    for text, project in queries:
        body: dict[str, Any] = {"query": text, "k": 10, "mode": mode}
        if filt == "project":
            body["project"] = project
        bodies.append(body)
    return bodies


async def measure_reads(
    server: ServerProcess,
    key: str,
    embedder: RawEmbedder,
    corpus: Corpus,
    identifiers: list[str],
    results: dict[str, Any],
    *,
    requests: int,
    recall_queries: int,
    rng: random.Random,
    clients_list: tuple[int, ...] = CLIENTS,
) -> None:
    """The read phases of every size, into `results`: search cells, briefs, HNSW recall."""
    assert server.sampler is not None
    server.sampler.set_phase("search")
    results["search"] = await run_search(
        server, key, corpus, identifiers, requests=requests, rng=rng, clients_list=clients_list
    )
    server.sampler.set_phase("brief")
    log("brief")
    results["brief"] = await run_brief(
        server, key, corpus, requests=max(50, requests // 2), rng=rng
    )
    server.sampler.set_phase("recall")
    results["recall"] = await run_recall(
        server, key, embedder, corpus, identifiers, count=recall_queries, rng=rng
    )


async def run_search(
    server: ServerProcess,
    key: str,
    corpus: Corpus,
    identifiers: list[str],
    *,
    requests: int,
    rng: random.Random,
    clients_list: tuple[int, ...] = CLIENTS,
) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    # One pool of distinct queries, cut into a fresh slice per cell: no query string is sent
    # twice, so no cache anywhere can answer from an earlier cell.
    per_cell = requests + load.WARMUP_REQUESTS
    pool = make_queries(
        rng,
        corpus,
        PROBE_REQUESTS + per_cell * len(MODES) * len(FILTERS) * len(clients_list),
        identifiers,
    )
    used = 0
    out: dict[str, Any] = {}
    async with load.client(server.base_url, key, max(clients_list)) as http:
        # Right after a bulk load the planner still has the statistics of a small table (until
        # autovacuum's ANALYZE gets to it) and hybrid searches were seen to take seconds each.
        # Measured separately, then ANALYZE, so the cells below show the steady state.
        out["stats_before"] = table_stats(server)
        probe = await load.latency_cell(
            http,
            "/v1/search",
            search_bodies(pool[:PROBE_REQUESTS], "hybrid", "none"),
            clients=1,
            time_cap_s=120,
        )
        out["right_after_ingest"] = probe.as_dict()
        log(
            f"search right after ingest (hybrid, 1 client): p50 "
            f"{out['right_after_ingest'].get('p50_ms', 0):.0f} ms; stats {out['stats_before']}"
        )
        out["analyze_s"] = analyze(server)
        used = PROBE_REQUESTS
        for clients in clients_list:
            for filt in FILTERS:
                for mode in MODES:
                    bodies = search_bodies(pool[used : used + per_cell], mode, filt)
                    used += per_cell
                    cell = await load.latency_cell(http, "/v1/search", bodies, clients=clients)
                    data = cell.as_dict()
                    cells[f"{mode}/{filt}/{clients}"] = data
                    log(
                        f"search {mode:<6} {filt:<7} {clients:>2} clients: p50 "
                        f"{data.get('p50_ms', 0):.1f} p95 {data.get('p95_ms', 0):.1f} p99 "
                        f"{data.get('p99_ms', 0):.1f} ms ({data['n']} req, "
                        f"{data['errors']} errors)"
                    )
    return {
        **out,
        "clients": list(clients_list),
        "filters": list(FILTERS),
        "modes": list(MODES),
        "requests_per_cell": requests,
        "cells": cells,
    }


def process_usage(server: ServerProcess, results: dict[str, Any]) -> None:
    """The server's and PostgreSQL's peak memory (by phase) and CPU per phase, into `results`."""
    assert server.sampler is not None
    server.sampler.sample()
    results["memory"] = {
        "peak_server_rss_mib": server.sampler.peak_server_rss / MIB,
        "peak_postgres_pss_mib": server.sampler.peak_postgres_pss / MIB,
        "server_rss_by_phase_mib": {k: v / MIB for k, v in server.sampler.phase_peaks.items()},
    }
    results["cpu"] = server.sampler.cpu_report()


def table_stats(server: ServerProcess) -> dict[str, Any]:
    with psycopg.connect(libpq_url(server.database_uri())) as conn:
        row = conn.execute(
            "SELECT n_live_tup, n_mod_since_analyze, last_autoanalyze, last_analyze "
            "FROM pg_stat_user_tables WHERE relname = 'learnings'"
        ).fetchone()
    if row is None:
        return {}
    return {
        "live_rows": row[0],
        "modified_since_analyze": row[1],
        "last_autoanalyze": str(row[2]),
        "last_analyze": str(row[3]),
    }


def analyze(server: ServerProcess) -> float:
    started = time.perf_counter()
    with psycopg.connect(libpq_url(server.database_uri()), autocommit=True) as conn:
        conn.execute("ANALYZE")
    return time.perf_counter() - started


async def run_brief(
    server: ServerProcess, key: str, corpus: Corpus, *, requests: int, rng: random.Random
) -> dict[str, Any]:
    """First the start-up brief of worktrees that still have unread handoffs (each such brief
    claims and renders them), then the steady state: briefs with a task on worktrees whose
    inbox is empty, from 1 and 4 clients."""
    with psycopg.connect(libpq_url(server.database_uri())) as conn:
        pending = conn.execute(
            "SELECT p.slug, h.recipient FROM handoffs h JOIN projects p ON p.id = h.project_id "
            "WHERE h.status = 'unread' GROUP BY p.slug, h.recipient ORDER BY 1, 2 LIMIT 40"
        ).fetchall()
    out: dict[str, Any] = {}
    async with load.client(server.base_url, key, 4) as http:
        delivered: list[int] = []
        latencies: list[float] = []
        for slug, worktree in pending:
            task, _ = make_queries(rng, corpus, 1)[0]
            started = time.perf_counter()
            response = await http.post(
                "/v1/brief", json={"project": slug, "worktree": worktree, "task": task}
            )
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            delivered.append(len(response.json()["handoffs"]))
        if latencies:
            first = load.summary(latencies)
            first["mean_delivered"] = sum(delivered) / len(delivered)
            out["first of a worktree (claims its unread handoffs)"] = first
        for clients in (1, 4):
            bodies = []
            for text, slug in make_queries(rng, corpus, requests + load.WARMUP_REQUESTS):
                project = next(p for p in corpus.projects if p.slug == slug)
                bodies.append(
                    {"project": slug, "worktree": rng.choice(project.worktrees), "task": text}
                )
            cell = await load.latency_cell(
                http, "/v1/brief", bodies, clients=clients, result_key="learnings"
            )
            out[f"steady, {clients} client{'s' if clients > 1 else ''}"] = cell.as_dict()
    return out


async def run_recall(
    server: ServerProcess,
    key: str,
    embedder: RawEmbedder,
    corpus: Corpus,
    identifiers: list[str],
    *,
    count: int,
    rng: random.Random,
) -> dict[str, Any]:
    queries = make_queries(rng, corpus, count, identifiers)
    # One text per call, as the service embeds a query.
    vectors = np.stack([embedder.encode([text])[0] for text, _ in queries])
    uri = server.database_uri()
    with psycopg.connect(libpq_url(uri)) as conn:
        ids: dict[str, Any] = dict(conn.execute("SELECT slug, id FROM projects").fetchall())
    # A tiny corpus may not reach every project; a filter on an empty project measures nothing.
    queries = [(text, slug if slug in ids else rng.choice(sorted(ids))) for text, slug in queries]
    project_ids = [ids[slug] for _, slug in queries]
    log("recall: SQL")
    sql = await asyncio.to_thread(recall.sql_recall, uri, vectors, project_ids=project_ids)
    log("recall: /v1/search")
    async with load.client(server.base_url, key, 1) as http:
        service = await recall.service_recall(
            http,
            uri,
            [q for q, _ in queries],
            vectors,
            projects=[slug for _, slug in queries],
        )
    return {"sql": sql, "service": service}


def database_stats(server: ServerProcess) -> dict[str, Any]:
    with psycopg.connect(libpq_url(server.database_uri())) as conn:
        row = conn.execute(
            "SELECT count(*), count(canonical_id), pg_database_size(current_database()), "
            "pg_relation_size('ix_learnings_embedding_hnsw'), "
            "pg_total_relation_size('learnings') FROM learnings"
        ).fetchone()
    assert row is not None
    learnings, duplicates, db_bytes, hnsw_bytes, table_bytes = row
    return {
        "learnings": learnings,
        "near_duplicates": duplicates,
        "near_duplicate_share": duplicates / learnings if learnings else 0.0,
        "database_mib": db_bytes / MIB,
        "hnsw_index_mib": hnsw_bytes / MIB,
        "learnings_total_mib": table_bytes / MIB,
    }


# --------------------------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------------------------


async def suite(args: argparse.Namespace, workdir: Path, results: dict[str, Any]) -> None:
    preset = dict(PRESETS[args.size])
    sizes: list[int] = args.sizes or preset["sizes"]
    requests: int = args.requests or preset["requests"]
    rng = random.Random(args.seed)
    meta = results["meta"]
    meta.update(sizes=sizes, ingest_clients=args.ingest_clients)

    if preset.get("bulk"):
        if args.peers:
            log("--peers is not run with the bulk sizes (use --size small or default)")
        if args.reuse is not None:
            await reuse_suite(args, preset, requests, results, rng)
        else:
            await bulk_suite(args, preset, max(sizes), requests, workdir, results, rng)
        return
    log(f"corpus: building handoffs for {max(sizes):,} learnings")
    corpus = Corpus(seed=args.seed)
    handoffs, texts, cumulative = build_corpus(corpus, max(sizes))
    identifiers = [i for h in handoffs[:2000] for i in h.identifiers]
    log(f"corpus: {len(handoffs):,} handoffs, {cumulative[-1]:,} learnings")

    server = ServerProcess(workdir / "data", log_path=workdir / "server.log")
    try:
        log("server: first start on an empty data folder")
        results["cold_start_s"] = {"first_start": server.start()}
        log(f"server: ready in {results['cold_start_s']['first_start']:.1f} s ({server.base_url})")
        key = server.admin_key()
        embedder = RawEmbedder(cache_dir=workdir / "raw-models")
        meta["embedding_backend"] = embedder.backend
        warm = embedder.warm_up(texts[-100:])
        log(f"raw model: warmed up on {sum(len(g) for g in texts[-100:])} texts in {warm:.0f} s")
        assert server.sampler is not None

        results["ingest"] = await run_ingest(
            server,
            key,
            embedder,
            handoffs,
            texts,
            cumulative,
            sizes,
            clients=args.ingest_clients,
            raw_sample=args.raw_sample or preset["raw_sample"],
            rounds=args.rounds,
            rng=rng,
        )
        results["database"] = database_stats(server)
        meta["final_learnings"] = results["database"]["learnings"]

        await measure_reads(
            server,
            key,
            embedder,
            corpus,
            identifiers,
            results,
            requests=requests,
            recall_queries=args.recall_queries or preset["recall_queries"],
            rng=rng,
        )
        if args.peers:
            from bench.peers import MEM0_DATABASE, run_peers

            server.sampler.set_phase("peers")
            results["peers"] = await run_peers(
                args.dev_set,
                base_url=server.base_url,
                database_uri=server.database_uri(),
                admin_uri=embedded_uri(server.pgdata, "postgres"),
                mem0_uri=embedded_uri(server.pgdata, MEM0_DATABASE),
                embedder=embedder,
                workdir=workdir,
            )
        process_usage(server, results)
    finally:
        log("server: stopping")
        server.stop()
    log("server: restart on the stored data (cold start with data)")
    restart = ServerProcess(workdir / "data", log_path=workdir / "server.log")
    try:
        results["cold_start_s"]["restart"] = restart.start()
    finally:
        restart.stop()
    log(f"server: restart ready in {results['cold_start_s']['restart']:.1f} s; stopped")


async def bulk_suite(
    args: argparse.Namespace,
    preset: dict[str, Any],
    size: int,
    requests: int,
    workdir: Path,
    results: dict[str, Any],
    rng: random.Random,
) -> None:
    """--size 1m / 100k: corpus, embeddings and export file first (the machine to the model
    alone), then the server on an empty folder, the import, and the same measurements as the
    HTTP-ingested sizes."""
    from bench import million

    meta = results["meta"]
    # MEMORY_* settings of the server under test (e.g. MEMORY_EMBEDDED_SHARED_BUFFERS_MB), to
    # find where the time goes at 1M (issue 21 point 3); recorded with the results.
    server_env = dict(args.server_env)
    meta["server_env"] = server_env
    embedder = RawEmbedder(cache_dir=args.cache_dir / "models")
    meta["embedding_backend"] = embedder.backend
    model = embedder.embedder.name
    corpus = Corpus(seed=args.seed)
    started = time.perf_counter()
    path, bulk, prepared = million.prepare_file(
        corpus,
        size,
        workdir=args.cache_dir if args.keep_export else workdir,
        cache_dir=args.cache_dir / "embeddings",
        encode=embedder.encode,
        model=model,
        team="default",
        budget_s=args.embed_budget_minutes * 60,
        seed=args.seed,
        log=log,
    )
    results["bulk"] = {**prepared, "prepare_s": time.perf_counter() - started}
    identifiers = [i for h in bulk.handoffs[:2000] for i in h.identifiers]

    server = ServerProcess(workdir / "data", log_path=workdir / "server.log", env=server_env)
    try:
        log("server: first start on an empty data folder")
        results["cold_start_s"] = {"first_start": server.start()}
        assert server.sampler is not None
        uri = server.database_uri()
        use_bulk = million.cli_has_bulk() and not args.plain_import
        server.sampler.set_phase("import")
        log(f"import: {'--bulk --rebuild-indexes' if use_bulk else 'plain (no --bulk here)'}")
        with million.IndexBuildWatch(uri) as watch:
            imported = await asyncio.to_thread(
                million.run_import, path, uri, team="default", bulk=use_bulk, workdir=workdir
            )
        imported["index_builds_seen"] = watch.report()
        hnsw = imported["index_builds_seen"].get("ix_learnings_embedding_hnsw")
        if hnsw is None:
            server.sampler.set_phase("reindex")
            log("import did not build the HNSW index: timing a REINDEX of it")
            imported["hnsw_build_s"] = million.reindex_hnsw(uri)
            imported["hnsw_build_how"] = "REINDEX after a row-by-row import"
        else:
            imported["hnsw_build_s"] = hnsw["seconds_seen"]
            imported["hnsw_build_how"] = "seen in pg_stat_progress_create_index during import"
        server.sampler.set_phase("between")
        imported["learnings_per_s"] = len(bulk.learnings) / imported["seconds"]
        results["bulk"]["import"] = imported
        log(f"import: {imported['seconds']:.0f} s, HNSW build {imported['hnsw_build_s']:.0f} s")
        await _bulk_reads(
            server, args, preset, requests, embedder, corpus, identifiers, results, rng
        )
    finally:
        log("server: stopping")
        server.stop()
    restart = ServerProcess(workdir / "data", log_path=workdir / "server.log", env=server_env)
    try:
        results["cold_start_s"]["restart"] = restart.start()
    finally:
        restart.stop()
    log(f"server: restart ready in {results['cold_start_s']['restart']:.1f} s; stopped")


async def _bulk_reads(
    server: ServerProcess,
    args: argparse.Namespace,
    preset: dict[str, Any],
    requests: int,
    embedder: RawEmbedder,
    corpus: Corpus,
    identifiers: list[str],
    results: dict[str, Any],
    rng: random.Random,
) -> None:
    """The bulk sizes' measurements on the loaded data: sizes, searches, briefs, recall,
    memory and CPU."""
    assert server.sampler is not None
    results["database"] = database_stats(server)
    results["meta"]["final_learnings"] = results["database"]["learnings"]
    await measure_reads(
        server,
        server.admin_key(),
        embedder,
        corpus,
        identifiers,
        results,
        requests=requests,
        recall_queries=args.recall_queries or preset["recall_queries"],
        rng=rng,
        clients_list=tuple(preset.get("clients", CLIENTS)),
    )
    process_usage(server, results)


# Learnings of the bulk corpus that hold its first 2,000 handoffs (~9 a handoff at the start,
# where few texts repeat yet): enough to name the identifiers the search queries ask about.
IDENTIFIER_LEARNINGS = 25_000


async def reuse_suite(
    args: argparse.Namespace,
    preset: dict[str, Any],
    requests: int,
    results: dict[str, Any],
    rng: random.Random,
) -> None:
    """--reuse: the read phases again on the data folder a `--keep` run left, with the same
    queries (same seed), to measure a change of the server without loading again."""
    from bench import million

    data = args.reuse / "data" if (args.reuse / "data").is_dir() else args.reuse
    if not (data / "pgdata").is_dir():
        raise SystemExit(f"--reuse {args.reuse}: no data folder (with pgdata) there")
    server_env = dict(args.server_env)
    results["meta"]["server_env"] = server_env
    embedder = RawEmbedder(cache_dir=args.cache_dir / "models")
    results["meta"]["embedding_backend"] = embedder.backend
    corpus = Corpus(seed=args.seed)
    log("corpus: its first handoffs again, for the identifiers the queries name")
    first = million.build_distinct(corpus, IDENTIFIER_LEARNINGS)
    assert len(first.handoffs) > 2000, "IDENTIFIER_LEARNINGS no longer covers 2,000 handoffs"
    identifiers = [i for h in first.handoffs[:2000] for i in h.identifiers]
    results["bulk"] = {"reused": str(data)}
    server = ServerProcess(data, log_path=data.parent / "server-reuse.log", env=server_env)
    try:
        log(f"server: start on the data in {data}")
        results["cold_start_s"] = {"restart": server.start()}
        await _bulk_reads(
            server, args, preset, requests, embedder, corpus, identifiers, results, rng
        )
    finally:
        log("server: stopping")
        server.stop()


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.startswith("MEMORY_"):
        raise argparse.ArgumentTypeError(f"expected MEMORY_NAME=VALUE, got {item!r}")
    return key, value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--size",
        choices=sorted(PRESETS),
        default="default",
        help="small: ~2k learnings, a few minutes; default: 10k and 100k (HTTP ingest); "
        "1m / 100k: bulk import (opt-in, see bench/RESULTS.md, issue 21)",
    )
    parser.add_argument(
        "--embed-budget-minutes",
        type=float,
        default=60.0,
        help="--size 1m/100k: minutes of model time for real embeddings; the rest synthetic",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=ROOT / "bench/out/million",
        help="--size 1m/100k: embedding chunks (resumed by a rerun) and the model",
    )
    parser.add_argument(
        "--keep-export", action="store_true", help="write the export file into --cache-dir"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="--size 1m/100k: a setting of the server under test (repeatable)",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        metavar="DIR",
        help="--size 1m/100k: measure the reads again on the data a --keep run left in DIR "
        "(the printed temporary folder), without corpus, embeddings or import",
    )
    parser.add_argument(
        "--plain-import",
        action="store_true",
        help="load with the all-or-nothing import even where --bulk exists",
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        help="comma list of learnings counts, overriding --size (e.g. 5000)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="also run mem0 and Chroma on the evaluation set (bench extra)",
    )
    parser.add_argument(
        "--dev-set",
        type=Path,
        default=ROOT / "tests/data/dev_eval.json",
        help="evaluation dataset for --peers",
    )
    parser.add_argument("--ingest-clients", type=int, default=4)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="slices per ingest stage, each preceded by a raw-model timing",
    )
    parser.add_argument("--requests", type=int, help="measured requests per latency cell")
    parser.add_argument("--recall-queries", type=int)
    parser.add_argument("--raw-sample", type=int, help="texts the raw model is timed on")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/out")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary data folder (database, server log)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "meta": {
            **machine(),
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "preset": args.size if not args.sizes else "custom",
            "command": " ".join(["python bench/run.py", *(argv or sys.argv[1:])]),
            "embedding_batch_size": service_batch_size(),
            "final_learnings": 0,
        }
    }
    workdir = Path(tempfile.mkdtemp(prefix="memory-bench-"))
    t0 = time.perf_counter()
    failed: BaseException | None = None
    try:
        asyncio.run(suite(args, workdir, results))
    except (Exception, KeyboardInterrupt) as exc:
        failed = exc
        results["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        results["meta"]["total_s"] = time.perf_counter() - t0
        args.out.mkdir(parents=True, exist_ok=True)
        out = args.out / f"{started:%Y%m%dT%H%M%SZ}.json"
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        if args.keep:
            print(f"data folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if failed is not None:
        print(f"benchmark failed: {results['error']} (partial results: {out})", file=sys.stderr)
        raise failed
    print()
    print(render(results))
    print(f"results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
