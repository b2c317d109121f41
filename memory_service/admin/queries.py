"""Every statement the admin package runs (the key and team rows themselves are created by
auth/service.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import ApiKey, KeyPrefix, Team


async def team(session: AsyncSession, team_id: uuid.UUID) -> Team | None:
    return await session.scalar(select(Team).where(Team.id == team_id))


async def team_named(session: AsyncSession, name: str) -> Team | None:
    """Any team by name: the caller has put the transaction in system mode."""
    return await session.scalar(select(Team).where(Team.name == name))


async def teams(session: AsyncSession) -> list[Team]:
    return list(await session.scalars(select(Team).order_by(Team.name)))


async def keys(session: AsyncSession, team_id: uuid.UUID) -> list[ApiKey]:
    return list(
        await session.scalars(
            select(ApiKey).where(ApiKey.team_id == team_id).order_by(ApiKey.created_at)
        )
    )


async def key(session: AsyncSession, team_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.team_id == team_id, ApiKey.id == key_id)
    )


async def active_key_for_update(session: AsyncSession, prefix: str) -> ApiKey | None:
    """The active key with `prefix` (prefixes are unique across teams), locked: its team from
    the directory (key_prefixes), then the key of that team."""
    team_id = await session.scalar(select(KeyPrefix.team_id).where(KeyPrefix.prefix == prefix))
    if team_id is None:
        return None
    return await session.scalar(
        select(ApiKey)
        .where(ApiKey.team_id == team_id, ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
        .with_for_update()
    )


async def keys_by_team(session: AsyncSession) -> list[tuple[str, ApiKey]]:
    """Every key with its team's name, by team, oldest first."""
    rows = await session.execute(
        select(Team.name, ApiKey)
        .join(Team, Team.id == ApiKey.team_id)
        .order_by(Team.name, ApiKey.created_at)
    )
    return [(name, key) for name, key in rows]


async def revoke(session: AsyncSession, key: ApiKey) -> None:
    """Idempotent: a revoked key keeps the time it was first revoked."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.team_id == key.team_id, ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def keys_page(
    session: AsyncSession, team_id: uuid.UUID, limit: int, offset: int
) -> list[ApiKey]:
    """A page of the team's keys: active ones first, each group newest first."""
    return list(
        await session.scalars(
            select(ApiKey)
            .where(ApiKey.team_id == team_id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id)
            .limit(limit)
            .offset(offset)
        )
    )


async def keys_by_ids(
    session: AsyncSession, team_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[ApiKey]:
    return list(
        await session.scalars(select(ApiKey).where(ApiKey.team_id == team_id, ApiKey.id.in_(ids)))
    )
