"""The audit trail (admin keys without a project limit): who did what, newest first, with the
API's filters and its keyset pages (`before` is the last event id of the previous page)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from memory_service.admin import service as admin
from memory_service.audit import service as audit
from memory_service.audit.schemas import EventFilter
from memory_service.console.deps import Admining
from memory_service.console.rendering import render
from memory_service.deps import SessionDep
from memory_service.errors import BadRequest, InvalidInput

router = APIRouter()

PAGE_SIZE = 50
_MAX_EVENT_ID = 2**63 - 1  # bigint
# The keys offered in the "key" filter (a team with more still filters by any key's id).
_KEY_CHOICES = 200


def _moment(value: str, what: str, *, end: bool) -> datetime | None:
    """A date (`2026-12-05`, as a date input sends it) or an ISO time; naive means UTC. A
    plain date as `until` includes that whole day."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise InvalidInput(f"`{what}` must be a date (YYYY-MM-DD) or an ISO time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _key_id(value: str) -> uuid.UUID | None:
    value = value.strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("`key` must be the id of one of the team's API keys") from None


def _before(value: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > _MAX_EVENT_ID:
        raise BadRequest("invalid page position; use the page's own links")
    return int(value)


def _details(details: object) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    viewer: Admining,
    session: SessionDep,
    action: Annotated[str, Query(max_length=100)] = "",
    key: Annotated[str, Query(max_length=36)] = "",
    target: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    before: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    wanted = EventFilter(
        action=action.strip() or None,
        key_id=_key_id(key),
        target_id=target.strip() or None,
        since=_moment(since, "since", end=False),
        until=_moment(until, "until", end=True),
        limit=PAGE_SIZE + 1,
        before_id=_before(before),
    )
    events = await audit.list_events(session, viewer.principal, wanted)
    page = events[:PAGE_SIZE]
    named = await admin.keys_named(
        session, viewer.principal, sorted({e.key_id for e in page if e.key_id is not None})
    )
    choices = await admin.list_keys_page(session, viewer.principal, limit=_KEY_CHOICES, offset=0)
    filters = {"action": action, "key": key, "target": target, "since": since, "until": until}
    return render(
        request,
        "audit.html",
        {
            "events": [
                (e, named.get(e.key_id) if e.key_id else None, _details(e.details)) for e in page
            ],
            "filters": filters,
            "query": {k: v for k, v in filters.items() if v},
            "filtered": any(v.strip() for v in filters.values()),
            "keys": choices,
            "older": page[-1].id if len(events) > PAGE_SIZE else None,
            "paged": bool(before),
        },
    )
