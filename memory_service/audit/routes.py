"""/v1/audit: the team's audit trail (admin scope)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from memory_service.audit import service
from memory_service.audit.schemas import AuditEventOut, AuditPage, EventFilter
from memory_service.deps import Admin, SessionDep
from memory_service.errors import BadRequest

router = APIRouter(prefix="/v1", tags=["audit"])

_MAX_EVENT_ID = 2**63 - 1  # bigint


def _before_id(cursor: str | None) -> int | None:
    """The event id a `next_cursor` names; anything else is a 400, as for /v1/handoffs."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > _MAX_EVENT_ID:
        raise BadRequest("invalid cursor; pass back `next_cursor` unchanged")
    return int(cursor)


@router.get("/audit", response_model=AuditPage)
async def audit(
    session: SessionDep,
    principal: Admin,
    action: Annotated[
        str | None, Query(max_length=100, description="e.g. handoff.create, or handoff")
    ] = None,
    key_id: Annotated[uuid.UUID | None, Query()] = None,
    target_id: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> AuditPage:
    """Writes, deletes, claims, searches and key changes of this team, newest first."""
    events = await service.list_events(
        session,
        principal,
        EventFilter(
            action=action,
            key_id=key_id,
            target_id=target_id,
            since=since,
            until=until,
            limit=limit + 1,
            before_id=_before_id(cursor),
        ),
    )
    page = events[:limit]
    return AuditPage(
        items=[AuditEventOut.model_validate(e, from_attributes=True) for e in page],
        next_cursor=str(page[-1].id) if len(events) > limit else None,
    )
