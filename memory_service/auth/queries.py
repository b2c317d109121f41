"""Every statement the auth package runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from memory_service.models import Team


async def team_named(session: AsyncSession, name: str) -> Team | None:
    return await session.scalar(select(Team).where(Team.name == name))


async def any_team(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Team)))


async def lock(session: AsyncSession, key: int) -> None:
    """An advisory lock on `key` until the transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def authenticate(
    conn: AsyncConnection, prefix: str, key_hash: str, resolution: timedelta
) -> Row[Any] | None:
    """The key's row (team_id, id, scopes, projects), or None. One statement (migration 0005):
    the lookup, the hash check and the `last_used_at` refresh happen in it together."""
    return (
        await conn.execute(
            text("SELECT team_id, id, scopes, projects FROM memory_authenticate(:p, :h, :r)"),
            {"p": prefix, "h": key_hash, "r": resolution},
        )
    ).first()
