"""How often each learning is used, and when last: every learning a brief delivers, a search
or a prompt-time recall returns counts once. A search must not turn into a write, so the
counts are kept in the process (`UsageBuffer.note`, no I/O) and added to the database by a
background task every FLUSH_INTERVAL_S seconds, one UPDATE per team in that team's own
transaction (row-level security applies), and once more at shutdown. A flush that fails puts
its counts back for the next one; counts of a process killed without a clean shutdown (at
most FLUSH_INTERVAL_S worth) are lost, which only makes a learning look a little less used."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from memory_service.tenancy import scope_to_team
from memory_service.usage import queries

log = logging.getLogger(__name__)

# An UPDATE of a learning writes a new version of its row, and PostgreSQL then adds it to every
# index of the table again (the HNSW and full-text ones too: the last_used_at index rules out
# an in-place "HOT" update). Once a minute, a learning searched a thousand times in that
# minute costs one new row version, not a thousand.
FLUSH_INTERVAL_S = 60.0
# Learnings held per process before a flush is due early (a burst of searches).
MAX_PENDING = 50_000

__all__ = ["FLUSH_INTERVAL_S", "UsageBuffer"]


class UsageBuffer:
    """Uses noted since the last flush: per team, per learning, (count, last used)."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self._pending: dict[uuid.UUID, dict[uuid.UUID, tuple[int, datetime]]] = {}
        self._size = 0
        self._max = max_pending
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    def note(self, team_id: uuid.UUID, learning_ids: Iterable[uuid.UUID]) -> None:
        """Counts one use of each learning now; never waits, never fails."""
        now = datetime.now(UTC)
        team = self._pending.setdefault(team_id, {})
        for learning_id in learning_ids:
            n, _ = team.get(learning_id, (0, now))
            if n == 0:
                self._size += 1
            team[learning_id] = (n + 1, now)
        if self._size >= self._max:
            self._due.set()

    def pending(self) -> int:
        """Learnings with uses not yet written."""
        return self._size

    def _take(self) -> dict[uuid.UUID, dict[uuid.UUID, tuple[int, datetime]]]:
        taken, self._pending, self._size = self._pending, {}, 0
        return taken

    def _put_back(self, team_id: uuid.UUID, counts: dict[uuid.UUID, tuple[int, datetime]]) -> None:
        team = self._pending.setdefault(team_id, {})
        for learning_id, (n, at) in counts.items():
            m, later = team.get(learning_id, (0, at))
            if m == 0:
                self._size += 1
            team[learning_id] = (n + m, max(at, later))

    async def flush(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Writes every noted use: one transaction and one UPDATE per team. Returns how many
        learnings were updated. A team whose write fails keeps its counts for the next flush
        (and the error is raised after the other teams are written)."""
        failed: BaseException | None = None
        updated = 0
        for team_id, counts in self._take().items():
            try:
                async with sessions() as session:
                    scope_to_team(session, team_id)
                    async with session.begin():
                        updated += await queries.add_uses(
                            session, team_id, [(i, n, at) for i, (n, at) in counts.items()]
                        )
            except Exception as exc:
                self._put_back(team_id, counts)
                failed = exc
        if failed is not None:
            raise failed
        return updated

    def start(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Starts the background flusher (the app's lifespan does, once the database is up)."""
        self._sessions = sessions
        self._task = asyncio.create_task(self._run(sessions), name="usage-flush")

    async def _run(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), FLUSH_INTERVAL_S)
            self._due.clear()
            try:
                await self.flush(sessions)
            except Exception as exc:  # the database is away: the counts wait for the next
                log.warning("could not write learnings' use counts (kept for later): %s", exc)

    async def stop(self) -> None:
        """Stops the flusher and writes what is left (at shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sessions is not None and self._size:
            try:
                await self.flush(self._sessions)
            except Exception as exc:
                log.warning("could not write learnings' use counts at shutdown: %s", exc)
