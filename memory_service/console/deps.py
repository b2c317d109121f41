"""The console's dependencies: who is signed in, what they may do, and the checks every form
post passes (same origin, CSRF token, scope). A page declares one of the `Annotated` aliases:
`Viewing` (any signed-in key), `Admining` (an admin key without a project limit), and for
forms `Acting`, `Writing`, `AdminActing`."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.console.errors import SessionEnded, SignInRequired
from memory_service.console.sessions import COOKIE, Viewer, viewer_of
from memory_service.db import transaction
from memory_service.deps import SessionDep, StateDep
from memory_service.errors import Forbidden, RateLimited, UriTooLong
from memory_service.tenancy import scope_to_team

# The longest query string a page reads (a search query is at most MEMORY_MAX_QUERY_CHARS).
MAX_QUERY_STRING = 4096


def check_query_string(request: Request) -> None:
    if len(request.scope.get("query_string", b"")) > MAX_QUERY_STRING:
        raise UriTooLong(f"the query string is over {MAX_QUERY_STRING} bytes")


async def get_viewer(request: Request, session: SessionDep, state: StateDep) -> Viewer:
    """The signed-in person of the session cookie; the request's transaction acts for its
    team (row-level security), exactly as with the key itself."""
    check_query_string(request)
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired("sign in to use the console")
    assert state.engine is not None
    async with state.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        viewer = await viewer_of(conn, token)
    if viewer is None:
        raise SessionEnded(
            "your console session has ended: it expired, was signed out, or its API key was "
            "revoked. Sign in again."
        )
    wait = state.limiter.hit(viewer.principal.key_id)
    if wait is not None:
        retry = state.limiter.retry_after(wait)
        raise RateLimited(
            f"more than {state.limiter.per_minute} requests a minute with this API key; "
            f"retry in {retry} s",
            headers={"Retry-After": retry},
        )
    scope_to_team(session, viewer.principal.team_id)
    request.state.viewer = viewer
    request.state.principal = viewer.principal
    return viewer


def _require(viewer: Viewer, scope: str) -> None:
    if scope == "admin" and not viewer.unlimited_admin:
        raise Forbidden("this page needs an admin API key without a project limit")
    if not viewer.has(scope):
        raise Forbidden(f"the API key of this session lacks the `{scope}` scope")


def same_origin(request: Request) -> bool:
    """A form post from one of the console's own pages. Browsers send `Sec-Fetch-Site` with
    every request (authoritative when present), and `Origin` with every POST; a value naming
    another site, or an opaque origin, is refused. A client sending neither (not a browser)
    still needs the CSRF token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", "")


async def posted_token(request: Request) -> str:
    form = await request.form()
    value = form.get("csrf")
    return value if isinstance(value, str) else ""


def viewing(scope: str) -> Callable[[Viewer], Awaitable[Viewer]]:
    async def check(viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
        _require(viewer, scope)
        return viewer

    return check


def acting(scope: str) -> Callable[[Request, Viewer], Awaitable[Viewer]]:
    """A form post: same origin, the session's CSRF token, then the scope."""

    async def check(request: Request, viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
        if not same_origin(request):
            raise Forbidden("form posted from another site; nothing was changed")
        if not hmac.compare_digest(await posted_token(request), viewer.csrf):
            raise Forbidden(
                "the form's CSRF token is missing or wrong (reload the page and try again); "
                "nothing was changed"
            )
        _require(viewer, scope)
        return viewer

    return check


Viewing = Annotated[Viewer, Depends(viewing("read"))]
Admining = Annotated[Viewer, Depends(viewing("admin"))]
Acting = Annotated[Viewer, Depends(acting("read"))]
Writing = Annotated[Viewer, Depends(acting("write"))]
AdminActing = Annotated[Viewer, Depends(acting("admin"))]


async def get_read_session(
    state: StateDep, viewer: Viewing, primary: SessionDep
) -> AsyncIterator[AsyncSession]:
    """Read-only work (search) on the read replica when there is one, as the API does
    (deps.get_read_session), for the signed-in viewer's team."""
    if state.read_engine is None or state.read_sessions is None:
        yield primary
        return
    async for session in transaction(state.read_sessions):
        scope_to_team(session, viewer.principal.team_id)
        yield session


ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
