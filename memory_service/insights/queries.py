"""Every statement the insights package runs. Each takes the team and the projects a key may
see (None: all of the team's)."""

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
    session: AsyncSession, team_id: uuid.UUID, slugs: Sequence[str] | None
) -> Sequence[Row[str, str, int]]:
    """(slug, kind, count) of every project and kind with learnings."""
    statement = (
        select(Project.slug, LearningRow.kind, func.count().label("count"))
        .join(
            Project,
            (Project.team_id == LearningRow.team_id) & (Project.id == LearningRow.project_id),
        )
        .where(LearningRow.team_id == team_id)
        .group_by(Project.slug, LearningRow.kind)
        .order_by(Project.slug, LearningRow.kind)
    )
    if slugs is not None:
        statement = statement.where(Project.slug.in_(slugs))
    return (await session.execute(statement)).all()


def _readable(slugs: Sequence[str] | None) -> str:
    return "" if slugs is None else "AND p.slug = ANY(CAST(:slugs AS text[]))"


# Learnings per week and kind since :start: an index-only scan of
# ix_learnings_team_id_created_at (team_id, created_at) INCLUDE (kind, project_id), migration
# 0011 (at 100k learnings all in the period: ~55 ms, against ~200 ms reading the rows).
_WEEKLY = """
    SELECT date_trunc('week', l.created_at AT TIME ZONE 'UTC') AS week, l.kind, count(*) AS n
      FROM learnings l
      JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
     WHERE l.team_id = :team AND l.created_at >= :start {readable}
     GROUP BY 1, 2
"""


async def weekly_by_kind(
    session: AsyncSession, team_id: uuid.UUID, slugs: Sequence[str] | None, start: datetime
) -> Sequence[Row[datetime, str, int]]:
    """(week start (UTC, naive), kind, count) of the learnings written since `start`."""
    params: dict[str, object] = {"team": team_id, "start": start}
    if slugs is not None:
        params["slugs"] = list(slugs)
    return (await session.execute(text(_WEEKLY.format(readable=_readable(slugs))), params)).all()


# The clusters of near-duplicate mistakes with the most copies the key may read: each
# cluster's root (its canonical learning), how many copies, their projects, and the copy a
# link opens (the canonical one when readable, else the oldest readable copy). For a key
# limited to projects: the mistakes of those projects (ix_learnings_team_id_project_id_kind).
_RECURRING_LIMITED = """
    SELECT coalesce(l.canonical_id, l.id) AS root,
           count(*) AS n,
           array_agg(DISTINCT p.slug) AS projects,
           (array_agg(l.id ORDER BY l.canonical_id IS NOT NULL, l.created_at, l.id))[1] AS shown,
           max(l.created_at) AS last_seen
      FROM learnings l
      JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
     WHERE l.team_id = :team AND l.kind = 'mistake' AND p.slug = ANY(CAST(:slugs AS text[]))
     GROUP BY 1
    HAVING count(*) > 1
     ORDER BY n DESC, last_seen DESC
     LIMIT :limit
"""

# For a key that reads every project: the clusters are counted from the canonical_id index
# alone (an index-only scan, no learning's row read), the biggest mistake clusters kept, and
# only their copies read.
_RECURRING_ALL = """
    WITH dup AS (
        SELECT canonical_id AS root, count(*) AS copies
          FROM learnings
         WHERE team_id = :team AND canonical_id IS NOT NULL
         GROUP BY canonical_id
    ), top AS (
        SELECT d.root, d.copies + 1 AS n
          FROM dup d
          JOIN learnings r ON r.team_id = :team AND r.id = d.root
         WHERE r.kind = 'mistake'
         ORDER BY d.copies DESC, d.root DESC
         LIMIT :limit
    ), members AS (
        SELECT t.root, l.project_id, l.created_at
          FROM top t JOIN learnings l ON l.team_id = :team AND l.id = t.root
        UNION ALL
        SELECT t.root, l.project_id, l.created_at
          FROM top t JOIN learnings l ON l.team_id = :team AND l.canonical_id = t.root
    )
    SELECT t.root, t.n, array_agg(DISTINCT p.slug) AS projects, t.root AS shown,
           max(m.created_at) AS last_seen
      FROM top t
      JOIN members m ON m.root = t.root
      JOIN projects p ON p.team_id = :team AND p.id = m.project_id
     GROUP BY t.root, t.n
     ORDER BY t.n DESC, last_seen DESC
"""


async def recurring_mistakes(
    session: AsyncSession, team_id: uuid.UUID, slugs: Sequence[str] | None, limit: int
) -> Sequence[Row[uuid.UUID, int, list[str], uuid.UUID, datetime]]:
    params: dict[str, object] = {"team": team_id, "limit": limit}
    if slugs is None:
        return (await session.execute(text(_RECURRING_ALL), params)).all()
    params["slugs"] = list(slugs)
    return (await session.execute(text(_RECURRING_LIMITED), params)).all()


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


async def project_slugs(
    session: AsyncSession, team_id: uuid.UUID, slugs: Sequence[str] | None
) -> list[str]:
    """The team's projects (those `slugs` allows), by name."""
    statement = (
        select(Project.slug)
        .where(Project.team_id == team_id)
        .order_by(Project.slug)
        .limit(MAX_PROJECTS)
    )
    if slugs is not None:
        statement = statement.where(Project.slug.in_(list(slugs)))
    return list(await session.scalars(statement))
