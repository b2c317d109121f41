"""The team's forgetting policy: forget learnings nobody used for N days, and next steps and
status reports N days after they were last written (both off by default; teams columns of
migration 0009). Set and run on demand by an unrestricted admin key (/v1/admin/forgetting) or
the operator (`memory-service forgetting`), and run by the server every RUN_INTERVAL_S for
every team with a policy. A dry run lists what would go and changes nothing.

"Used" is what memory_service/usage counts: a brief delivered it, a search, recall or check
returned it; a learning never used counts from when it was written. A cluster of
near-duplicates goes together, through the learnings' own forget path, and only when none of
its copies was used (or written) within the period. Every learning forgotten gets its own
audit row (`learning.expire`) in the same transaction as its deletion. Deletes go BATCH
clusters a statement; the server's own run and the operator's commit each batch
(`run_in_batches`), one team at a time, so they never hold many rows locked for long and lock
no table (a request's run is one transaction of at most `limit` clusters of its team)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from memory_service.audit.service import OPERATOR, Actor, record
from memory_service.auth import policy as access
from memory_service.auth.service import Principal
from memory_service.forgetting import queries
from memory_service.forgetting.schemas import ForgettingPolicy, ForgettingRun, ForgottenLearning
from memory_service.learnings.service import forget_clusters
from memory_service.tenancy import act_as_system, scope_to_team

log = logging.getLogger(__name__)

__all__ = [
    "BATCH",
    "ForgettingTask",
    "get_policy",
    "operator_team",
    "run",
    "run_in_batches",
    "set_policy",
]

# Clusters deleted per transaction.
BATCH = 200
# How often the server applies every team's policy, and how many clusters per team a round
# forgets at most (the rest waits for the next round).
RUN_INTERVAL_S = 3600.0
ROUND_LIMIT = 5_000
# Most learnings one request lists or forgets.
MAX_LIMIT = 5_000


async def _policy(session: AsyncSession, team_id: uuid.UUID) -> ForgettingPolicy:
    team = await queries.policy(session, team_id)
    assert team is not None  # the caller's own team, or one the operator named
    return ForgettingPolicy(
        forget_unused_days=team.forget_unused_days,
        next_step_expiry_days=team.next_step_expiry_days,
    )


async def operator_team(session: AsyncSession, name: str) -> uuid.UUID | None:
    """The operator's commands name a team (the session is in system mode)."""
    return await queries.team_named(session, name)


async def operator_policy(session: AsyncSession, team_id: uuid.UUID) -> ForgettingPolicy:
    return await _policy(session, team_id)


async def get_policy(session: AsyncSession, principal: Principal) -> ForgettingPolicy:
    access.require_team_admin(principal)
    return await _policy(session, principal.team_id)


async def set_policy(
    session: AsyncSession, actor: Actor, team_id: uuid.UUID, wanted: ForgettingPolicy
) -> ForgettingPolicy:
    if isinstance(actor, Principal):
        access.require_team_admin(actor)
    before = await _policy(session, team_id)
    # The teams row is the operator's (its row-level security lets a team read its own row,
    # not write it): the update names the team itself, in system mode.
    await act_as_system(session)
    await queries.set_policy(
        session, team_id, wanted.forget_unused_days, wanted.next_step_expiry_days
    )
    await record(
        session,
        actor,
        "team.forgetting",
        target=("team", team_id),
        details={"before": before.model_dump(), "after": wanted.model_dump()},
        team_id=team_id,
    )
    return wanted


async def run(
    session: AsyncSession,
    actor: Actor,
    team_id: uuid.UUID,
    *,
    dry_run: bool,
    limit: int = MAX_LIMIT,
) -> ForgettingRun:
    """What the policy forgets now (at most `limit` clusters), deleted unless `dry_run`. In the
    caller's transaction: the background task and the operator call it once per batch."""
    if isinstance(actor, Principal):
        access.require_team_admin(actor)
    policy = await _policy(session, team_id)
    if policy.forget_unused_days is None and policy.next_step_expiry_days is None:
        return ForgettingRun(dry_run=dry_run, policy=policy, forgotten=0, learnings=[], more=False)
    rows = await queries.due(
        session,
        team_id,
        policy.forget_unused_days,
        policy.next_step_expiry_days,
        limit + 1,
    )
    more, rows = len(rows) > limit, rows[:limit]
    listed = [ForgottenLearning.model_validate(dict(r)) for r in rows]
    forgotten = 0
    if not dry_run:
        for start in range(0, len(listed), BATCH):
            forgotten += await _forget(
                session, actor, team_id, policy, listed[start : start + BATCH]
            )
    return ForgettingRun(
        dry_run=dry_run, policy=policy, forgotten=forgotten, learnings=listed, more=more
    )


async def _forget(
    session: AsyncSession,
    actor: Actor,
    team_id: uuid.UUID,
    policy: ForgettingPolicy,
    batch: list[ForgottenLearning],
) -> int:
    why = {x.id: x for x in batch}
    gone = await forget_clusters(session, team_id, [x.id for x in batch])
    for learning_id, root in gone:
        item = why[root]
        days = (
            policy.next_step_expiry_days if item.reason == "expired" else policy.forget_unused_days
        )
        await record(
            session,
            actor,
            "learning.expire",
            target=("learning", learning_id),
            details={
                "reason": item.reason,
                "days": days,
                "kind": item.kind,
                "project": item.project,
                "canonical_id": str(root),
                "last_used_at": item.last_used_at.isoformat() if item.last_used_at else None,
            },
            team_id=team_id,
        )
    return len(gone)


async def run_in_batches(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    team_id: uuid.UUID,
    *,
    limit: int = ROUND_LIMIT,
    before_commit: Callable[[], Awaitable[None]] | None = None,
) -> ForgettingRun:
    """Applies one team's policy, BATCH clusters per transaction (each committed on its own,
    scoped to the team by row-level security), at most `limit` clusters: a large forget holds
    row locks on at most BATCH clusters of this team at a time, and no table lock stronger
    than its DELETE's ROW EXCLUSIVE. `before_commit` runs inside each batch's transaction,
    after its deletes."""
    learnings: list[ForgottenLearning] = []
    forgotten = 0
    while True:
        async with sessions() as session:
            scope_to_team(session, team_id)
            async with session.begin():
                result = await run(
                    session,
                    actor,
                    team_id,
                    dry_run=False,
                    limit=min(BATCH, limit - len(learnings)),
                )
                if before_commit is not None and result.learnings:
                    await before_commit()
        forgotten += result.forgotten
        learnings += result.learnings
        if not result.more or len(learnings) >= limit:
            return ForgettingRun(
                dry_run=False,
                policy=result.policy,
                forgotten=forgotten,
                learnings=learnings,
                more=result.more,
            )


async def run_all(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Applies every team's policy, BATCH clusters per transaction, at most ROUND_LIMIT per
    team; each team in its own transactions (row-level security applies). How many learnings
    went."""
    async with sessions() as session, session.begin():
        await act_as_system(session)
        teams = await queries.teams_with_policy(session)
    total = 0
    for team_id in teams:
        result = await run_in_batches(sessions, OPERATOR, team_id, limit=ROUND_LIMIT)
        total += result.forgotten
    return total


class ForgettingTask:
    """The server's periodic run of every team's policy (started by the app's lifespan)."""

    def __init__(self, interval_s: float = RUN_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._task = asyncio.create_task(self._loop(sessions), name="forgetting")

    async def _loop(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                forgotten = await run_all(sessions)
                if forgotten:
                    log.info("forgetting policy: %d learning(s) forgotten", forgotten)
            except Exception as exc:  # the database is away: the next round tries again
                log.warning("forgetting policy could not run: %s", exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
