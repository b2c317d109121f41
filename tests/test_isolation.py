"""Row-level security: the request's own session, running raw SQL with no WHERE clause,
sees and writes only its team's rows."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from memory_service.app import StartupRefused, create_app
from memory_service.config import Settings
from memory_service.db import libpq_url
from memory_service.deps import Reader, SessionDep
from memory_service.embeddings import Embedder
from tests.helpers import MakeKey, auth, serve, write_handoff

# The owner-run full-text lookup (migrations 0003, 0012), with no filter but the team it names.
TEXT_CANDIDATES = (
    "memory_text_candidates(CAST(:team AS uuid), plainto_tsquery('english', 'item'), "
    "plainto_tsquery('english', 'item'), 100, NULL, NULL, NULL, NULL)"
)


async def test_raw_sql_in_a_request_sees_only_its_team(
    settings: Settings, embedder: Embedder, make_key: MakeKey
) -> None:
    app = create_app(settings, embedder=embedder)

    @app.post("/test/raw-sql")
    async def raw_sql(session: SessionDep, principal: Reader, other: str) -> dict[str, Any]:
        who = await session.scalar(text("SELECT current_user"))
        teams = (await session.execute(text("SELECT id FROM teams"))).scalars().all()
        handoff_teams = (
            (await session.execute(text("SELECT DISTINCT team_id FROM handoffs"))).scalars().all()
        )
        learnings = await session.scalar(text("SELECT count(DISTINCT team_id) FROM learnings"))
        keys = (await session.execute(text("SELECT team_id FROM api_keys"))).scalars().all()
        # The full-text lookup that runs as the owner (migration 0003) applies the same rule.
        text_hits = (
            (
                await session.execute(
                    text(
                        f"SELECT l.team_id FROM {TEXT_CANDIDATES} t JOIN learnings l ON l.id = t.id"
                    ),
                    {"team": principal.team_id},
                )
            )
            .scalars()
            .all()
        )
        text_hit_count = await session.scalar(
            text(f"SELECT count(*) FROM {TEXT_CANDIDATES}"), {"team": principal.team_id}
        )
        # Naming another team gets nothing: the function serves only the transaction's team.
        foreign_text_hits = await session.scalar(
            text(f"SELECT count(*) FROM {TEXT_CANDIDATES}"), {"team": other}
        )
        updated = (
            await session.execute(text("UPDATE handoffs SET topic = 'overwritten'"))
        ).rowcount  # type: ignore[attr-defined]
        deleted = (
            await session.execute(text("DELETE FROM learnings WHERE kind = 'nonexistent'"))
        ).rowcount  # type: ignore[attr-defined]
        other = [t for t in (await session.execute(text("SELECT gen_random_uuid()"))).scalars()]
        try:
            async with session.begin_nested():
                await session.execute(
                    text(
                        "INSERT INTO projects (team_id, id, slug) "
                        "VALUES ((SELECT id FROM teams WHERE id <> :t LIMIT 1), :i, 'x/y')"
                    ),
                    {"t": principal.team_id, "i": other[0]},
                )
            foreign_insert = "allowed"
        except DBAPIError as exc:
            foreign_insert = type(exc.orig).__name__
        try:
            async with session.begin_nested():
                await session.execute(
                    text(
                        "INSERT INTO projects (team_id, id, slug) VALUES (gen_random_uuid(), gen_random_uuid(), 'x/z')"
                    )
                )
            forged_insert = "allowed"
        except DBAPIError as exc:
            forged_insert = type(exc.orig).__name__
        return {
            "who": who,
            "teams": [str(t) for t in teams],
            "handoff_teams": [str(t) for t in handoff_teams],
            "learning_teams": learnings,
            "key_teams": sorted({str(k) for k in keys}),
            "text_hit_teams": sorted({str(t) for t in text_hits}),
            "text_hit_count": text_hit_count,
            "foreign_text_hits": foreign_text_hits,
            "updated": updated,
            "deleted": deleted,
            "foreign_insert": foreign_insert,
            "forged_insert": forged_insert,
            "team": str(principal.team_id),
        }

    alpha = await make_key(team="alpha")
    beta = await make_key(team="beta")
    async with serve(app) as client:
        for key, n in ((alpha, 2), (beta, 3)):
            for i in range(n):
                await write_handoff(client, key, body=f"## Decisions\n- item {i}", recipient="w")
        with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
            row = conn.execute("SELECT id FROM teams WHERE name = 'beta'").fetchone()
        assert row is not None
        seen = (
            await client.post("/test/raw-sql", params={"other": str(row[0])}, headers=auth(alpha))
        ).json()

    assert seen["who"] == "memory_app"
    assert seen["teams"] == [seen["team"]]
    assert seen["handoff_teams"] == [seen["team"]]
    assert seen["learning_teams"] == 1
    assert seen["key_teams"] == [seen["team"]]
    assert seen["text_hit_teams"] == [seen["team"]]
    assert seen["text_hit_count"] == 2  # alpha's two learnings, none of beta's three
    assert seen["foreign_text_hits"] == 0  # beta has three, but the request acts for alpha
    assert seen["updated"] == 2  # alpha's two handoffs, none of beta's three
    assert seen["foreign_insert"] != "allowed"
    assert seen["forged_insert"] != "allowed"
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        topics = conn.execute(
            "SELECT t.name, h.topic FROM handoffs h JOIN teams t ON t.id = h.team_id ORDER BY 1"
        ).fetchall()
        owners = {
            r[0]
            for r in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
        }
        forced = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relname IN "
            "('teams','api_keys','projects','handoffs','audit_events') "
            "AND relrowsecurity AND relforcerowsecurity"
        ).fetchone()
        # Not FORCEd (migration 0003), so its owner's text-search function can use the GIN
        # index; the policy still binds every request connection.
        learnings_rls = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'learnings'"
        ).fetchone()
    # The write through the request changed alpha's rows only; beta's stayed as they were.
    assert [t for name, t in topics if name == "alpha"] == ["overwritten"] * 2
    assert [t for name, t in topics if name == "beta"] == [None] * 3
    assert "memory_app" not in owners
    assert forced == (5,)
    assert learnings_rls == (True, False)


async def test_empty_db_role_with_the_embedded_database_refuses_to_start(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The embedded PostgreSQL's user is a superuser: request connections acting as it would
    bypass row-level security. Refused before anything starts."""
    settings = Settings(data_dir=tmp_path / "data", db_role="")
    with pytest.raises(StartupRefused, match="MEMORY_DB_ROLE"):
        async with LifespanManager(create_app(settings, embedder=embedder)):
            pass
    assert not (tmp_path / "data" / "pgdata").exists()


def test_run_with_empty_db_role_and_embedded_database_exits_with_an_error(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEMORY_DATABASE_URL"}
    env.update(MEMORY_DB_ROLE="", MEMORY_DATA_DIR=str(tmp_path / "data"))
    run = subprocess.run(
        [sys.executable, "-m", "memory_service", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "MEMORY_DB_ROLE is empty" in run.stderr and "row-level security" in run.stderr
    assert "listening" not in run.stdout
    assert not (tmp_path / "data" / "pgdata").exists()


async def test_empty_db_role_warns_when_the_database_user_escapes_rls(
    settings: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    """With an external database an empty MEMORY_DB_ROLE stays possible (poolers that
    reject the role option), but a user that row-level security does not bind (here the
    owner of the tables, who ran the migrations) is reported at start."""
    caplog.set_level(logging.WARNING, logger="memory_service.app")
    app = create_app(settings.model_copy(update={"db_role": ""}), embedder=embedder)
    async with serve(app) as client:
        assert (await client.get("/readyz")).status_code == 200
    warnings = [r.getMessage() for r in caplog.records if "MEMORY_DB_ROLE is empty" in r.message]
    assert len(warnings) == 1
    assert "row-level security does not bind" in warnings[0]
    assert "owns the tables" in warnings[0]
