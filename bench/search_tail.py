"""Which searches make the p95, and where their time goes: runs the benchmark's kind of queries
through the service's own `search()` against a database, one at a time, times each (the query's
embedding, each SQL statement), prints the distribution and the slowest queries, and replays
the slowest under EXPLAIN ANALYZE (bench/explain_search.py).

    python bench/search_tail.py URI [--mode hybrid] [--filter none|project] [--queries 200]

URI: a database holding the service's schema and data, e.g. the one `bench/run.py --keep` left
(`pgserver`'s URI of <data>/pgdata, database `memory`; start it with pgserver.get_server).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import event

from bench import explain_search
from bench.corpus import Corpus, make_queries
from memory_service.db import create_engine, libpq_url, session_factory
from memory_service.embeddings import Embedder
from memory_service.recall import search as search_module
from memory_service.recall.stats import SearchStats
from memory_service.tenancy import APP_ROLE, scope_to_team

_IDENTIFIER = re.compile(r"`([^`\s]{3,60})`")


def identifiers(uri: str, sample: int = 2000) -> list[str]:
    """Identifiers written in backticks in a sample of the stored learnings (the benchmark asks
    about one in five of its queries)."""
    with psycopg.connect(libpq_url(uri)) as conn:
        rows = conn.execute("SELECT text FROM learnings LIMIT %s", (sample,)).fetchall()
    return sorted({m for (t,) in rows for m in _IDENTIFIER.findall(t)})


async def timed(
    uri: str, team: str, queries: list[search_module.Query], embedder: Embedder
) -> list[dict[str, Any]]:
    """Each query's wall time in search(), its SQL time and its slowest statement."""
    engine = create_engine(uri, pool_size=1, max_overflow=0, role=APP_ROLE)
    sql: list[tuple[str, float]] = []
    started_at: dict[str, float] = {}

    def before(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        started_at["t"] = time.perf_counter()

    def after(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        sql.append((" ".join(statement.split())[:80], time.perf_counter() - started_at["t"]))

    principal = explain_search.reader(uri, team)
    sessions = session_factory(engine)
    stats = SearchStats()  # the process cache, as the server keeps it
    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    out = []
    try:
        for q in queries:
            sql.clear()
            async with sessions() as session:
                scope_to_team(session, principal.team_id)
                async with session.begin():
                    t0 = time.perf_counter()
                    results = await search_module.search(
                        session, embedder, principal, q, stats=stats
                    )
                    wall = time.perf_counter() - t0
            slowest = max(sql, key=lambda s: s[1]) if sql else ("", 0.0)
            out.append(
                {
                    "query": q,
                    "wall_ms": wall * 1000,
                    "sql_ms": sum(s for _, s in sql) * 1000,
                    "statements": len(sql),
                    "slowest": slowest[0],
                    "slowest_ms": slowest[1] * 1000,
                    "results": len(results),
                }
            )
    finally:
        await engine.dispose()
    return out


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri")
    parser.add_argument("--mode", default="hybrid", choices=("hybrid", "vector", "text"))
    parser.add_argument("--filter", default="none", choices=("none", "project"))
    parser.add_argument("--team", default="default")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--explain", type=int, default=3, help="slowest queries to EXPLAIN")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--depth", type=int, default=6, help="plan levels to print")
    args = parser.parse_args(argv)
    embedder = Embedder().load()
    pairs = make_queries(
        random.Random(args.seed), Corpus(seed=7), args.queries, identifiers(args.uri)
    )
    queries = [
        search_module.Query(
            text=text,
            k=10,
            mode=args.mode,
            project=project if args.filter == "project" else None,
        )
        for text, project in pairs
    ]
    asyncio.run(timed(args.uri, args.team, queries[:5], embedder))  # warm-up
    runs = asyncio.run(timed(args.uri, args.team, queries, embedder))
    walls = [r["wall_ms"] for r in runs]
    sqls = [r["sql_ms"] for r in runs]
    print(
        f"{len(runs)} searches, {args.mode}/{args.filter}: wall p50 {_pct(walls, 50):.1f} "
        f"p95 {_pct(walls, 95):.1f} p99 {_pct(walls, 99):.1f} ms; SQL p50 {_pct(sqls, 50):.1f} "
        f"p95 {_pct(sqls, 95):.1f} ms"
    )
    worst = sorted(runs, key=lambda r: -r["wall_ms"])
    print("\nslowest:")
    for r in worst[:15]:
        print(
            f"  {r['wall_ms']:7.1f} ms (SQL {r['sql_ms']:6.1f}, slowest {r['slowest_ms']:6.1f}: "
            f"{r['slowest'][:40]}) {r['results']:2d} results  {r['query'].text!r}"
        )
    for r in worst[: args.explain]:
        q = r["query"]
        print(f"\n=== EXPLAIN {q.text!r} ({r['wall_ms']:.1f} ms)")
        statements, _ = asyncio.run(explain_search.capture(args.uri, q, embedder, args.team))
        for item in explain_search.replay(args.uri, statements):
            print(
                f"{item['execution_ms']:8.1f} ms (planning {item['planning_ms']:.1f} ms)  "
                f"{item['statement'][:100]}"
            )
            for line in explain_search.walk(item["plan"]):
                if not line.startswith("  " * args.depth):
                    print(f"          {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
