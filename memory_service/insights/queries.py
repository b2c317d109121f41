"""Every statement the insights package runs. Each takes the projects a key may see (None:
all of the team's); the transaction is already scoped to one team (row-level security)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import LearningRow, Project


async def counts_by_project_and_kind(
    session: AsyncSession, slugs: Sequence[str] | None
) -> Sequence[Row[str, str, int]]:
    """(slug, kind, count) of every project and kind with learnings."""
    statement = (
        select(Project.slug, LearningRow.kind, func.count().label("count"))
        .join(Project, Project.id == LearningRow.project_id)
        .group_by(Project.slug, LearningRow.kind)
        .order_by(Project.slug, LearningRow.kind)
    )
    if slugs is not None:
        statement = statement.where(Project.slug.in_(slugs))
    return (await session.execute(statement)).all()
