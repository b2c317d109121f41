"""Every statement the console's sign-in sessions run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from memory_service.models import ConsoleSession


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
    session.add(
        ConsoleSession(
            team_id=team_id,
            id=session_id,
            key_id=key_id,
            token_hash=token_hash,
            expires_at=expires_at,
        )
    )


async def delete_session(session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id == session_id))


async def delete_expired(session: AsyncSession, now: datetime) -> None:
    """The team's sessions past their expiry (the transaction is scoped to one team)."""
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
