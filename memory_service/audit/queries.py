"""Every statement the audit package runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.schemas import EventFilter
from memory_service.models import AuditEvent

# A Core INSERT of a statement built once, not an ORM add + flush: one is written per search
# and brief too, and the unit of work's bookkeeping cost more than the statement.
_INSERT = insert(AuditEvent.__table__)  # type: ignore[arg-type]


async def insert_event(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(_INSERT, row)


async def events(
    session: AsyncSession, team_id: uuid.UUID, wanted: EventFilter
) -> list[AuditEvent]:
    """The team's events, newest first."""
    query = select(AuditEvent).where(AuditEvent.team_id == team_id)
    if wanted.action is not None:
        query = query.where(
            (AuditEvent.action == wanted.action) | AuditEvent.action.startswith(wanted.action + ".")
        )
    if wanted.key_id is not None:
        query = query.where(AuditEvent.key_id == wanted.key_id)
    if wanted.target_id is not None:
        query = query.where(AuditEvent.target_id == wanted.target_id)
    if wanted.since is not None:
        query = query.where(AuditEvent.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEvent.created_at < wanted.until)
    if wanted.before_id is not None:
        query = query.where(AuditEvent.id < wanted.before_id)
    query = query.order_by(AuditEvent.id.desc()).limit(wanted.limit)
    return list(await session.scalars(query))


async def events_about(
    session: AsyncSession,
    team_id: uuid.UUID,
    target_type: str,
    target_id: str,
    since: datetime,
    limit: int,
) -> list[AuditEvent]:
    """Events about one target since `since`, newest first (ix_audit_events_team_id_target_id,
    migration 0011)."""
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.team_id == team_id,
            AuditEvent.created_at >= since,
            AuditEvent.target_type == target_type,
            AuditEvent.target_id == target_id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))
