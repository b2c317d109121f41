"""The review queue: learnings that need a person (memory_service/review/service.py says which
and why), with keep, forget and mark outdated on each (form posts: same origin, CSRF token,
write scope; each audited by the service that does it)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from memory_service.console.deps import Viewing, Writing
from memory_service.console.pages.handoffs import optional_name, path_id
from memory_service.console.rendering import render
from memory_service.deps import SessionDep
from memory_service.errors import InvalidInput
from memory_service.names import check_project_slug
from memory_service.review import service as review
from memory_service.review.schemas import STALE_STEP_DAYS, Reason, ReviewFilter

router = APIRouter()

PAGE_SIZE = 25
_MAX_FIELD = 500
Param = Annotated[str, Query(max_length=_MAX_FIELD)]
# What the page says after an action (the only values `done` may take).
DONE = {
    "kept": "Kept: it left the queue until something new puts it back.",
    "forgotten": "Forgotten, with its near-duplicates you may read.",
    "outdated": "Marked outdated (demoted in search) and taken out of the queue.",
}
REASONS = {
    Reason.flagged: ("instruction-like", "danger"),
    Reason.wrong: ("reported wrong", "danger"),
    Reason.outdated: ("reported outdated", "warn"),
    Reason.newer: ("a newer learning likely replaces it", "warn"),
    Reason.open_step: (f"next step open over {STALE_STEP_DAYS} days", "warn"),
}


def _filter(reason: str) -> ReviewFilter | None:
    if reason == "":
        return None
    try:
        return ReviewFilter(reason)
    except ValueError:
        raise InvalidInput(f"reason must be one of {', '.join(ReviewFilter)}") from None


def _back(reason: str, project: str, done: str | None = None) -> str:
    """The queue's address with its filters (checked: only known values go back)."""
    wanted = _filter(reason)
    slug = optional_name(project, check_project_slug, "project")
    query = {"reason": wanted.value if wanted else "", "project": slug or "", "done": done or ""}
    kept = {k: v for k, v in query.items() if v}
    return "/console/review" + ("?" + urlencode(kept) if kept else "")


@router.get("/review", response_class=HTMLResponse)
async def review_queue(
    request: Request,
    viewer: Viewing,
    session: SessionDep,
    reason: Param = "",
    project: Param = "",
    cursor: Param = "",
    done: Param = "",
) -> HTMLResponse:
    wanted = _filter(reason)
    slug = optional_name(project, check_project_slug, "project")
    page = await review.queue(
        session,
        viewer.principal,
        reason=wanted,
        project=slug,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    kept = {k: v for k, v in {"reason": reason, "project": project}.items() if v}
    return render(
        request,
        "review.html",
        {
            "page": page,
            "filters": {"reason": reason, "project": project},
            "choices": list(ReviewFilter),
            "reasons": REASONS,
            "stale_days": STALE_STEP_DAYS,
            "done": DONE.get(done),
            "can_write": viewer.has("write"),
            "next_url": (
                "/console/review?" + urlencode({**kept, "cursor": page.next_cursor})
                if page.next_cursor
                else None
            ),
            "first_url": ("/console/review?" + urlencode(kept)) if cursor else None,
        },
    )


Posted = Annotated[str, Form(max_length=_MAX_FIELD)]


@router.post("/review/{learning_id}/keep")
async def keep(
    learning_id: str,
    viewer: Writing,
    session: SessionDep,
    reason: Posted = "",
    project: Posted = "",
) -> RedirectResponse:
    await review.keep(session, viewer.principal, path_id(learning_id, "learning"))
    return RedirectResponse(_back(reason, project, "kept"), status_code=303)


@router.post("/review/{learning_id}/forget")
async def forget(
    learning_id: str,
    viewer: Writing,
    session: SessionDep,
    reason: Posted = "",
    project: Posted = "",
) -> RedirectResponse:
    await review.forget(session, viewer.principal, path_id(learning_id, "learning"))
    return RedirectResponse(_back(reason, project, "forgotten"), status_code=303)


@router.post("/review/{learning_id}/outdated")
async def outdated(
    learning_id: str,
    viewer: Writing,
    session: SessionDep,
    reason: Posted = "",
    project: Posted = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    await review.mark_outdated(
        session, viewer.principal, path_id(learning_id, "learning"), note.strip() or None
    )
    return RedirectResponse(_back(reason, project, "outdated"), status_code=303)
