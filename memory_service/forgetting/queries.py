"""The statements of the forgetting policy: the team's setting, the teams that have one, and
the clusters of learnings it would forget now."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import RowMapping, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import Team


async def policy(session: AsyncSession, team_id: uuid.UUID) -> Team | None:
    return await session.scalar(select(Team).where(Team.id == team_id))


async def set_policy(
    session: AsyncSession, team_id: uuid.UUID, unused: int | None, expiry: int | None
) -> None:
    await session.execute(
        update(Team)
        .where(Team.id == team_id)
        .values(forget_unused_days=unused, next_step_expiry_days=expiry)
    )


async def team_named(session: AsyncSession, name: str) -> uuid.UUID | None:
    """A team's id by name (the session is in system mode)."""
    return await session.scalar(select(Team.id).where(Team.name == name))


async def teams_with_policy(session: AsyncSession) -> list[uuid.UUID]:
    """Every team with a forgetting policy (the session is in system mode)."""
    rows = await session.scalars(
        select(Team.id).where(
            (Team.forget_unused_days.is_not(None)) | (Team.next_step_expiry_days.is_not(None))
        )
    )
    return list(rows)


async def due(
    session: AsyncSession,
    team_id: uuid.UUID,
    unused_days: int | None,
    expiry_days: int | None,
    limit: int,
) -> Sequence[RowMapping]:
    """The clusters (a canonical learning and its near-duplicates) the policy forgets now,
    least recently used first, at most `limit`: those whose every copy was last used (else
    written) more than `unused_days` ago, and next steps and status reports whose latest copy
    was written more than `expiry_days` ago. Each as its canonical learning, with its copies."""
    rows = await session.execute(
        text(
            """
            WITH clusters AS (
                SELECT coalesce(l.canonical_id, l.id) AS root, count(*) AS copies,
                       max(coalesce(l.last_used_at, l.created_at)) AS used,
                       max(l.last_used_at) AS last_used_at, max(l.created_at) AS written
                  FROM learnings l
                 WHERE l.team_id = :team
                 GROUP BY coalesce(l.canonical_id, l.id)
            )
            SELECT r.id, r.kind, left(r.text, 200) AS text, p.slug AS project, r.created_at,
                   c.last_used_at, c.copies,
                   CASE WHEN CAST(:expiry AS integer) IS NOT NULL
                             AND r.kind IN ('next_step', 'status')
                             AND c.written < now() - make_interval(days => CAST(:expiry AS integer))
                        THEN 'expired' ELSE 'unused' END AS reason
              FROM clusters c
              JOIN learnings r ON r.team_id = :team AND r.id = c.root
              JOIN projects p ON p.team_id = r.team_id AND p.id = r.project_id
             WHERE (CAST(:unused AS integer) IS NOT NULL
                    AND c.used < now() - make_interval(days => CAST(:unused AS integer)))
                OR (CAST(:expiry AS integer) IS NOT NULL AND r.kind IN ('next_step', 'status')
                    AND c.written < now() - make_interval(days => CAST(:expiry AS integer)))
             ORDER BY c.used, r.id
             LIMIT :limit
            """
        ),
        {"team": team_id, "unused": unused_days, "expiry": expiry_days, "limit": limit},
    )
    return rows.mappings().all()
