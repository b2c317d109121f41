"""Where a search's time goes: runs the service's own `search()` against a database, captures
every SQL statement it sends, and replays them under EXPLAIN ANALYZE in one transaction.

    python bench/explain_search.py URI [--mode hybrid] [--project SLUG] [--query TEXT]

URI: a database holding the service's schema and data (for the benchmark's embedded server,
run bench/run.py with --keep and take `pgserver`'s URI of <data>/pgdata, database `memory`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import event

from memory_service import vectors
from memory_service.auth.service import Principal
from memory_service.db import create_engine, libpq_url, session_factory
from memory_service.embeddings import Embedder
from memory_service.recall import search as search_module
from memory_service.tenancy import APP_ROLE, scope_to_team


def reader(uri: str, team: str) -> Principal:
    """A read-only principal of the team named `team` in the database at `uri`."""
    with psycopg.connect(libpq_url(uri)) as conn:
        row = conn.execute("SELECT id FROM teams WHERE name = %s", (team,)).fetchone()
    assert row is not None, f"no team `{team}` in this database"
    return Principal(row[0], uuid.uuid4(), "bench", frozenset({"read"}), None)


async def capture(
    uri: str, query: search_module.Query, embedder: Embedder, team: str = "default"
) -> tuple[list[tuple[str, Any]], float]:
    """The statements one `search()` sends (after one unmeasured warm-up call), and its time."""
    # As the service connects: acting as the application role, so row-level security applies
    # (a superuser would bypass it, and with it the planner's limits on which quals may use an
    # index).
    engine = create_engine(uri, pool_size=1, max_overflow=0, role=APP_ROLE)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    try:
        principal = reader(uri, team)
        sessions = session_factory(engine)
        async with sessions() as session:
            scope_to_team(session, principal.team_id)  # as the request's auth dependency does
            async with session.begin():
                await search_module.search(session, embedder, principal, query)
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        async with sessions() as session:
            scope_to_team(session, principal.team_id)
            async with session.begin():
                started = time.perf_counter()
                await search_module.search(session, embedder, principal, query)
                elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return statements, elapsed


def replay(uri: str, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    with psycopg.connect(libpq_url(uri), options=f"-c role={APP_ROLE}") as conn:
        vectors.register(conn)  # the captured query vectors are numpy arrays, sent binary
        with conn.transaction():
            return [item for s, p in statements if (item := _explain(conn, s, p)) is not None]


def _explain(conn: psycopg.Connection[Any], statement: str, parameters: Any) -> Any:
    first = statement.lstrip().split(None, 1)[0].upper()
    if first in ("SET", "BEGIN", "COMMIT"):
        conn.execute(statement, parameters or None)
        return None
    rows = conn.execute(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters or None
    ).fetchone()
    assert rows is not None
    plan = rows[0][0] if isinstance(rows[0], list) else json.loads(rows[0])[0]
    return {
        "statement": " ".join(statement.split())[:160],
        "execution_ms": plan["Execution Time"],
        "planning_ms": plan["Planning Time"],
        "plan": plan["Plan"],
    }


def walk(node: dict[str, Any], depth: int = 0) -> list[str]:
    label = node["Node Type"]
    for key in ("Index Name", "Relation Name"):
        if key in node:
            label += f" {node[key]}"
            break
    lines = [
        f"{'  ' * depth}{label}: {node.get('Actual Total Time', 0):.1f} ms, "
        f"rows {node.get('Actual Rows', 0)} x{node.get('Actual Loops', 1)}"
    ]
    for child in node.get("Plans", []):
        lines += walk(child, depth + 1)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri")
    parser.add_argument("--mode", default="hybrid", choices=("hybrid", "vector", "text"))
    parser.add_argument("--project")
    parser.add_argument("--team", default="default", help="the team whose key searches")
    parser.add_argument("--query", default="what went wrong with the cache in the sync engine?")
    parser.add_argument("--depth", type=int, default=4, help="plan levels to print")
    args = parser.parse_args(argv)
    embedder = Embedder().load()
    query = search_module.Query(text=args.query, k=10, project=args.project, mode=args.mode)
    statements, elapsed = asyncio.run(capture(args.uri, query, embedder, args.team))
    print(f"search(): {elapsed * 1000:.1f} ms in {len(statements)} statements")
    for item in replay(args.uri, statements):
        print(
            f"\n{item['execution_ms']:8.1f} ms (planning {item['planning_ms']:.1f} ms)  "
            f"{item['statement']}"
        )
        for line in walk(item["plan"]):
            if line.startswith("  " * args.depth):
                continue
            print(f"          {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
