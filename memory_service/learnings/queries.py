"""The statements of reading and forgetting single learnings (near-duplicate linking has its
own: duplicates.py; re-embedding: reembed.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import LearningRow, Project

_PROJECT = (Project.team_id == LearningRow.team_id) & (Project.id == LearningRow.project_id)


async def with_slug(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID
) -> tuple[LearningRow, str] | None:
    """The learning and its project's slug."""
    row = (
        await session.execute(
            select(LearningRow, Project.slug)
            .join(Project, _PROJECT)
            .where(LearningRow.team_id == team_id, LearningRow.id == learning_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def cluster(
    session: AsyncSession, team_id: uuid.UUID, root: uuid.UUID
) -> list[tuple[LearningRow, str]]:
    """Every learning of the cluster of canonical learning `root` with its project's slug,
    canonical first, then oldest first."""
    rows = await session.execute(
        select(LearningRow, Project.slug)
        .join(Project, _PROJECT)
        .where(
            LearningRow.team_id == team_id,
            or_(LearningRow.id == root, LearningRow.canonical_id == root),
        )
        .order_by(LearningRow.canonical_id.is_not(None), LearningRow.created_at, LearningRow.id)
    )
    return [(learning, slug) for learning, slug in rows]


async def delete_cluster(session: AsyncSession, team_id: uuid.UUID, root: uuid.UUID) -> int:
    """Deletes canonical learning `root` and its duplicates; how many rows went."""
    result = await session.execute(
        delete(LearningRow).where(
            LearningRow.team_id == team_id,
            or_(LearningRow.id == root, LearningRow.canonical_id == root),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_ids(session: AsyncSession, team_id: uuid.UUID, ids: list[uuid.UUID]) -> int:
    result = await session.execute(
        delete(LearningRow).where(LearningRow.team_id == team_id, LearningRow.id.in_(ids))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_clusters(
    session: AsyncSession, team_id: uuid.UUID, roots: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Deletes the clusters of canonical learnings `roots` (each with its near-duplicates);
    (id, root) of every row that went."""
    result = await session.execute(
        delete(LearningRow)
        .where(
            LearningRow.team_id == team_id,
            or_(LearningRow.id.in_(roots), LearningRow.canonical_id.in_(roots)),
        )
        .returning(LearningRow.id, func.coalesce(LearningRow.canonical_id, LearningRow.id))
    )
    return [(row[0], row[1]) for row in result]
