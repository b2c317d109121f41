"""Every statement the audit package runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import AuditEvent

# A Core INSERT of a statement built once, not an ORM add + flush: one is written per search
# and brief too, and the unit of work's bookkeeping cost more than the statement.
_INSERT = insert(AuditEvent.__table__)  # type: ignore[arg-type]


async def insert_event(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(_INSERT, row)


async def events(
    session: AsyncSession,
    team_id: uuid.UUID,
    *,
    action: str | None,
    key_id: uuid.UUID | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    before_id: int | None,
) -> list[AuditEvent]:
    """The team's events, newest first; `action` "handoff" matches every handoff.* action."""
    query = select(AuditEvent).where(AuditEvent.team_id == team_id)
    if action is not None:
        query = query.where(
            (AuditEvent.action == action) | AuditEvent.action.startswith(action + ".")
        )
    if key_id is not None:
        query = query.where(AuditEvent.key_id == key_id)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    query = query.order_by(AuditEvent.id.desc()).limit(limit)
    return list(await session.scalars(query))
