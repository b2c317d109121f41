"""The team's API keys (admin keys without a project limit): list, create, rotate, revoke.

A new key (created or rotated) is in the body of the POST's answer only, once: never in a
redirect, a URL, the audit trail or the list (which shows prefixes). Every console response is
`no-store` (security.py), so the browser keeps no copy of that page either. Revoking or
rotating the key this session acts as ends the session (sessions.py), as revoking it through
the API does."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from memory_service.admin import service as admin
from memory_service.admin.schemas import KeyCreate
from memory_service.console.deps import AdminActing, Admining
from memory_service.console.rendering import render
from memory_service.deps import SessionDep, StateDep
from memory_service.errors import InvalidInput, NotFound

router = APIRouter()

PAGE_SIZE = 100
_MAX_OFFSET = 10_000
SCOPES = ("read", "write", "admin")
# At most 100 projects of at most a few hundred characters each (the API's KeyCreate).
_MAX_PROJECTS_CHARS = 30_000


def key_id_of(value: str) -> uuid.UUID:
    """A key id from a URL; anything malformed names no key (404, like an unknown one)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("no such API key") from None


def _request(name: str, scopes: list[str], projects: str) -> KeyCreate:
    """The form as the API's request, with the API's checks."""
    listed = [p.strip() for p in projects.replace(",", "\n").splitlines() if p.strip()]
    try:
        return KeyCreate(
            name=name.strip() or None,
            scopes=list(dict.fromkeys(scopes)),  # checked by the model
            projects=listed or None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = {"scopes": "Scopes", "name": "Name", "projects": "Projects"}.get(
            str(first["loc"][0]) if first["loc"] else "", "The form"
        )
        raise InvalidInput(f"{where}: {first['msg']}") from None


@router.get("/keys", response_class=HTMLResponse)
async def keys_page(
    request: Request,
    viewer: Admining,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=_MAX_OFFSET)] = 0,
) -> HTMLResponse:
    keys = await admin.list_keys_page(session, viewer.principal, limit=PAGE_SIZE + 1, offset=offset)
    return render(
        request,
        "keys.html",
        {
            "keys": keys[:PAGE_SIZE],
            "scopes": SCOPES,
            "newer": max(0, offset - PAGE_SIZE) if offset else None,
            "older": offset + PAGE_SIZE
            if len(keys) > PAGE_SIZE and offset + PAGE_SIZE <= _MAX_OFFSET
            else None,
        },
    )


@router.post("/keys", response_class=HTMLResponse)
async def create_key(
    request: Request,
    viewer: AdminActing,
    session: SessionDep,
    state: StateDep,
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    projects: Annotated[str, Form(max_length=_MAX_PROJECTS_CHARS)] = "",
) -> HTMLResponse:
    wanted = _request(name, scopes or [], projects)
    plaintext, key, _team = await admin.new_key(
        session,
        viewer.principal,
        scopes=list(wanted.scopes),
        name=wanted.name,
        projects=wanted.projects,
        team=None,
        operator=state.settings.operator_team,
    )
    return render(
        request,
        "key_created.html",
        {"key": key, "plaintext": plaintext, "rotated": None, "own": False},
    )


@router.post("/keys/{key_id}/rotate", response_class=HTMLResponse)
async def rotate_key(
    request: Request, key_id: str, viewer: AdminActing, session: SessionDep
) -> HTMLResponse:
    old = key_id_of(key_id)
    plaintext, key, _team = await admin.rotate(session, viewer.principal, old)
    return render(
        request,
        "key_created.html",
        {
            "key": key,
            "plaintext": plaintext,
            "rotated": old,
            "own": old == viewer.principal.key_id,
        },
    )


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: str, viewer: AdminActing, session: SessionDep) -> Response:
    await admin.revoke(session, viewer.principal, key_id_of(key_id))
    # Revoking the session's own key signs it out: the next page says so.
    return RedirectResponse("/console/keys", status_code=303)
