"""Housekeeping one team at a time (issue 21, point 5): a re-embed or a large forget in team A
works in batches of its own rows and locks no table, so team B's writes and searches go through
while A's job is held mid-way, inside one of its transactions. Real database, real model, the
app over HTTP; the job runs beside it and is paused by a hook between its UPDATE (or DELETE)
and its COMMIT."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg
import pytest

from memory_service.audit.service import OPERATOR
from memory_service.config import Settings
from memory_service.db import create_engine, libpq_url, session_factory
from memory_service.embeddings import Embedder
from memory_service.forgetting import service as forgetting
from memory_service.learnings.reembed import pending, reembed
from tests.helpers import MakeKey, auth, write_handoff

PROJECT = "github.com/acme/shop"
# Locks a job may hold on a table without blocking other teams' reads and writes.
SHARED_MODES = {"AccessShareLock", "RowShareLock", "RowExclusiveLock"}


def _sql(settings: Settings, query: str, *args: Any) -> list[tuple[Any, ...]]:
    assert settings.database_url is not None
    with psycopg.connect(libpq_url(settings.database_url), autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else []


def _team(settings: Settings, name: str) -> uuid.UUID:
    return uuid.UUID(str(_sql(settings, "SELECT id FROM teams WHERE name = %s", name)[0][0]))


def _table_locks(settings: Settings) -> list[tuple[str, str]]:
    """(table, mode) of every table lock other sessions hold in this database."""
    rows = _sql(
        settings,
        "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE l.locktype = 'relation' AND l.pid <> pg_backend_pid() AND c.relkind = 'r' "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    return [(str(r[0]), str(r[1])) for r in rows]


async def _fill(client: httpx.AsyncClient, key: str, topic: str, handoffs: int) -> None:
    for h in range(handoffs):
        body = "## Decisions\n" + "".join(
            f"- {topic} decision {h}-{i}: the {topic} service {i} keeps its own queue {h}.\n"
            for i in range(5)
        )
        await write_handoff(client, key, PROJECT, body, recipient="shop")


class Hold:
    """A `before_commit` hook: the first call waits until released, every call is counted."""

    def __init__(self) -> None:
        self.paused = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.calls == 1:
            self.paused.set()
            await self.release.wait()


async def _while_held(
    settings: Settings,
    job: Callable[[Hold], Awaitable[int]],
    other_team: Callable[[], Awaitable[None]],
) -> tuple[int, Hold]:
    """Runs `job` until its first batch is held before COMMIT; checks the table locks then;
    runs `other_team` to completion while the job is still held; then lets the job finish."""
    hold = Hold()
    task = asyncio.create_task(job(hold))
    try:
        await asyncio.wait_for(hold.paused.wait(), timeout=120)
        locks = _table_locks(settings)
        # The job is inside its transaction: it holds its rows, and no more than that.
        assert ("learnings", "RowExclusiveLock") in locks
        assert [x for x in locks if x[1] not in SHARED_MODES] == []
        # Not a latency threshold: a blocked request would never finish while the job waits.
        await asyncio.wait_for(other_team(), timeout=120)
        assert not task.done()
    finally:
        hold.release.set()
    return await task, hold


async def test_reembed_of_one_team_leaves_another_unblocked(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings, embedder: Embedder
) -> None:
    a, b = await make_key("team-a"), await make_key("team-b")
    await _fill(client, a, "billing", 4)
    await _fill(client, b, "search", 1)
    # A model change: every learning of both teams now carries another model's embedding.
    _sql(settings, "UPDATE learnings SET embedding_model = 'old-model'")
    team_a, team_b = _team(settings, "team-a"), _team(settings, "team-b")
    engine = create_engine(
        str(settings.database_url), pool_size=2, max_overflow=0, role=settings.db_role
    )
    sessions = session_factory(engine)
    stale_b = _sql(
        settings, "SELECT id FROM learnings WHERE team_id = %s ORDER BY id LIMIT 1", team_b
    )[0][0]

    async def job(hold: Hold) -> int:
        return await reembed(
            sessions, embedder, batch_size=4, progress=False, team=team_a, before_commit=hold
        )

    async def team_b_works() -> None:
        await write_handoff(
            client,
            b,
            PROJECT,
            "## Decisions\n- The search service reindexes nightly at 02:00.\n",
            recipient="shop",
        )
        found = await client.post(
            "/v1/search", json={"query": "search service queue"}, headers=auth(b)
        )
        assert found.status_code == 200 and found.json()["results"]
        # A write to one of B's own stale rows, the kind a cross-team batch would hold.
        forgot = await client.delete(f"/v1/learnings/{stale_b}", headers=auth(b))
        assert forgot.status_code == 200, forgot.text

    try:
        done, hold = await _while_held(settings, job, team_b_works)
        assert done == 20 and hold.calls == 5
        assert await pending(sessions, embedder.name, team_a) == 0
        # One team at a time: B's learnings were not touched by A's run.
        assert await pending(sessions, embedder.name, team_b) == 4
        assert await reembed(sessions, embedder, batch_size=4, progress=False) == 4
        assert await pending(sessions, embedder.name) == 0
    finally:
        await engine.dispose()


async def test_large_forget_in_one_team_leaves_another_unblocked(
    client: httpx.AsyncClient,
    make_key: MakeKey,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = await make_key("team-a", scopes="read,write,admin")
    b = await make_key("team-b")
    await _fill(client, a, "billing", 4)
    await _fill(client, b, "search", 1)
    team_a = _team(settings, "team-a")
    _sql(
        settings,
        "UPDATE learnings SET created_at = now() - interval '90 days' WHERE team_id = %s",
        team_a,
    )
    policy = await client.put(
        "/v1/admin/forgetting", json={"forget_unused_days": 30}, headers=auth(a)
    )
    assert policy.status_code == 200, policy.text
    # Near-duplicates go with their canonical learning: a batch is BATCH clusters.
    clusters = _sql(
        settings,
        "SELECT count(*) FROM learnings WHERE team_id = %s AND canonical_id IS NULL",
        team_a,
    )[0][0]
    assert clusters >= 3
    monkeypatch.setattr(forgetting, "BATCH", 1)
    engine = create_engine(
        str(settings.database_url), pool_size=2, max_overflow=0, role=settings.db_role
    )
    sessions = session_factory(engine)

    async def job(hold: Hold) -> int:
        result = await forgetting.run_in_batches(sessions, OPERATOR, team_a, before_commit=hold)
        return result.forgotten

    async def team_b_works() -> None:
        await write_handoff(
            client,
            b,
            PROJECT,
            "## Decisions\n- The search service reindexes nightly at 02:00.\n",
            recipient="shop",
        )
        found = await client.post(
            "/v1/search", json={"query": "search service queue"}, headers=auth(b)
        )
        assert found.status_code == 200 and found.json()["results"]

    try:
        forgotten, hold = await _while_held(settings, job, team_b_works)
    finally:
        await engine.dispose()
    assert forgotten == 20 and hold.calls == clusters
    counts = dict(
        _sql(
            settings,
            "SELECT t.name, count(l.id) FROM teams t LEFT JOIN learnings l ON l.team_id = t.id "
            "WHERE t.name LIKE 'team-%%' GROUP BY t.name",
        )
    )
    assert counts == {"team-a": 0, "team-b": 6}
