"""Console sign-in: an API key is exchanged once for a random session token, which is all the
browser keeps (an `HttpOnly` cookie). Only the token's SHA-256 is stored. A session acts as its
key until it expires or the key is revoked; the CSRF token of its forms is derived from the
session token, so it needs no storage and changes with every sign-in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from memory_service.audit import service as audit
from memory_service.auth.service import Principal
from memory_service.console import queries
from memory_service.ids import new_id

COOKIE = "memory_console"
# The sign-in form's own CSRF cookie (double submit): before there is a session, it keeps
# another site from signing a browser in with the attacker's key.
SIGN_IN_COOKIE = "memory_console_signin"
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: the key the session acts as, and the session itself."""

    principal: Principal
    session_id: uuid.UUID
    csrf: str
    expires_at: datetime

    def has(self, scope: str) -> bool:
        return self.principal.has(scope)

    @property
    def unlimited_admin(self) -> bool:
        """An admin key without a project limit: the one that sees keys and the audit trail."""
        return self.principal.has("admin") and self.principal.projects is None


@dataclass(frozen=True)
class NewSession:
    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    """The CSRF token of a session's forms: known only to whoever holds the session cookie."""
    return hmac.new(token.encode(), b"memory-console-csrf", hashlib.sha256).hexdigest()


def new_form_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def well_formed(token: str) -> bool:
    return 20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()


async def sign_in(session: AsyncSession, principal: Principal, minutes: int) -> NewSession:
    """A new session for `principal` (the transaction is scoped to its team); the team's
    expired sessions are cleared on the way."""
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    expires_at = now + timedelta(minutes=minutes)
    await queries.delete_expired(session, principal.team_id, now)
    session_id = new_id()
    queries.add_session(
        session, principal.team_id, session_id, principal.key_id, token_hash(token), expires_at
    )
    await audit.record(
        session, principal, "console.sign_in", target=("console_session", session_id)
    )
    return NewSession(token=token, expires_at=expires_at)


async def viewer_of(conn: AsyncConnection, token: str) -> Viewer | None:
    """The signed-in person of a session cookie, or None (unknown, expired, key revoked)."""
    if not well_formed(token):
        return None
    row = await queries.session_by_token(conn, token_hash(token))
    if row is None:
        return None
    principal = Principal(
        team_id=row.team_id,
        key_id=row.key_id,
        prefix=row.prefix,
        scopes=frozenset(row.scopes),
        projects=tuple(row.projects) if row.projects is not None else None,
    )
    return Viewer(
        principal=principal, session_id=row.id, csrf=csrf_for(token), expires_at=row.expires_at
    )


async def sign_out(session: AsyncSession, viewer: Viewer) -> None:
    await queries.delete_session(session, viewer.principal.team_id, viewer.session_id)
    await audit.record(
        session, viewer.principal, "console.sign_out", target=("console_session", viewer.session_id)
    )
