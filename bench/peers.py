"""Peers on the same data, machine, embedder and run: mem0 (open-source library, `infer=False`,
its pgvector store on the benchmark's embedded PostgreSQL) and Chroma (PersistentClient, our
embeddings), plus an exact-cosine numpy baseline, scored on an evaluation dataset with the
metric functions of `memory_service.evaluation`; the service itself through `run_eval` over
HTTP against the benchmark's server, in a team of its own.

Units are bullet-level learnings, as the service stores them: each dataset handoff is parsed
with the service's parser and every learning becomes one peer record with its project and kind
as metadata, so the peers can apply the same project and kind filters as the queries. The
peers embed the bullet text as written (that is all mem0 can embed); the service embeds its
own `embedding_text`.

Peers are benchmark-only dependencies (the `bench` extra). A peer that cannot be imported or
fails is reported with the reason instead of stopping the run.
"""

from __future__ import annotations

import os
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from bench.embedder import RawEmbedder
from bench.load import summary
from bench.server import free_port
from memory_service.db import libpq_url
from memory_service.evaluation import (
    Dataset,
    DatasetQuery,
    QueryScore,
    load_dataset,
    mean_metrics,
    run_eval,
    score_query,
)

K = 10
MEM0_DATABASE = "mem0_bench"


@dataclass(frozen=True)
class Unit:
    id: str
    text: str
    project: str
    kind: str


def dataset_units(dataset: Dataset) -> list[Unit]:
    from memory_service.handoffs.parsing import parse_handoff

    units: list[Unit] = []
    for handoff in dataset.handoffs:
        for item in parse_handoff(handoff.body).learnings:
            units.append(Unit(str(uuid.uuid4()), item.text, handoff.project, item.kind))
    return units


def _scores(
    queries: Sequence[DatasetQuery], search: Callable[[DatasetQuery], list[str]]
) -> tuple[dict[str, Any], list[float]]:
    """Runs every query once (after one unmeasured warm-up) and scores it."""
    search(queries[0])
    scores: list[QueryScore] = []
    latencies: list[float] = []
    for query in queries:
        started = time.perf_counter()
        texts = search(query)
        latencies.append(time.perf_counter() - started)
        scores.append(score_query(texts, query.relevant))
    return mean_metrics(scores), latencies


def _result(
    name: str, units: int, ingest_s: float, metrics: dict[str, Any], latencies: list[float]
) -> dict[str, Any]:
    return {
        "system": name,
        "units": units,
        "ingest_s": ingest_s,
        "ingest_units_per_s": units / ingest_s if ingest_s else 0.0,
        "metrics": metrics,
        "search_latency": summary(latencies),
    }


# --------------------------------------------------------------------------------------------
# Exact cosine (numpy) and Chroma: our embeddings
# --------------------------------------------------------------------------------------------


def run_exact(units: Sequence[Unit], dataset: Dataset, embedder: RawEmbedder) -> dict[str, Any]:
    started = time.perf_counter()
    matrix = embedder.encode([u.text for u in units])
    ingest_s = time.perf_counter() - started

    def search(query: DatasetQuery) -> list[str]:
        vector = embedder.encode([query.query])[0]
        mask = np.array(
            [
                (query.project is None or u.project == query.project)
                and (query.kinds is None or u.kind in query.kinds)
                for u in units
            ]
        )
        sims = np.where(mask, matrix @ vector, -np.inf)
        top = np.argsort(-sims)[:K]
        return [units[i].text for i in top if np.isfinite(sims[i])]

    metrics, latencies = _scores(dataset.queries, search)
    return _result("exact cosine (numpy)", len(units), ingest_s, metrics, latencies)


def run_chroma(
    units: Sequence[Unit], dataset: Dataset, embedder: RawEmbedder, workdir: Path
) -> dict[str, Any]:
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma = chromadb.PersistentClient(
        path=str(workdir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    # embedding_function=None: Chroma's default one would download ONNX weights.
    collection = chroma.create_collection(
        "bench", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )
    started = time.perf_counter()
    vectors = embedder.encode([u.text for u in units])
    collection.add(
        ids=[u.id for u in units],
        embeddings=vectors,
        documents=[u.text for u in units],
        metadatas=[{"project": u.project, "kind": u.kind} for u in units],
    )
    ingest_s = time.perf_counter() - started

    def search(query: DatasetQuery) -> list[str]:
        clauses: list[dict[str, Any]] = []
        if query.project is not None:
            clauses.append({"project": query.project})
        if query.kinds is not None:
            clauses.append({"kind": {"$in": list(query.kinds)}})
        where: dict[str, Any] | None = None
        if len(clauses) == 1:
            where = clauses[0]
        elif clauses:
            where = {"$and": clauses}
        found = collection.query(
            query_embeddings=embedder.encode([query.query]),
            n_results=K,
            where=where,
            include=["documents"],
        )
        documents = found["documents"] or [[]]
        return [str(d) for d in documents[0]]

    metrics, latencies = _scores(dataset.queries, search)
    return _result("Chroma (PersistentClient)", len(units), ingest_s, metrics, latencies)


# --------------------------------------------------------------------------------------------
# mem0: its own embedder (the same local MiniLM) and its pgvector store on our PostgreSQL
# --------------------------------------------------------------------------------------------


def _mem0_config(connection_string: str, workdir: Path) -> dict[str, Any]:
    from memory_service.config import DEFAULT_EMBEDDING_MODEL
    from memory_service.embeddings import resolve_model

    return {
        "vector_store": {
            "provider": "pgvector",
            "config": {
                "connection_string": connection_string,
                "collection_name": "bench",
                "embedding_model_dims": 384,
                "hnsw": True,
            },
        },
        "embedder": {
            "provider": "huggingface",
            # A str: mem0 rejects a Path. The bundled model's local folder, so nothing is
            # fetched from a hub.
            "config": {
                "model": resolve_model(DEFAULT_EMBEDDING_MODEL),
                "embedding_dims": 384,
                "model_kwargs": {"device": "cpu"},
            },
        },
        # mem0 builds an LLM client even with infer=False; it is never called. A closed local
        # port makes sure that if it ever were, nothing would leave the machine.
        "llm": {
            "provider": "openai",
            "config": {
                "api_key": "unused",
                "openai_base_url": f"http://127.0.0.1:{free_port()}/v1",
            },
        },
        "history_db_path": str(workdir / "mem0-history.db"),
    }


def run_mem0(
    units: Sequence[Unit], dataset: Dataset, admin_uri: str, mem0_uri: str, workdir: Path
) -> dict[str, Any]:
    # Before the import: mem0 reads these at import time (telemetry, its folder under $HOME).
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["MEM0_DIR"] = str(workdir / "mem0")
    from mem0 import Memory  # type: ignore[import-untyped,unused-ignore]

    with psycopg.connect(libpq_url(admin_uri), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{MEM0_DATABASE}"')
        conn.execute(f'CREATE DATABASE "{MEM0_DATABASE}"')
    memory = Memory.from_config(_mem0_config(mem0_uri, workdir))
    # mem0's search refuses filters without user_id/agent_id/run_id: one user, the project
    # and kind as metadata.
    user = "bench"
    started = time.perf_counter()
    for unit in units:
        memory.add(
            unit.text,
            user_id=user,
            metadata={"project": unit.project, "kind": unit.kind},
            infer=False,
        )
    ingest_s = time.perf_counter() - started

    def search(query: DatasetQuery) -> list[str]:
        filters: dict[str, Any] = {"user_id": user}
        if query.project is not None:
            filters["project"] = query.project
        if query.kinds is not None:
            filters["kind"] = {"in": list(query.kinds)}
        found = memory.search(query.query, top_k=K, filters=filters)
        return [str(r["memory"]) for r in found["results"]]

    metrics, latencies = _scores(dataset.queries, search)
    pool = getattr(memory.vector_store, "connection_pool", None)
    if pool is not None:
        pool.close()
    return _result("mem0 (infer=False, pgvector)", len(units), ingest_s, metrics, latencies)


# --------------------------------------------------------------------------------------------
# The service, through the evaluator, over HTTP
# --------------------------------------------------------------------------------------------


async def eval_key(database_uri: str, team: str = "bench-eval") -> str:
    """A read/write key of a team of its own, so the evaluation neither sees the benchmark's
    synthetic corpus nor is seen by it."""
    from memory_service.auth.service import create_key, get_or_create_team
    from memory_service.db import create_engine, session_factory

    engine = create_engine(database_uri, pool_size=1, max_overflow=0)
    try:
        async with session_factory(engine)() as session, session.begin():
            row = await get_or_create_team(session, team)
            created = await create_key(session, row, "read,write", name="bench-eval")
    finally:
        await engine.dispose()
    return created.plaintext


async def run_ours(dataset_path: Path, base_url: str, database_uri: str) -> dict[str, Any]:
    key = await eval_key(database_uri)
    report = await run_eval(dataset_path, url=base_url, api_key=key)
    load = report["load"]
    out: dict[str, Any] = {
        "system": "memory-service (HTTP)",
        "units": load["learnings"],
        "ingest_s": load["seconds"],
        "ingest_units_per_s": load["learnings"] / load["seconds"] if load["seconds"] else 0.0,
        "modes": {},
    }
    for mode, data in report["modes"].items():
        out["modes"][mode] = {
            "metrics": data["overall"],
            "by_type": data["by_type"],
            "search_latency": data["latency"],
        }
    return out


def _guarded(name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except Exception as exc:
        print(f"bench: peer {name} failed: {exc}", flush=True)
        return {
            "system": name,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=6),
        }


async def run_peers(
    dataset_path: Path,
    *,
    base_url: str,
    database_uri: str,
    admin_uri: str,
    mem0_uri: str,
    embedder: RawEmbedder,
    workdir: Path,
) -> dict[str, Any]:
    dataset = load_dataset(dataset_path)
    units = dataset_units(dataset)
    print(f"peers: {len(units)} units, {len(dataset.queries)} queries", flush=True)
    results: dict[str, Any] = {"dataset": str(dataset_path), "units": len(units)}
    print("peers: memory-service via run_eval", flush=True)
    try:
        results["ours"] = await run_ours(dataset_path, base_url, database_uri)
    except Exception as exc:
        results["ours"] = {"error": f"{type(exc).__name__}: {exc}"}
    print("peers: exact cosine", flush=True)
    results["exact"] = _guarded("exact", lambda: run_exact(units, dataset, embedder))
    print("peers: Chroma", flush=True)
    results["chroma"] = _guarded("chroma", lambda: run_chroma(units, dataset, embedder, workdir))
    print("peers: mem0", flush=True)
    results["mem0"] = _guarded(
        "mem0", lambda: run_mem0(units, dataset, admin_uri, mem0_uri, workdir)
    )
    return results
