"""The handoffs: a filterable list (project, recipient, status, date written), newest first in
keyset pages like `GET /v1/handoffs`, and one handoff's page: its markdown rendered inert, its
sentinel, front matter, files, commands, learnings by kind, and its delivery (unread, or
claimed by which session when, with the drift recorded at the claim)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from memory_service.console.deps import Viewing
from memory_service.console.rendering import render
from memory_service.deps import SessionDep
from memory_service.errors import InvalidInput, NotFound
from memory_service.handoffs import service as handoffs
from memory_service.inbox import service as inbox
from memory_service.names import check_project_slug, check_worktree
from memory_service.vocabulary import HandoffStatus, Kind

router = APIRouter()

PAGE_SIZE = 50
# Enough for any slug, worktree name or cursor the service writes; longer is a 422 page.
_MAX_FIELD = 500
Param = Annotated[str, Query(max_length=_MAX_FIELD)]
# Dates a handoff can have (the service refuses others when written).
_FIRST_YEAR, _LAST_YEAR = 1970, 2200
# How much of a body the list reads for a title when the handoff has no topic or name.
_TITLE_SCAN = 4000


def optional_name(value: str, check: Any, what: str) -> str | None:
    if value == "":
        return None
    try:
        checked: str = check(value)
    except ValueError as exc:
        raise InvalidInput(f"{what}: {exc}") from None
    return checked


def _day(value: str, what: str) -> date | None:
    if value == "":
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2026-01-31") from None
    if not _FIRST_YEAR <= parsed.year <= _LAST_YEAR:
        raise InvalidInput(f"{what} must be between {_FIRST_YEAR} and {_LAST_YEAR}")
    return parsed


def _start(day_: date) -> datetime:
    return datetime.combine(day_, time(), tzinfo=UTC)


def title_of(topic: str | None, front_matter: dict[str, Any], body: str, sentinel: str) -> str:
    """A handoff's title for a list: its topic, its front matter's name, the first heading of
    its body, else its sentinel (never the whole body parsed: a list shows fifty)."""
    name = front_matter.get("name")
    for candidate in (topic, name if isinstance(name, str) else None):
        if candidate and candidate.strip():
            return candidate.strip()[:200]
    for line in body[:_TITLE_SCAN].splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
            if heading:
                return heading[:200]
    return sentinel


@router.get("/handoffs", response_class=HTMLResponse)
async def handoff_list(
    request: Request,
    viewer: Viewing,
    session: SessionDep,
    project: Param = "",
    recipient: Param = "",
    status: Param = "",
    since: Param = "",
    until: Param = "",
    cursor: Param = "",
) -> HTMLResponse:
    slug = optional_name(project, check_project_slug, "project")
    worktree = optional_name(recipient, check_worktree, "recipient")
    if status not in ("", *HandoffStatus):
        raise InvalidInput(f"status must be one of {', '.join(HandoffStatus)}")
    first, last = _day(since, "from"), _day(until, "to")
    if first is not None and last is not None and first > last:
        raise InvalidInput("the date range ends before it starts")
    rows, next_cursor = await handoffs.list_handoffs(
        session,
        viewer.principal,
        project=slug,
        recipient=worktree,
        status=status or None,
        limit=PAGE_SIZE,
        cursor=cursor or None,
        since=_start(first) if first is not None else None,
        until=_start(last + timedelta(days=1)) if last is not None else None,
    )
    counts = await handoffs.learning_counts(session, viewer.principal, [h.id for h, _ in rows])
    filters = {
        "project": project,
        "recipient": recipient,
        "status": status,
        "since": since,
        "until": until,
    }
    kept = {k: v for k, v in filters.items() if v}
    items = [
        {
            "row": h,
            "project": slug_,
            "title": title_of(h.topic, h.front_matter, h.body, h.sentinel),
            "learnings": counts.get(h.id, 0),
            "drift": (
                inbox.drift(h, h.claim_branch, h.claim_head)
                if h.status == HandoffStatus.read
                else None
            ),
        }
        for h, slug_ in rows
    ]
    return render(
        request,
        "handoffs.html",
        {
            "items": items,
            "filters": filters,
            "statuses": list(HandoffStatus),
            "next_url": (
                "/console/handoffs?" + urlencode({**kept, "cursor": next_cursor})
                if next_cursor
                else None
            ),
            "first_url": ("/console/handoffs?" + urlencode(kept)) if cursor else None,
        },
    )


def path_id(value: str, what: str) -> uuid.UUID:
    """An id from a URL; anything else is a 404 page, like an unknown id."""
    try:
        if len(value) > 40:
            raise ValueError(value)
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}") from None


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
async def handoff_page(
    request: Request, handoff_id: str, viewer: Viewing, session: SessionDep
) -> HTMLResponse:
    try:
        stored = await handoffs.get_handoff(
            session, viewer.principal, path_id(handoff_id, "handoff")
        )
    except NotFound:
        # The page does not repeat the id it was asked for: a 404 is the same for every id.
        raise NotFound("no such handoff (or not one this key may see)") from None
    row = stored.handoff
    claimed = row.status == HandoffStatus.read
    drift = inbox.drift(row, row.claim_branch, row.claim_head) if claimed else None
    delivered = inbox.delivery(row, stored.project, drift)
    by_kind = {
        kind: [x for x in stored.learnings if x.kind == kind]
        for kind in Kind
        if any(x.kind == kind for x in stored.learnings)
    }
    return render(
        request,
        "handoff.html",
        {
            "h": row,
            "project": stored.project,
            "title": title_of(row.topic, row.front_matter, row.body, row.sentinel),
            "claimed": claimed,
            "drift": drift,
            "delivery": delivered,
            "front_matter": [(str(k), _shown(v)) for k, v in row.front_matter.items()],
            "by_kind": by_kind,
            "learning_count": len(stored.learnings),
            "skills": stored.skills,
            "content": handoffs.without_front_matter(row.body),
        },
    )


def _shown(value: Any) -> str:
    """A front matter value as text (the template escapes it)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_shown(x) for x in value)
    return "—" if value is None else str(value)
