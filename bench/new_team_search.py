"""A new team's searches in a table whose statistics do not know it yet (docs/scaling.md, "The
search statement"): the search statement as it is, whose inner joins carry the team from its
legs (`carried`), against the same statement with every join on the team as a constant
(`constant`, what a distributed planner needs to route it to one shard).

    python bench/new_team_search.py [--big 30000] [--small 268] [--runs 5]

Starts an embedded PostgreSQL in a temporary folder, writes `--big` learnings of team `big`
(random vectors, 30 projects), runs ANALYZE, then writes `--small` learnings of team `small`
(2 projects), and times the search statement (EXPLAIN ANALYZE execution time, the median of
`--runs`) for both teams, hybrid / vector / text, with and without a project filter, in both
variants. No model: a fixed random query vector."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import psycopg
from sqlalchemy import event

from memory_service import migrate, vectors
from memory_service.auth.service import Principal
from memory_service.db import create_engine, libpq_url, session_factory
from memory_service.recall import sql, statement
from memory_service.recall.ranking import Ranking
from memory_service.recall.search import Query
from memory_service.recall.search import search as run_search
from memory_service.tenancy import APP_ROLE, scope_to_team

# The carried columns the `constant` variant replaces with the team.
CONSTANT = {
    "SEARCH": [
        (
            "l.team_id = picked.team_id AND l.id = picked.id",
            "l.team_id = :team AND l.id = picked.id",
        ),
        ("l.team_id = t.team_id AND l.id = t.id", "l.team_id = :team AND l.id = t.id"),
        ("d.team_id = t.team_id AND (d.id", "d.team_id = :team AND (d.id"),
    ],
    "CANONICAL_CLUSTERS": [
        ("l.team_id = r.team_id AND l.id = r.cluster", "l.team_id = :team AND l.id = r.cluster"),
        ("d.team_id = l.team_id AND d.canonical_id", "d.team_id = :team AND d.canonical_id"),
    ],
    "SCOPED_CLUSTERS": [
        ("WHERE d.team_id = r.team_id", "WHERE d.team_id = :team"),
        ("l.team_id = r.team_id AND l.id = seen.shown", "l.team_id = :team AND l.id = seen.shown"),
    ],
}
ORIGINAL = {name: getattr(sql, name) for name in CONSTANT}


def use(variant: str) -> None:
    for name, replacements in CONSTANT.items():
        text = ORIGINAL[name]
        if variant == "constant":
            for old, new in replacements:
                assert old in text, (name, old)
                text = text.replace(old, new)
        setattr(sql, name, text)
    for value in vars(statement).values():
        if hasattr(value, "cache_clear"):
            value.cache_clear()


def load(url: str, big: int, small: int) -> None:
    def team(name: str, projects: int, per_project: int) -> None:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(
                """
                WITH t AS (INSERT INTO teams (id, name) VALUES (gen_random_uuid(), %(team)s)
                           RETURNING id),
                p AS (INSERT INTO projects (team_id, id, slug)
                      SELECT t.id, gen_random_uuid(), 'github.com/bulk/p' || g
                        FROM t, generate_series(1, %(projects)s) g RETURNING team_id, id),
                h AS (INSERT INTO handoffs (team_id, id, project_id, recipient, body, sentinel,
                                            content_hash, created_at)
                      SELECT team_id, gen_random_uuid(), id, 'w', 'b', 's', 'h', now() FROM p
                      RETURNING team_id, id, project_id)
                INSERT INTO learnings (team_id, id, handoff_id, project_id, kind, text, position,
                                       content_hash, embedding, embedding_model, created_at)
                SELECT h.team_id, gen_random_uuid(), h.id, h.project_id, 'decision',
                       'bulk ' || g, g, md5(g::text),
                       (SELECT array_agg(random() - 0.5) FROM generate_series(1, 384) d
                         WHERE g > -d)::vector,
                       'all-MiniLM-L6-v2', now()
                  FROM h, generate_series(1, %(per)s) g
                """,
                {"team": name, "projects": projects, "per": per_project},
            )

    team("big", 30, max(1, big // 30))
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    team("small", 2, max(1, small // 2))  # after ANALYZE: unknown to the planner


async def statement_ms(url: str, team: str, mode: str, project: str | None, runs: int) -> float:
    engine = create_engine(url, pool_size=1, max_overflow=0, role=APP_ROLE)
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT id FROM teams WHERE name = %s", (team,)).fetchone()
    assert row is not None
    principal = Principal(row[0], row[0], "bench", frozenset({"read"}), None)
    vector = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, text: str, params: Any, *_: Any) -> None:
        sent.append((text, params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with session_factory(engine)() as session:
            scope_to_team(session, principal.team_id)
            async with session.begin():
                await run_search(
                    session,
                    None,  # type: ignore[arg-type]  # the query vector is given
                    principal,
                    Query(text="bulk 7", k=10, project=project, mode=mode),
                    Ranking(query_gate=-1, min_similarity=-1, relative_floor=0),
                    query_vector=vector,
                )
    finally:
        await engine.dispose()
    times = []
    with psycopg.connect(libpq_url(url), options=f"-c role={APP_ROLE}") as conn:
        vectors.register(conn)
        with conn.transaction():
            for text, params in sent:
                if "set_config" in text:
                    conn.execute(text, params)
            search = next(t for t in sent if t[0].lstrip().startswith("WITH tq0"))
            for _ in range(runs):
                row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + search[0], search[1])
                plan = row.fetchone()[0][0]  # type: ignore[index]
                times.append(plan["Execution Time"])
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", type=int, default=30000)
    parser.add_argument("--small", type=int, default=268)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    import pgserver

    folder = Path(tempfile.mkdtemp(prefix="new-team-search-"))
    server = pgserver.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        url = server.get_uri("bench")
        migrate.upgrade(url)
        load(url, args.big, args.small)
        print("| team | mode | project filter | carried (ms) | constant (ms) |")
        print("|---|---|---|---:|---:|")
        for team in ("small", "big"):
            for mode in ("hybrid", "vector", "text"):
                for project in (None, "github.com/bulk/p1"):
                    ms = {}
                    for variant in ("carried", "constant"):
                        use(variant)
                        ms[variant] = asyncio.run(statement_ms(url, team, mode, project, args.runs))
                    print(
                        f"| {team} | {mode} | {'yes' if project else 'no'} | "
                        f"{ms['carried']:.1f} | {ms['constant']:.1f} |",
                        flush=True,
                    )
        use("carried")
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
