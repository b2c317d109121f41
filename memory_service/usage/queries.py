"""The one statement of use counting: a team's buffered uses added in one UPDATE."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def add_uses(
    session: AsyncSession,
    team_id: uuid.UUID,
    counts: list[tuple[uuid.UUID, int, datetime]],
) -> int:
    """Adds each (learning, uses, last used) to the team's learnings, in id order (two flushes
    lock rows in the same order); learnings forgotten meanwhile are skipped. How many rows
    were updated."""
    ordered = sorted(counts)
    result = await session.execute(
        text(
            """
            UPDATE learnings l
               SET uses = l.uses + u.n,
                   last_used_at = greatest(l.last_used_at, u.at)
              FROM unnest(CAST(:ids AS uuid[]), CAST(:ns AS integer[]),
                          CAST(:ats AS timestamptz[])) AS u(id, n, at)
             WHERE l.team_id = :team AND l.id = u.id
            """
        ),
        {
            "team": team_id,
            "ids": [c[0] for c in ordered],
            "ns": [c[1] for c in ordered],
            "ats": [c[2] for c in ordered],
        },
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
