"""Every statement the insights package runs. Each takes the projects a key may see (None:
all of the team's); the transaction is already scoped to one team (row-level security)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import LearningRow, Project

# The most projects a project picker lists.
MAX_PROJECTS = 500


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


def _readable(slugs: Sequence[str] | None) -> str:
    return "" if slugs is None else "AND p.slug = ANY(CAST(:slugs AS text[]))"


# Learnings per week and kind since :start. Learning ids are time-ordered (ids.py) and taken
# when a learning is stored, and a learning's created_at is never more than a day ahead of
# its storage: `id >= :floor` (the first id of the day before :start) bounds the scan to the
# primary key's range of the recent rows, and the created_at test keeps it exact.
_WEEKLY = """
    SELECT date_trunc('week', l.created_at AT TIME ZONE 'UTC') AS week, l.kind, count(*) AS n
      FROM learnings l
      JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
     WHERE l.team_id = :team AND l.id >= :floor AND l.created_at >= :start {readable}
     GROUP BY 1, 2
"""


async def weekly_by_kind(
    session: AsyncSession,
    team_id: uuid.UUID,
    slugs: Sequence[str] | None,
    start: datetime,
    floor: uuid.UUID,
) -> Sequence[Row[datetime, str, int]]:
    """(week start (UTC, naive), kind, count) of the learnings written since `start`."""
    params: dict[str, object] = {"team": team_id, "floor": floor, "start": start}
    if slugs is not None:
        params["slugs"] = list(slugs)
    rows = await session.execute(text(_WEEKLY.format(readable=_readable(slugs))), params)
    return rows.all()


# The clusters of near-duplicate mistakes with the most copies the key may read: each
# cluster's root (its canonical learning), how many copies, their projects, and the copy a
# link opens (the canonical one when readable, else the oldest readable copy).
_RECURRING = """
    SELECT coalesce(l.canonical_id, l.id) AS root,
           count(*) AS n,
           array_agg(DISTINCT p.slug) AS projects,
           (array_agg(l.id ORDER BY l.canonical_id IS NOT NULL, l.created_at, l.id))[1] AS shown,
           max(l.created_at) AS last_seen
      FROM learnings l
      JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
     WHERE l.team_id = :team AND l.kind = 'mistake' {readable}
     GROUP BY 1
    HAVING count(*) > 1
     ORDER BY n DESC, last_seen DESC
     LIMIT :limit
"""


async def recurring_mistakes(
    session: AsyncSession, team_id: uuid.UUID, slugs: Sequence[str] | None, limit: int
) -> Sequence[Row[uuid.UUID, int, list[str], uuid.UUID, datetime]]:
    params: dict[str, object] = {"team": team_id, "limit": limit}
    if slugs is not None:
        params["slugs"] = list(slugs)
    rows = await session.execute(text(_RECURRING.format(readable=_readable(slugs))), params)
    return rows.all()


async def texts_of(
    session: AsyncSession, team_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(LearningRow.id, LearningRow.text).where(
            LearningRow.team_id == team_id, LearningRow.id.in_(list(ids))
        )
    )
    return {learning_id: body for learning_id, body in rows}


# Unread handoffs per worktree (the partial index of the inbox covers it).
_WAITING = """
    SELECT p.slug, h.recipient, count(*) AS n, min(h.created_at) AS oldest
      FROM handoffs h
      JOIN projects p ON p.team_id = h.team_id AND p.id = h.project_id
     WHERE h.team_id = :team AND h.status = 'unread' {readable}
     GROUP BY 1, 2
     ORDER BY oldest, 1, 2
     LIMIT :limit
"""


async def unread_per_worktree(
    session: AsyncSession, team_id: uuid.UUID, slugs: Sequence[str] | None, limit: int
) -> Sequence[Row[str, str, int, datetime]]:
    params: dict[str, object] = {"team": team_id, "limit": limit}
    if slugs is not None:
        params["slugs"] = list(slugs)
    rows = await session.execute(text(_WAITING.format(readable=_readable(slugs))), params)
    return rows.all()


async def project_slugs(session: AsyncSession, slugs: Sequence[str] | None) -> list[str]:
    """The team's projects (those `slugs` allows), by name."""
    statement = select(Project.slug).order_by(Project.slug).limit(MAX_PROJECTS)
    if slugs is not None:
        statement = statement.where(Project.slug.in_(list(slugs)))
    return list(await session.scalars(statement))
