"""The refresh policy of SearchStats: once a value expires, one caller refreshes it and the
others keep the old one meanwhile. The session here is a stand-in that only counts queries and
holds them open; what the queries return from PostgreSQL is tested in tests/test_recall.py."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from memory_service.recall import stats as stats_module
from memory_service.recall.stats import SearchStats

TEAM = uuid.uuid4()
PROJECT = uuid.uuid4()


class HeldSession:
    """Answers the grouped count with `n` rows of one (project, kind), each query waiting
    until `release` is set."""

    def __init__(self) -> None:
        self.queries = 0
        self.n = 1
        self.release = asyncio.Event()
        self.release.set()
        self.fail = False

    async def execute(self, *_: Any) -> list[Any]:
        self.queries += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("database went away")
        return [SimpleNamespace(project_id=PROJECT, kind="decision", n=self.n)]

    async def scalar(self, statement: Any, *_: Any) -> Any:
        if "reltuples" in str(statement):
            return 0  # the table's size, as before its first ANALYZE: no row floor
        self.queries += 1
        await self.release.wait()
        return [f"term{self.n}"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    # The module's own clock only: the event loop's (time.monotonic too) must keep running.
    monkeypatch.setattr(stats_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


async def test_one_caller_refreshes_an_expired_count_the_others_keep_the_old_one(
    clock: list[float],
) -> None:
    stats = SearchStats(ttl_s=60)
    session: Any = HeldSession()
    assert await stats.rows(session, TEAM, None, None) == 1
    assert session.queries == 1
    assert await stats.rows(session, TEAM, None, None) == 1  # fresh: no query
    assert session.queries == 1

    clock[0] += 61
    session.n = 5
    session.release.clear()
    refresher = asyncio.create_task(stats.rows(session, TEAM, None, None))
    await asyncio.sleep(0)  # the refresh is now waiting on the database
    # (A deadlock guard, not a speed limit: without the policy each waits on its own query.)
    others = await asyncio.wait_for(
        asyncio.gather(*(stats.rows(session, TEAM, None, None) for _ in range(15))), timeout=10
    )
    assert others == [1] * 15  # the old count, at once, without a query of their own
    assert session.queries == 2
    session.release.set()
    assert await refresher == 5
    assert await stats.rows(session, TEAM, None, None) == 5
    assert session.queries == 2


async def test_a_failed_refresh_lets_the_next_caller_try_again(clock: list[float]) -> None:
    stats = SearchStats(ttl_s=60)
    session: Any = HeldSession()
    await stats.rows(session, TEAM, None, None)
    clock[0] += 61
    session.fail = True
    with pytest.raises(RuntimeError):
        await stats.rows(session, TEAM, None, None)
    session.fail = False
    session.n = 3
    assert await stats.rows(session, TEAM, None, None) == 3
    assert session.queries == 3


async def test_common_terms_are_refreshed_once_too(clock: list[float]) -> None:
    stats = SearchStats(ttl_s=60)
    session: Any = HeldSession()
    assert await stats.common_terms(session, 0.002) == ["term1"]
    clock[0] += 601
    session.n = 2
    session.release.clear()
    refresher = asyncio.create_task(stats.common_terms(session, 0.002))
    await asyncio.sleep(0)
    assert await asyncio.wait_for(stats.common_terms(session, 0.002), timeout=10) == ["term1"]
    # Another share is another value: not held back by this refresh.
    session.release.set()
    assert await refresher == ["term2"]
    assert await stats.common_terms(session, 0.005) == ["term2"]
    assert session.queries == 3


async def test_a_term_counts_as_common_only_above_a_row_floor_too(clock: list[float]) -> None:
    """The share asked for is raised to `min_rows` of the table's rows: at 10k learnings a
    hybrid search leaves out terms in more than 200 rows (2 %), not in more than 20 (0.2 %)."""
    asked: list[float] = []

    class Sized(HeldSession):
        async def scalar(self, statement: Any, params: Any = None) -> Any:
            if "reltuples" in str(statement):
                return self.table
            asked.append(params["share"])
            return []

    session: Any = Sized()
    stats = SearchStats(ttl_s=60)
    session.table = 10_000
    await stats.common_terms(session, 0.002, 200)
    session.table, stats._table = 100_000, None
    await stats.common_terms(session, 0.002, 200)
    session.table, stats._table = 1_000_000, None
    await stats.common_terms(session, 0.002, 200)
    assert asked == [0.02, 0.002]  # at 1M the share rules again: 0.002, still cached
