"""One learning: what it says, where it came from, its near-duplicates, what replaced it,
what people reported and its audit history; and, for keys that may write, forgetting it,
reporting it outdated or wrong, and superseding it (each through the domain service that
audits it, as the API does)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from memory_service.audit import service as audit
from memory_service.console.deps import Viewing, Writing
from memory_service.console.rendering import render
from memory_service.deps import SessionDep
from memory_service.errors import InvalidInput, NotFound
from memory_service.feedback import service as feedback
from memory_service.feedback.schemas import MAX_NOTE_CHARS, FeedbackRequest
from memory_service.learnings import service as learnings
from memory_service.vocabulary import Feedback

router = APIRouter()

_REPORTS = (Feedback.outdated, Feedback.wrong)


def _id(raw: str) -> uuid.UUID:
    """A learning's id from a URL: anything but a UUID names no learning (404)."""
    if len(raw) in (32, 36):
        try:
            return uuid.UUID(raw)
        except ValueError:
            pass
    raise NotFound("no such learning")


def _back(learning_id: uuid.UUID, done: str) -> RedirectResponse:
    return RedirectResponse(f"/console/learnings/{learning_id}?done={done}", status_code=303)


_DONE = {
    "outdated": "Reported outdated.",
    "wrong": "Reported wrong.",
    "superseded": "Marked as superseded.",
    "unsuperseded": "Supersession undone: it is current again.",
}


@router.get("/learnings/{learning_id}", response_class=HTMLResponse)
async def learning(
    request: Request, learning_id: str, viewer: Viewing, session: SessionDep, done: str = ""
) -> HTMLResponse:
    lid = _id(learning_id)
    shown = await learnings.view(session, viewer.principal, lid)
    reports = await feedback.list_reports(session, viewer.principal, str(lid))
    # The audit trail names other keys: like /v1/audit, only for an admin key without a
    # project limit (auth's policy); others see that it exists and who may read it.
    history = (
        await audit.history(
            session,
            viewer.principal,
            ("learning", lid),
            since=shown.learning.created_at - timedelta(days=1),
        )
        if viewer.unlimited_admin
        else None
    )
    return render(
        request,
        "learning.html",
        {
            "v": shown,
            "l": shown.learning,
            "reports": reports,
            "history": history,
            "done": _DONE.get(done, ""),
            "max_note": MAX_NOTE_CHARS,
            "may_write": viewer.has("write"),
        },
    )


@router.post("/learnings/{learning_id}/forget")
async def forget(learning_id: str, viewer: Writing, session: SessionDep) -> RedirectResponse:
    deleted = await learnings.forget(session, viewer.principal, _id(learning_id))
    return RedirectResponse(f"/console/forgotten?deleted={deleted}", status_code=303)


@router.get("/forgotten", response_class=HTMLResponse)
async def forgotten(
    request: Request, viewer: Viewing, deleted: Annotated[int, Query(ge=0, le=1_000_000)] = 0
) -> HTMLResponse:
    return render(request, "forgotten.html", {"deleted": deleted})


@router.post("/learnings/{learning_id}/feedback")
async def report(
    learning_id: str,
    viewer: Writing,
    session: SessionDep,
    value: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
) -> RedirectResponse:
    lid = _id(learning_id)
    if value not in _REPORTS:
        raise InvalidInput("report a learning `outdated` or `wrong`")
    body = FeedbackRequest(value=Feedback(value), note=note.strip() or None)
    await feedback.report(session, viewer.principal, str(lid), body)
    return _back(lid, value)


@router.post("/learnings/{learning_id}/supersede")
async def supersede(
    learning_id: str,
    viewer: Writing,
    session: SessionDep,
    by: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    lid = _id(learning_id)
    # Named by its full or short id, as the brief shows it; resolved among what the key reads.
    later = await feedback.resolve(session, viewer.principal, by)
    await learnings.supersede(session, viewer.principal, lid, later.id)
    return _back(lid, "superseded")


@router.post("/learnings/{learning_id}/unsupersede")
async def unsupersede(learning_id: str, viewer: Writing, session: SessionDep) -> RedirectResponse:
    lid = _id(learning_id)
    await learnings.unsupersede(session, viewer.principal, lid)
    return _back(lid, "unsuperseded")
