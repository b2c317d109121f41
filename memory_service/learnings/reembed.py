"""Re-embedding after a model change: every learning whose stored model name differs from the
configured one gets a new embedding. Each batch commits on its own, so an interrupted run
resumes where it stopped (the rows not yet done still carry the old model name).

One team at a time, each batch scoped to it (row-level security) and walking its primary key
from where the last batch stopped (`team_id = :team AND id > :after`): a batch holds row locks
on at most `batch_size` learnings of one team and nothing else (the UPDATE's ROW EXCLUSIVE is
the strongest table lock), so the other teams' writes and searches never wait for it, and no
statement scans the whole table."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from memory_service.embeddings import Embedder
from memory_service.learnings.embedding_text import embedding_text
from memory_service.models import LearningRow, Team
from memory_service.tenancy import act_as_system, scope_to_team
from memory_service.vectors import as_param

_FIRST = uuid.UUID(int=0)


async def pending(
    sessions: async_sessionmaker[AsyncSession], model: str, team: uuid.UUID | None = None
) -> int:
    """Learnings of another model than `model` (in `team`, or in every team, counted a team
    at a time: every statement names its team)."""
    teams = [team] if team is not None else await _teams(sessions)
    total = 0
    for team_id in teams:
        async with sessions() as session:
            scope_to_team(session, team_id)
            async with session.begin():
                count = await session.scalar(
                    select(func.count())
                    .select_from(LearningRow)
                    .where(LearningRow.team_id == team_id, LearningRow.embedding_model != model)
                )
        total += int(count or 0)
    return total


async def _teams(sessions: async_sessionmaker[AsyncSession]) -> list[uuid.UUID]:
    async with sessions() as session, session.begin():
        await act_as_system(session)
        return list(await session.scalars(select(Team.id).order_by(Team.id)))


async def reembed(
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    *,
    batch_size: int = 256,
    progress: bool = True,
    team: uuid.UUID | None = None,
    before_commit: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Returns how many learnings were re-embedded (of `team`, or of every team in turn).
    `before_commit` runs inside each batch's transaction, after its UPDATE."""
    total = await pending(sessions, embedder.name, team)
    done = 0
    bar: Any = tqdm(total=total, unit="learning", disable=not progress, file=sys.stderr)
    try:
        for team_id in [team] if team is not None else await _teams(sessions):
            # Passes over the team until one finds nothing: rows another re-embedder held
            # (SKIP LOCKED) when this one walked past them are taken on the next pass.
            while True:
                count = await _team_pass(
                    sessions, embedder, team_id, batch_size, bar, before_commit
                )
                done += count
                if count == 0:
                    break
    finally:
        bar.close()
    return done


async def _team_pass(
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    team_id: uuid.UUID,
    batch_size: int,
    bar: Any,
    before_commit: Callable[[], Awaitable[None]] | None,
) -> int:
    after, done = _FIRST, 0
    while True:
        async with sessions() as session:
            scope_to_team(session, team_id)
            async with session.begin():
                # SKIP LOCKED: two re-embedders (or a re-embedder and a delete) never wait on
                # each other; each takes rows nobody else holds.
                rows = (
                    await session.execute(
                        text(
                            "SELECT id, kind, text, section FROM learnings "
                            "WHERE team_id = :team AND id > :after AND embedding_model <> :model "
                            "ORDER BY team_id, id LIMIT :n FOR UPDATE SKIP LOCKED"
                        ),
                        {"team": team_id, "after": after, "model": embedder.name, "n": batch_size},
                    )
                ).all()
                if not rows:
                    return done
                vectors = await embedder.aencode(
                    [embedding_text(r.kind, r.text, section=r.section) for r in rows]
                )
                await session.execute(
                    text(
                        "UPDATE learnings SET embedding = CAST(:v AS vector), embedding_model = :m "
                        "WHERE team_id = :t AND id = :i"
                    ).bindparams(bindparam("v"), bindparam("m")),
                    [
                        {"v": as_param(v), "m": embedder.name, "t": team_id, "i": r.id}
                        for r, v in zip(rows, vectors, strict=True)
                    ],
                )
                if before_commit is not None:
                    await before_commit()
        after = rows[-1].id
        done += len(rows)
        bar.update(len(rows))
