"""FastAPI dependencies, as `Annotated` aliases the endpoints declare."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal, authenticate
from memory_service.db import transaction
from memory_service.embeddings import Embedder
from memory_service.errors import Forbidden, RateLimited, ServiceUnavailable, Unauthorized
from memory_service.state import AppState
from memory_service.tenancy import scope_to_team

_BEARER = {"WWW-Authenticate": "Bearer"}

# Declares the scheme in the OpenAPI document (the Authorize button of /docs) and nothing
# more: `auto_error=False` leaves every refusal to `get_principal`, so a missing or malformed
# key gets the error envelope like any other error.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key of this service (`memory-service keys create`, or the admin key "
    "saved on first start), sent as `Authorization: Bearer <key>`",
)


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def` one in
# its thread pool, a thread hop (and a turn on the GIL) per dependency per request.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.memory
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    if state.sessions is None:
        raise ServiceUnavailable("the database is not ready yet")
    async for session in transaction(state.sessions):
        yield session


# scope="function": the transaction commits before the response leaves, so a client never
# sees a 2xx for something that then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_embedder(state: StateDep) -> Embedder:
    return state.embedder


EmbedderDep = Annotated[Embedder, Depends(get_embedder)]


async def get_principal(
    request: Request,
    session: SessionDep,
    state: StateDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("missing API key: send `Authorization: Bearer <key>`", headers=_BEARER)
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("malformed Authorization header: use `Bearer <key>`", headers=_BEARER)
    assert state.engine is not None
    # The key is checked in one autocommit statement of its own; the request's transaction
    # then starts (and takes a pooled connection) only at its first statement, already scoped
    # to the key's team. A write therefore holds no connection while its text is embedded.
    async with state.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        principal = await authenticate(conn, token.strip())
    if principal is None:
        raise Unauthorized("invalid or revoked API key", headers=_BEARER)
    wait = state.limiter.hit(principal.key_id)
    if wait is not None:
        retry = state.limiter.retry_after(wait)
        raise RateLimited(
            f"more than {state.limiter.per_minute} requests a minute with this API key; "
            f"retry in {retry} s",
            headers={"Retry-After": retry},
            details={"limit_per_minute": state.limiter.per_minute},
        )
    scope_to_team(session, principal.team_id)
    request.state.principal = principal
    return principal


def require(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.has(scope):
            raise Forbidden(f"this API key lacks the `{scope}` scope", details={"scope": scope})
        return principal

    return check


Reader = Annotated[Principal, Depends(require("read"))]


async def get_read_session(
    state: StateDep, principal: Reader, primary: SessionDep
) -> AsyncIterator[AsyncSession]:
    if state.read_engine is None or state.read_sessions is None:
        # No replica: the request's own transaction, not a second connection.
        yield primary
        return
    async for session in transaction(state.read_sessions):
        scope_to_team(session, principal.team_id)
        yield session


# Read-only work (search) on the read replica (MEMORY_DATABASE_READ_URL), else the primary.
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
Writer = Annotated[Principal, Depends(require("write"))]
Admin = Annotated[Principal, Depends(require("admin"))]
