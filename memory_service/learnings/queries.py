"""The statements of reading and forgetting single learnings (near-duplicate linking has its
own: duplicates.py; re-embedding: reembed.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import Learning, Project

_PROJECT = (Project.team_id == Learning.team_id) & (Project.id == Learning.project_id)


async def with_slug(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID
) -> tuple[Learning, str] | None:
    """The learning and its project's slug."""
    row = (
        await session.execute(
            select(Learning, Project.slug)
            .join(Project, _PROJECT)
            .where(Learning.team_id == team_id, Learning.id == learning_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def cluster(
    session: AsyncSession, team_id: uuid.UUID, root: uuid.UUID
) -> list[tuple[Learning, str]]:
    """Every learning of the cluster of canonical learning `root` with its project's slug,
    canonical first, then oldest first."""
    rows = await session.execute(
        select(Learning, Project.slug)
        .join(Project, _PROJECT)
        .where(Learning.team_id == team_id, or_(Learning.id == root, Learning.canonical_id == root))
        .order_by(Learning.canonical_id.is_not(None), Learning.created_at, Learning.id)
    )
    return [(learning, slug) for learning, slug in rows]


async def delete_cluster(session: AsyncSession, team_id: uuid.UUID, root: uuid.UUID) -> int:
    """Deletes canonical learning `root` and its duplicates; how many rows went."""
    result = await session.execute(
        delete(Learning).where(
            Learning.team_id == team_id, or_(Learning.id == root, Learning.canonical_id == root)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_ids(session: AsyncSession, team_id: uuid.UUID, ids: list[uuid.UUID]) -> int:
    result = await session.execute(
        delete(Learning).where(Learning.team_id == team_id, Learning.id.in_(ids))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
