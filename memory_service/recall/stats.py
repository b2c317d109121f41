"""What search plans with, kept in the process for a while instead of asked on every search.

How many learnings a search's filters leave, from per-team counts kept for a minute.

A search scans the rows behind its filters exactly when there are few of them (recall 1.0, a
few milliseconds) and walks the HNSW index otherwise. Counting those rows on every search cost
up to 30 ms at 100k learnings (bench/RESULTS.md); one grouped count per team and minute costs
that once. The counts are an estimate by design: stale by at most `ttl_s`, and blind to the
`since` filter and to other projects' private rows, so they can only over-count, which at
worst sends a search to the index a little early.

Once a value has expired, one search refreshes it while the searches running meanwhile keep
using the old one: at 100k learnings a team's grouped count takes ~40 ms of PostgreSQL, and
every concurrent search of the team running it at once (16 clients: 16 counts) showed as a
latency spike every minute."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.recall import sql

# The numbers (times to live, common-term thresholds) with their measurements: recall/ranking.py.
from memory_service.recall.ranking import (
    COMMON_TERM_ROWS,
    COMMON_TERM_SHARE,
    COMMON_TERMS_MIN_ROWS,
    COMMON_TERMS_TTL_S,
    STATS_MAX_TEAMS,
    STATS_TTL_S,
)

Counts = dict[tuple[uuid.UUID, str], int]


class SearchStats:
    """Learnings per (project, kind) of each team, refreshed at most every `ttl_s` seconds,
    and the most common full-text terms, from PostgreSQL's own statistics (`pg_stats`, as
    ANALYZE left them), refreshed every ten minutes; per process. `ttl_s=0`: on every call
    (but for calls made while another is refreshing the same value, which get the old one)."""

    def __init__(self, ttl_s: float = STATS_TTL_S, max_teams: int = STATS_MAX_TEAMS) -> None:
        self.ttl_s = ttl_s
        self.max_teams = max_teams
        self._teams: OrderedDict[uuid.UUID, tuple[float, Counts]] = OrderedDict()
        self._common: dict[float, tuple[float, list[str]]] = {}
        self._table: tuple[float, int] | None = None
        # What one call is refreshing now (team ids, common-term shares): others use the old
        # value meanwhile instead of running the same query.
        self._refreshing: set[Hashable] = set()

    def _usable(self, cached: tuple[float, object] | None, ttl: float, flight: Hashable) -> bool:
        """A cached value is used while fresh, and while another call is refreshing it."""
        if cached is None:
            return False
        return time.monotonic() - cached[0] < ttl or flight in self._refreshing

    @contextmanager
    def _refresh(self, flight: Hashable) -> Iterator[None]:
        self._refreshing.add(flight)
        try:
            yield
        finally:
            self._refreshing.discard(flight)

    async def common_terms(
        self,
        session: AsyncSession,
        share: float = COMMON_TERM_SHARE,
        min_rows: int = COMMON_TERM_ROWS,
    ) -> list[str]:
        """Lexemes in more than `share` of all learnings and in more than `min_rows` of them
        (all teams: the GIN index that finds them is shared too); none while the table is
        small or not analysed."""
        table = await self.table_rows(session)
        if table:
            # Two significant digits: the key changes a handful of times as a table grows.
            share = max(share, float(f"{min_rows / table:.2g}"))
        now = time.monotonic()
        cached = self._common.get(share)
        ttl = min(self.ttl_s * 10, COMMON_TERMS_TTL_S)
        if cached is not None and self._usable(cached, ttl, ("common", share)):
            return cached[1]
        with self._refresh(("common", share)):
            terms = await session.scalar(
                text(sql.COMMON_TERMS),
                {"share": share, "min_rows": COMMON_TERMS_MIN_ROWS},
            )
        common = list(terms or [])
        self._common = {k: v for k, v in self._common.items() if now - v[0] < ttl}
        self._common[share] = (now, common)
        return common

    async def table_rows(self, session: AsyncSession) -> int:
        """All learnings of all teams (the HNSW index is one for the whole table), as ANALYZE
        last counted them; 0 before the first ANALYZE."""
        now = time.monotonic()
        if self._table is not None and now - self._table[0] < self.ttl_s:
            return self._table[1]
        estimate = await session.scalar(text(sql.TABLE_ROWS))
        rows = max(int(estimate or 0), 0)
        self._table = (now, rows)
        return rows

    async def rows(
        self,
        session: AsyncSession,
        team_id: uuid.UUID,
        projects: Iterable[uuid.UUID] | None,
        kinds: Iterable[str] | None,
    ) -> int:
        counts = await self._counts(session, team_id)
        wanted_projects = set(projects) if projects is not None else None
        wanted_kinds = set(kinds) if kinds else None
        return sum(
            n
            for (project, kind), n in counts.items()
            if (wanted_projects is None or project in wanted_projects)
            and (wanted_kinds is None or kind in wanted_kinds)
        )

    async def _counts(self, session: AsyncSession, team_id: uuid.UUID) -> Counts:
        now = time.monotonic()
        cached = self._teams.get(team_id)
        if cached is not None and self._usable(cached, self.ttl_s, ("counts", team_id)):
            self._teams.move_to_end(team_id)
            return cached[1]
        with self._refresh(("counts", team_id)):
            rows = await session.execute(text(sql.TEAM_COUNTS), {"team": team_id})
        counts: Counts = {(row.project_id, row.kind): int(row.n) for row in rows}
        self._teams[team_id] = (now, counts)
        self._teams.move_to_end(team_id)
        while len(self._teams) > self.max_teams:
            self._teams.popitem(last=False)
        return counts
