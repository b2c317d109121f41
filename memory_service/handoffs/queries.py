"""Every statement the handoffs package runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db import advisory_key
from memory_service.models import HandoffRow, LearningRow, Project
from memory_service.vocabulary import HandoffStatus

_LEARNINGS = cast(Table, LearningRow.__table__)
_LEARNING_COLUMNS = [c.key for c in _LEARNINGS.columns if c.computed is None]


async def lock(session: AsyncSession, *parts: str) -> None:
    """An advisory lock on `parts` until the transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(*parts)})


async def by_idempotency_key(
    session: AsyncSession, team_id: uuid.UUID, key: str
) -> HandoffRow | None:
    return await session.scalar(
        select(HandoffRow).where(HandoffRow.team_id == team_id, HandoffRow.idempotency_key == key)
    )


async def unread_twin(
    session: AsyncSession,
    team_id: uuid.UUID,
    project_id: uuid.UUID,
    recipient: str,
    content_hash: str,
) -> HandoffRow | None:
    return await session.scalar(
        select(HandoffRow).where(
            HandoffRow.team_id == team_id,
            HandoffRow.project_id == project_id,
            HandoffRow.recipient == recipient,
            HandoffRow.content_hash == content_hash,
            HandoffRow.status == HandoffStatus.unread,
        )
    )


async def mark_read(
    session: AsyncSession, team_id: uuid.UUID, handoff_id: uuid.UUID, *, claimer: str
) -> bool:
    """Marks one unread handoff read, as a claim would; False when it was read already (also
    when a claim took it a moment before: the row lock makes the two exclusive)."""
    done = await session.execute(
        update(HandoffRow)
        .where(
            HandoffRow.team_id == team_id,
            HandoffRow.id == handoff_id,
            HandoffRow.status == HandoffStatus.unread,
        )
        .values(status=HandoffStatus.read, claimed_at=func.now(), claimed_by=claimer)
        .returning(HandoffRow.id)
        .execution_options(synchronize_session=False)
    )
    return done.first() is not None


async def insert_learnings(session: AsyncSession, learnings: list[LearningRow]) -> None:
    """One multi-row INSERT through Core: the ORM's unit of work (identity map, state tracking,
    per-object events) cost ~0.3 ms of the event loop per learning, for objects that are only
    read back for the response."""
    rows: list[dict[str, Any]] = [
        {key: getattr(x, key) for key in _LEARNING_COLUMNS} for x in learnings
    ]
    await session.execute(insert(_LEARNINGS), rows)


async def project_slug(session: AsyncSession, handoff: HandoffRow) -> str | None:
    return await session.scalar(
        select(Project.slug).where(
            Project.team_id == handoff.team_id, Project.id == handoff.project_id
        )
    )


async def learnings_of(session: AsyncSession, handoff: HandoffRow) -> list[LearningRow]:
    return list(
        await session.scalars(
            select(LearningRow)
            .where(LearningRow.team_id == handoff.team_id, LearningRow.handoff_id == handoff.id)
            .order_by(LearningRow.position)
        )
    )


async def get(
    session: AsyncSession, team_id: uuid.UUID, handoff_id: uuid.UUID, *, fresh: bool = False
) -> HandoffRow | None:
    """`fresh`: read the row again even when the session holds it (after an UPDATE)."""
    query = select(HandoffRow).where(HandoffRow.team_id == team_id, HandoffRow.id == handoff_id)
    if fresh:
        query = query.execution_options(populate_existing=True)
    return await session.scalar(query)


async def delete(session: AsyncSession, handoff: HandoffRow) -> None:
    # Learnings go with it (ON DELETE CASCADE on the composite foreign key).
    await session.delete(handoff)
    await session.flush()


async def page(
    session: AsyncSession,
    team_id: uuid.UUID,
    *,
    project: str | None,
    readable: tuple[str, ...] | None,
    recipient: str | None,
    status: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[HandoffRow, str]]:
    """Handoffs with their project's slug, newest first by when they were written (front
    matter `created`, else arrival: an imported or late handoff takes its place among the
    others), from after `after` (a position of the previous page); `readable`: only these
    projects (None: all); `since` / `until`: written at or after, before."""
    query = (
        select(HandoffRow, Project.slug)
        .join(
            Project, (Project.team_id == HandoffRow.team_id) & (Project.id == HandoffRow.project_id)
        )
        .where(HandoffRow.team_id == team_id)
    )
    if project is not None:
        query = query.where(Project.slug == project)
    if readable is not None:
        query = query.where(Project.slug.in_(readable))
    if recipient is not None:
        query = query.where(HandoffRow.recipient == recipient)
    if status is not None:
        query = query.where(HandoffRow.status == status)
    if since is not None:
        query = query.where(HandoffRow.created_at >= since)
    if until is not None:
        query = query.where(HandoffRow.created_at < until)
    if after is not None:
        when, ident = after
        query = query.where(
            (HandoffRow.created_at < when)
            | ((HandoffRow.created_at == when) & (HandoffRow.id < ident))
        )
    query = query.order_by(HandoffRow.created_at.desc(), HandoffRow.id.desc()).limit(limit)
    return [(h, slug) for h, slug in (await session.execute(query)).all()]


async def learning_counts(
    session: AsyncSession, team_id: uuid.UUID, handoff_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many learnings each of `handoff_ids` has (one grouped query over the handoff index)."""
    if not handoff_ids:
        return {}
    rows = await session.execute(
        select(LearningRow.handoff_id, func.count())
        .where(LearningRow.team_id == team_id, LearningRow.handoff_id.in_(handoff_ids))
        .group_by(LearningRow.handoff_id)
    )
    return {handoff_id: int(n) for handoff_id, n in rows.all()}
