"""Sign-in and sign-out. The key is posted once, in a form body (never a URL), exchanged for a
session, and never shown, logged or kept by the browser; the form itself is protected by a
double-submit token, so no other site can sign a browser in with its own key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from memory_service.auth.service import authenticate
from memory_service.console import sessions
from memory_service.console.deps import Acting, check_query_string, same_origin
from memory_service.console.rendering import render
from memory_service.console.sessions import COOKIE, SIGN_IN_COOKIE
from memory_service.deps import SessionDep, StateDep
from memory_service.errors import Forbidden
from memory_service.tenancy import scope_to_team

router = APIRouter()

_PATH = "/console"
# The sign-in form's token lives as long as a person may take to paste a key.
_FORM_SECONDS = 3600
# Longer than any key we issue (mem_ + 8 + _ + 43) with room; anything longer is not a key.
_MAX_KEY_CHARS = 200


def _secure(request: Request, state: StateDep) -> bool:
    forced = state.settings.console_secure_cookie
    return forced if forced is not None else request.url.scheme == "https"


def _form(request: Request, state: StateDep, *, status: int = 200, error: str = "") -> Response:
    token = sessions.new_form_token()
    response = render(request, "signin.html", {"form_token": token, "error": error}, status=status)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=_FORM_SECONDS,
        path=_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request, state),
    )
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, state: StateDep) -> Response:
    check_query_string(request)
    return _form(request, state)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    state: StateDep,
    session: SessionDep,
    key: Annotated[str, Form(max_length=_MAX_KEY_CHARS)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_query_string(request)
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not same_origin(request) or not expected or not hmac.compare_digest(csrf, expected):
        raise Forbidden(
            "the sign-in form expired or was posted from another site; open the sign-in page again"
        )
    assert state.engine is not None
    async with state.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        principal = await authenticate(conn, key.strip()) if key.strip() else None
    if principal is None:
        return _form(request, state, status=401, error="That API key is unknown or revoked.")
    if not principal.has("read"):
        return _form(
            request,
            state,
            status=403,
            error="That API key lacks the `read` scope the console needs.",
        )
    scope_to_team(session, principal.team_id)
    new = await sessions.sign_in(session, principal, state.settings.console_session_minutes)
    response = RedirectResponse(_PATH, status_code=303)
    response.set_cookie(
        COOKIE,
        new.token,
        max_age=state.settings.console_session_minutes * 60,
        path=_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request, state),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=_PATH)
    return response


@router.post("/sign-out")
async def sign_out(viewer: Acting, session: SessionDep) -> Response:
    await sessions.sign_out(session, viewer)
    response = RedirectResponse(_PATH + "/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=_PATH)
    return response
