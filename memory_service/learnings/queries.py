"""The statements of reading and forgetting single learnings (near-duplicate linking has its
own: duplicates.py; re-embedding: reembed.py)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, or_, select, text
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


async def citations_of(
    session: AsyncSession, team_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The citations of learnings `ids` (those with any)."""
    rows = await session.execute(
        select(LearningRow.id, LearningRow.citations).where(
            LearningRow.team_id == team_id,
            LearningRow.id.in_(ids),
            LearningRow.citations != text("'[]'::jsonb"),
        )
    )
    return {learning_id: list(citations) for learning_id, citations in rows}


# The learnings a cited-paths listing reads at most (newest first): bounds its cost on a big
# project; older citations come back only when fewer paths fill the listing.
CITED_PATHS_SCAN = 5000

_CITED_PATHS = text(
    """
    SELECT c.value->>'path' AS path, max(l.created_at) AS latest
    FROM (
        SELECT l.created_at, l.citations
        FROM learnings l
        JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
        WHERE l.team_id = :team_id AND p.slug = :project AND l.citations <> '[]'::jsonb
        ORDER BY l.created_at DESC
        LIMIT :scan
    ) l, jsonb_array_elements(l.citations) c
    WHERE c.value->>'blob' IS NOT NULL
    GROUP BY 1
    ORDER BY 2 DESC, 1
    LIMIT :limit
    """
)


async def cited_paths(
    session: AsyncSession, team_id: uuid.UUID, project: str, limit: int
) -> list[str]:
    """Paths the project's learnings cite with a blob id, most recently cited first."""
    rows = await session.execute(
        _CITED_PATHS,
        {"team_id": team_id, "project": project, "scan": CITED_PATHS_SCAN, "limit": limit},
    )
    return [path for path, _ in rows]
