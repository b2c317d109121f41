"""Every statement the console's sign-in sessions run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from memory_service.models import ConsoleSession, ConsoleToken


async def session_by_token(conn: AsyncConnection, token_hash: str) -> Row[Any] | None:
    """The live session of a token's hash with its key (migration 0011), or None."""
    return (
        await conn.execute(
            text(
                "SELECT team_id, id, key_id, prefix, scopes, projects, expires_at "
                "FROM memory_console_session(:h)"
            ),
            {"h": token_hash},
        )
    ).first()


def add_session(
    session: AsyncSession,
    team_id: uuid.UUID,
    session_id: uuid.UUID,
    key_id: uuid.UUID,
    token_hash: str,
    expires_at: datetime,
) -> None:
    """The session, and its token's entry in the directory that finds its team (0012)."""
    session.add_all(
        [
            ConsoleSession(
                team_id=team_id,
                id=session_id,
                key_id=key_id,
                token_hash=token_hash,
                expires_at=expires_at,
            ),
            ConsoleToken(token_hash=token_hash, team_id=team_id),
        ]
    )


async def _forget_tokens(session: AsyncSession, team_id: uuid.UUID, hashes: list[str]) -> None:
    if hashes:
        await session.execute(
            delete(ConsoleToken).where(
                ConsoleToken.team_id == team_id, ConsoleToken.token_hash.in_(hashes)
            )
        )


async def delete_session(session: AsyncSession, team_id: uuid.UUID, session_id: uuid.UUID) -> None:
    gone = await session.scalars(
        delete(ConsoleSession)
        .where(ConsoleSession.team_id == team_id, ConsoleSession.id == session_id)
        .returning(ConsoleSession.token_hash)
    )
    await _forget_tokens(session, team_id, list(gone))


async def delete_expired(session: AsyncSession, team_id: uuid.UUID, now: datetime) -> None:
    """The team's sessions past their expiry, and their tokens."""
    gone = await session.scalars(
        delete(ConsoleSession)
        .where(ConsoleSession.team_id == team_id, ConsoleSession.expires_at <= now)
        .returning(ConsoleSession.token_hash)
    )
    await _forget_tokens(session, team_id, list(gone))
