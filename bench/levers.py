"""Levers measured on a database the benchmark kept (`bench/run.py --keep`), each against the
service's current choice in the same run:

    python bench/levers.py halfvec DATA_DIR [--queries 100]
    python bench/levers.py pool DATA_DIR [--pool-sizes 2,5,10,20] [--requests 200]
    python bench/levers.py processes DATA_DIR [--processes 1,2] [--requests 200]
    python bench/levers.py ef DATA_DIR [--ef 40,64,100,150,200] [--queries 100]
    python bench/levers.py cost DATA_DIR [--what search|ingest] [--clients 4] [--requests 300]
                                         [--variant K=V,K2=V2 ...]

DATA_DIR is the `data` folder the run kept (it holds `pgdata/` and `admin_key`); both
subcommands start its embedded PostgreSQL themselves, so no server may be running on it.

- halfvec: the learnings' vectors as `halfvec` (2-byte floats) next to the stored `vector`
  column: HNSW build time and size of both (same m / ef_construction, same memory), recall@10
  of each against the exact float32 top 10 (counted by distance, as bench/recall.py does) and
  milliseconds per query under the service's settings. Adds a column and two indexes to that
  database (it is a scratch copy) and drops them at the end.
- ef: `hnsw.ef_search` (the HNSW beam; the service's setting is HNSW_EF_SEARCH): per value,
  milliseconds per query of the search's vector leg (`LIMIT 50`, its candidate count) and how
  much of the exact top 10 it holds, without a filter and with `kind = mistake` (a quarter
  of the rows, searched through HNSW), plus recall@10 of a plain `LIMIT 10`.
- pool: the server restarted with each pool size (no overflow), hybrid searches without a
  filter from 4 and 16 concurrent clients over HTTP.
- processes: 1 or more server processes on the one database (the stateless design allows
  it; on 2 cores a second process lets the Python side of two requests run at once), the
  same searches spread over them.
- cost: CPU time per hybrid search (no filter; or per learning stored, `--what ingest`:
  `--requests` new handoffs) from N concurrent clients, split into the
  server's event-loop thread (HTTP, validation, SQLAlchemy), its other threads (the embedding
  model) and PostgreSQL. On 2 cores the latency of concurrent clients follows the CPU each
  request costs, and CPU seconds are far less noisy than latencies on a shared machine, so
  this is how a change to the search path is judged. Each `--variant` is one server started
  with those environment settings, measured in turn in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver
import psutil  # type: ignore[import-untyped,unused-ignore]
import psycopg

from bench import load
from bench.corpus import Corpus, make_queries
from bench.recall import _recall_by_distance, service_hnsw_settings, vec
from bench.run import search_bodies
from bench.server import ServerProcess, postmaster_pid
from memory_service.embeddings import Embedder
from memory_service.recall.ranking import HNSW_EF_SEARCH
from memory_service.vectors import hnsw_order

K = 10
HNSW_WITH = "(m = 16, ef_construction = 64)"  # as migration 0001 builds the service's index


def _timed(conn: psycopg.Connection[Any], sql: str) -> float:
    started = time.perf_counter()
    conn.execute(sql)
    return time.perf_counter() - started


def halfvec(data_dir: Path, queries: int, seed: int) -> dict[str, Any]:
    texts = [t for t, _ in make_queries(random.Random(seed), Corpus(seed=seed), queries)]
    embedder = Embedder(cache_dir=data_dir.parent / "raw-models").load()
    vectors = embedder.encode(texts)
    server = pgserver.get_server(str(data_dir / "pgdata"), cleanup_mode=None)
    out: dict[str, Any] = {"queries": queries, "settings": service_hnsw_settings()}
    try:
        with psycopg.connect(server.get_uri("memory"), autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '1GB'")
            out["rows"] = conn.execute("SELECT count(*) FROM learnings").fetchone()[0]  # type: ignore[index]
            conn.execute("ALTER TABLE learnings ADD COLUMN IF NOT EXISTS lever_half halfvec(384)")
            conn.execute("ALTER TABLE learnings ALTER COLUMN lever_half SET STORAGE PLAIN")
            conn.execute("UPDATE learnings SET lever_half = embedding::halfvec(384)")
            conn.execute("VACUUM ANALYZE learnings")
            builds = {
                "vector": _timed(
                    conn,
                    "CREATE INDEX lever_vec ON learnings USING hnsw "
                    f"(embedding vector_cosine_ops) WITH {HNSW_WITH}",
                ),
                "halfvec": _timed(
                    conn,
                    "CREATE INDEX lever_half_idx ON learnings USING hnsw "
                    f"(lever_half halfvec_cosine_ops) WITH {HNSW_WITH}",
                ),
            }
            sizes = conn.execute(
                "SELECT pg_relation_size('lever_vec'), pg_relation_size('lever_half_idx'), "
                "avg(pg_column_size(embedding)), avg(pg_column_size(lever_half)) FROM learnings"
            ).fetchone()
            assert sizes is not None
            for name, value in service_hnsw_settings().items():
                conn.execute(f"SET {name} = '{value}'")
            exact_sql = (
                "SELECT embedding <=> %(q)s::vector FROM learnings "
                "ORDER BY (embedding <=> %(q)s::vector) + 0 LIMIT 10"
            )
            ann_sql = {
                "vector": "SELECT embedding <=> %(q)s::vector FROM learnings "
                "ORDER BY embedding <=> %(q)s::vector LIMIT 10",
                # The distance counted is the float32 one, so both columns score alike.
                "halfvec": "SELECT embedding <=> %(q)s::vector FROM learnings "
                "ORDER BY lever_half <=> %(q)s::halfvec(384) LIMIT 10",
            }
            for sql in ann_sql.values():
                plan = "\n".join(
                    str(r[0])
                    for r in conn.execute("EXPLAIN " + sql, {"q": vec(vectors[0])}).fetchall()
                )
                assert "lever_" in plan or "hnsw" in plan, plan
            results: dict[str, Any] = {}
            exact = [
                [float(r[0]) for r in conn.execute(exact_sql, {"q": vec(v)}).fetchall()]
                for v in vectors
            ]
            for kind, sql in ann_sql.items():
                for v in vectors[:5]:  # warm the index's pages
                    conn.execute(sql, {"q": vec(v)}).fetchall()
                recalls, times = [], []
                for v, want in zip(vectors, exact, strict=True):
                    started = time.perf_counter()
                    found = [float(r[0]) for r in conn.execute(sql, {"q": vec(v)}).fetchall()]
                    times.append(time.perf_counter() - started)
                    recalls.append(_recall_by_distance(found, want))
                results[kind] = {
                    "recall_at_10": statistics.fmean(recalls),
                    "worst": min(recalls),
                    "ms_per_query_p50": statistics.median(times) * 1000,
                    "build_s": builds[kind],
                }
            results["vector"]["index_mib"] = sizes[0] / 2**20
            results["halfvec"]["index_mib"] = sizes[1] / 2**20
            results["vector"]["bytes_per_value"] = float(sizes[2])
            results["halfvec"]["bytes_per_value"] = float(sizes[3])
            out["results"] = results
            conn.execute("DROP INDEX lever_vec")
            conn.execute("DROP INDEX lever_half_idx")
            conn.execute("ALTER TABLE learnings DROP COLUMN lever_half")
    finally:
        server.cleanup()
    return out


def ef_sweep(data_dir: Path, values: list[int], queries: int, seed: int) -> dict[str, Any]:
    texts = [t for t, _ in make_queries(random.Random(seed), Corpus(seed=seed), queries)]
    embedder = Embedder(cache_dir=data_dir.parent / "raw-models").load()
    vectors = embedder.encode(texts)
    server = pgserver.get_server(str(data_dir / "pgdata"), cleanup_mode=None)
    distance = "embedding <=> %(q)s::vector"
    order = hnsw_order("embedding", "%(q)s::vector")
    cases = {"no filter": "", "kind = mistake": "WHERE kind = 'mistake'"}
    out: dict[str, Any] = {"queries": queries, "cells": {}}
    with psycopg.connect(server.get_uri("memory"), autocommit=True) as conn:
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        for case, where in cases.items():
            exact_sql = (
                f"SELECT {distance} FROM learnings {where} ORDER BY ({distance}) + 0 LIMIT 10"
            )
            truths = [
                [r[0] for r in conn.execute(exact_sql, {"q": vec(v)}).fetchall()] for v in vectors
            ]
            for ef in values:
                conn.execute(f"SET hnsw.ef_search = {int(ef)}")
                in_leg: list[float] = []
                top10: list[float] = []
                seconds: list[float] = []
                for v, truth in zip(vectors, truths, strict=True):
                    started = time.perf_counter()
                    leg = conn.execute(
                        f"SELECT {distance} FROM learnings {where} ORDER BY {order} LIMIT 50",
                        {"q": vec(v)},
                    ).fetchall()
                    seconds.append(time.perf_counter() - started)
                    in_leg.append(_recall_by_distance([r[0] for r in leg], truth))
                    ten = conn.execute(
                        f"SELECT {distance} FROM learnings {where} ORDER BY {order} LIMIT 10",
                        {"q": vec(v)},
                    ).fetchall()
                    top10.append(_recall_by_distance([r[0] for r in ten], truth))
                cell = {
                    "exact_top10_in_leg_of_50": statistics.fmean(in_leg),
                    "worst_in_leg": min(in_leg),
                    "recall_at_10": statistics.fmean(top10),
                    "leg_ms_p50": 1000 * statistics.median(seconds),
                    "leg_ms_mean": 1000 * statistics.fmean(seconds),
                }
                out["cells"][f"{case}, ef_search {ef}"] = cell
                print(
                    f"{case:15} ef_search {ef:>3}: exact top 10 in the leg of 50 "
                    f"{cell['exact_top10_in_leg_of_50']:.3f} (worst {cell['worst_in_leg']:.1f}), "
                    f"recall@10 {cell['recall_at_10']:.3f}, leg {cell['leg_ms_p50']:.2f} ms p50"
                )
    return out


CLIENTS = (4, 16)


def _search_bodies(seed: int, cells: int, requests: int) -> list[list[dict[str, Any]]]:
    """Distinct hybrid, unfiltered search bodies for `cells` latency cells (no query string
    is sent twice, so no cache answers from an earlier cell)."""
    per_cell = requests + load.WARMUP_REQUESTS
    queries = make_queries(random.Random(seed), Corpus(seed=seed), per_cell * cells)
    return [
        search_bodies(queries[i * per_cell : (i + 1) * per_cell], "hybrid", "none")
        for i in range(cells)
    ]


async def _spread_cell(https: list[Any], bodies: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """A few unmeasured warm-up searches, then `n` concurrent callers, caller i on server
    i mod len(https), until `bodies` run out."""
    for i, body in enumerate(bodies[: load.WARMUP_REQUESTS]):
        await https[i % len(https)].post("/v1/search", json=body)
    todo = list(bodies[load.WARMUP_REQUESTS :])
    latencies: list[float] = []
    errors = 0

    async def caller(http: Any) -> None:
        nonlocal errors
        while todo:
            body = todo.pop()
            started = time.perf_counter()
            response = await http.post("/v1/search", json=body)
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(caller(https[i % len(https)]) for i in range(n)))
    seconds = time.perf_counter() - t0
    return {**load.summary(latencies), "req_per_s": len(latencies) / seconds, "errors": errors}


async def _measure(
    servers: list[ServerProcess],
    label: str,
    bodies: list[list[dict[str, Any]]],
    out: dict[str, Any],
) -> None:
    """One cell per client count, the clients spread over `servers`."""
    key = servers[0].admin_key()
    https = [load.client(s.base_url, key, max(CLIENTS)) for s in servers]
    try:
        for n in CLIENTS:
            cell = await _spread_cell(https, bodies.pop(), n)
            out["cells"][f"{label}/{n}"] = cell
            print(f"{label}, {n:>2} clients: {cell}")
    finally:
        for http in https:
            await http.aclose()


async def pool(data_dir: Path, sizes: list[int], requests: int, seed: int) -> dict[str, Any]:
    bodies = _search_bodies(seed, len(CLIENTS) * len(sizes), requests)
    out: dict[str, Any] = {"requests": requests, "cells": {}}
    for size in sizes:
        server = ServerProcess(
            data_dir,
            log_path=data_dir.parent / "levers-server.log",
            env={"MEMORY_DB_POOL_SIZE": str(size), "MEMORY_DB_MAX_OVERFLOW": "0"},
        )
        server.start()
        try:
            await _measure([server], f"pool {size}", bodies, out)
        finally:
            server.stop()
    return out


async def processes(data_dir: Path, counts: list[int], requests: int, seed: int) -> dict[str, Any]:
    """N server processes on the one database (the first runs the embedded PostgreSQL, the
    others connect to it), concurrent clients spread over them round-robin."""
    bodies = _search_bodies(seed, len(CLIENTS) * len(counts), requests)
    out: dict[str, Any] = {"requests": requests, "cells": {}}
    for count in counts:
        first = ServerProcess(data_dir, log_path=data_dir.parent / "levers-server.log")
        first.start()
        servers = [first]
        try:
            for i in range(1, count):
                extra = ServerProcess(
                    data_dir.parent / f"levers-replica-{i}",
                    log_path=data_dir.parent / "levers-server.log",
                    env={
                        "MEMORY_DATABASE_URL": first.database_uri(),
                        "MEMORY_BOOTSTRAP_ADMIN_KEY": "false",
                    },
                )
                servers.append(extra)
                extra.start()
            await _measure(servers, f"{count} process(es)", bodies, out)
        finally:
            for server in reversed(servers):
                server.stop()
    return out


def _cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds of the server: its main (event-loop) thread and all its other threads."""
    proc = psutil.Process(pid)
    main = other = 0.0
    for thread in proc.threads():
        if thread.id == pid:
            main += thread.user_time + thread.system_time
        else:
            other += thread.user_time + thread.system_time
    return {"main": main, "threads": other}


def _postgres_cpu(pgdata: Path) -> float:
    root = postmaster_pid(pgdata)
    if root is None:
        return 0.0
    total = 0.0
    for proc in [psutil.Process(root), *psutil.Process(root).children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


async def cost(
    data_dir: Path,
    variants: list[dict[str, str]],
    clients: int,
    requests: int,
    seed: int,
    what: str = "search",
) -> dict[str, Any]:
    """Per variant of the server's environment: one server, warm-up, then `requests` hybrid
    searches (or handoff writes: `what="ingest"`, new synthetic handoffs of a seed of their
    own) from `clients` callers; CPU milliseconds per request (per learning for ingest) where
    they were spent."""
    per_cell = requests + load.WARMUP_REQUESTS
    if what == "search":
        queries = make_queries(random.Random(seed), Corpus(seed=seed), per_cell * len(variants))
    else:
        stream = Corpus(seed=seed + 1000).handoffs()
        # A few unmeasured writes first: the model's first call on each new input shape is
        # several times slower than the rest.
        warm = 30
        writes = [next(stream) for _ in range((requests + warm) * len(variants))]
    out: dict[str, Any] = {"what": what, "clients": clients, "requests": requests}
    out["variants"] = []
    for i, env in enumerate(variants):
        server = ServerProcess(data_dir, log_path=data_dir.parent / "levers-server.log", env=env)
        server.start()
        http = load.client(server.base_url, server.admin_key(), clients)
        try:
            if what == "search":
                bodies = search_bodies(queries[i * per_cell : (i + 1) * per_cell], "hybrid", "none")
                for body in bodies[: load.WARMUP_REQUESTS]:
                    await http.post("/v1/search", json=body)
            else:
                lo = i * (requests + warm)
                await load.ingest(
                    server.base_url,
                    server.admin_key(),
                    writes[lo : lo + warm],
                    clients=clients,
                    progress_every=10**9,
                )
            before = {
                **_cpu_by_thread(server.pid),
                "postgres": _postgres_cpu(server.pgdata),
                "client": time.process_time(),
            }
            if what == "search":
                cell = await _spread_cell([http], bodies, clients)
                units = requests - cell["errors"]
            else:
                stored = await load.ingest(
                    server.base_url,
                    server.admin_key(),
                    writes[lo + warm : lo + warm + requests],
                    clients=clients,
                    progress_every=10**9,
                )
                units = stored.learnings
                cell = {"learnings": units, "learnings_per_s": units / stored.seconds}
            after = {
                **_cpu_by_thread(server.pid),
                "postgres": _postgres_cpu(server.pgdata),
                "client": time.process_time(),
            }
        finally:
            await http.aclose()
            server.stop()
        ms = {k: 1000 * (after[k] - before[k]) / max(units, 1) for k in before}
        # "total" is the service's (server + PostgreSQL); "client" is this benchmark process,
        # which shares the 2 cores with it.
        service = sum(v for k, v in ms.items() if k != "client")
        row = {"env": env, **cell, "cpu_ms_per_unit": {**ms, "total": service}}
        out["variants"].append(row)
        print(
            f"{env or 'defaults'}: "
            + ", ".join(f"{k} {v:.1f}" for k, v in cell.items() if isinstance(v, float))
            + f"; CPU ms per {'request' if what == 'search' else 'learning'}: "
            + ", ".join(f"{k} {v:.2f}" for k, v in row["cpu_ms_per_unit"].items())
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/levers.py", description=__doc__)
    parser.add_argument("lever", choices=("halfvec", "ef", "pool", "processes", "cost"))
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--pool-sizes", default="2,5,10,20")
    parser.add_argument("--ef", default="40,64,100,150,200", help="ef: hnsw.ef_search values")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--clients", type=int, default=4, help="cost: concurrent callers")
    parser.add_argument("--what", choices=("search", "ingest"), default="search", help="cost")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="cost: server environment of one variant, as K=V,K2=V2 ('' = defaults); repeat",
    )
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    if args.lever == "halfvec":
        result = halfvec(args.data_dir, args.queries, args.seed)
        print(f"halfvec vs vector at {result['rows']:,} rows, ef_search {HNSW_EF_SEARCH}:")
        for kind, r in result["results"].items():
            print(
                f"  {kind:8} recall@10 {r['recall_at_10']:.3f} (worst {r['worst']:.2f}), "
                f"{r['ms_per_query_p50']:.2f} ms/query, build {r['build_s']:.1f} s, "
                f"index {r['index_mib']:.1f} MiB, {r['bytes_per_value']:.0f} bytes/value"
            )
    elif args.lever == "ef":
        values = [int(x) for x in args.ef.split(",")]
        result = ef_sweep(args.data_dir, values, args.queries, args.seed)
    elif args.lever == "pool":
        sizes = [int(x) for x in args.pool_sizes.split(",")]
        result = asyncio.run(pool(args.data_dir, sizes, args.requests, args.seed))
    elif args.lever == "cost":
        variants = [
            dict(kv.split("=", 1) for kv in v.split(",") if kv) for v in args.variant or [""]
        ]
        result = asyncio.run(
            cost(args.data_dir, variants, args.clients, args.requests, args.seed, args.what)
        )
    else:
        counts = [int(x) for x in args.processes.split(",")]
        result = asyncio.run(processes(args.data_dir, counts, args.requests, args.seed))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
