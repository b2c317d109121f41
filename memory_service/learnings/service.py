"""Reading and forgetting single learnings."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal
from memory_service.errors import NotFound
from memory_service.models import Learning, Project
from memory_service.recall.schemas import Learning as LearningOut


async def _find(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> tuple[Learning, str]:
    row = (
        await session.execute(
            select(Learning, Project.slug)
            .join(
                Project,
                (Project.team_id == Learning.team_id) & (Project.id == Learning.project_id),
            )
            .where(Learning.team_id == principal.team_id, Learning.id == learning_id)
        )
    ).first()
    # A key limited to other projects learns nothing, not even that the learning exists.
    if row is None or (principal.projects is not None and row[1] not in principal.projects):
        raise NotFound(f"no learning {learning_id}")
    return row[0], row[1]


async def get_learning(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> LearningOut:
    learning, slug = await _find(session, principal, learning_id)
    return LearningOut(
        id=learning.id,
        kind=learning.kind,
        text=learning.text,
        section=learning.section,
        project=slug,
        handoff_id=learning.handoff_id,
        created_at=learning.created_at,
        occurrences=learning.occurrences,
        canonical_id=learning.canonical_id,
        embedding_model=learning.embedding_model,
    )


async def forget(session: AsyncSession, principal: Principal, learning_id: uuid.UUID) -> int:
    """Deletes the learning together with its near-duplicates: forgetting a piece of knowledge
    must not let a copy of it take its place in search. Returns how many rows went."""
    learning, _ = await _find(session, principal, learning_id)
    root = learning.canonical_id or learning.id
    result = await session.execute(
        delete(Learning).where(
            Learning.team_id == principal.team_id,
            or_(Learning.id == root, Learning.canonical_id == root),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
