"""Every statement the inbox package runs."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import HandoffRow
from memory_service.vocabulary import HandoffStatus

_CLAIM = text(
    """
    UPDATE handoffs AS h
       SET status = 'read', claimed_at = now(), claimed_by = :claimer,
           claim_branch = :branch, claim_head = :head
      FROM (SELECT team_id, id FROM handoffs
             WHERE team_id = :team AND project_id = :project
               AND recipient = :worktree AND status = 'unread'
             ORDER BY created_at, id
             FOR UPDATE SKIP LOCKED) AS picked
     WHERE h.team_id = :team AND h.id = picked.id
    RETURNING h.id
    """
)


async def unread(
    session: AsyncSession, team_id: uuid.UUID, project_id: uuid.UUID, worktree: str
) -> list[HandoffRow]:
    """The worktree's unread handoffs, oldest first."""
    return list(
        await session.scalars(
            select(HandoffRow)
            .where(
                HandoffRow.team_id == team_id,
                HandoffRow.project_id == project_id,
                HandoffRow.recipient == worktree,
                HandoffRow.status == HandoffStatus.unread,
            )
            .order_by(HandoffRow.created_at, HandoffRow.id)
        )
    )


async def mark_read(
    session: AsyncSession,
    team_id: uuid.UUID,
    project_id: uuid.UUID,
    worktree: str,
    *,
    claimer: str,
    branch: str | None,
    head: str | None,
) -> list[HandoffRow]:
    """Marks the worktree's unread handoffs read and returns them, oldest first. FOR UPDATE
    SKIP LOCKED makes concurrent claims (from any number of server processes) take disjoint
    sets: a handoff another claim is taking is skipped, never delivered twice."""
    result = await session.execute(
        _CLAIM,
        {
            "claimer": claimer,
            "branch": branch,
            "head": head,
            "team": team_id,
            "project": project_id,
            "worktree": worktree,
        },
    )
    ids: list[uuid.UUID] = [row[0] for row in result]
    if not ids:
        return []
    return list(
        await session.scalars(
            select(HandoffRow)
            .where(HandoffRow.team_id == team_id, HandoffRow.id.in_(ids))
            .order_by(HandoffRow.created_at, HandoffRow.id)
            .execution_options(populate_existing=True)
        )
    )
