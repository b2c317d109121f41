"""Teams and keys, managed over HTTP by admin keys. A team's admin manages that team's keys;
only admins of the operator team (MEMORY_OPERATOR_TEAM, the one bootstrapped at first start)
create and list teams or create keys in other teams."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal, create_key, get_or_create_team
from memory_service.errors import Conflict, Forbidden, NotFound
from memory_service.models import ApiKey, Team
from memory_service.tenancy import act_as_system


async def team_name(session: AsyncSession, principal: Principal) -> str:
    name = await session.scalar(select(Team.name).where(Team.id == principal.team_id))
    return name or ""


async def require_operator(session: AsyncSession, principal: Principal, operator: str) -> None:
    if await team_name(session, principal) != operator:
        raise Forbidden(f"only admin keys of the operator team `{operator}` manage teams")


async def create_team(session: AsyncSession, name: str) -> Team:
    await act_as_system(session)
    if await session.scalar(select(Team).where(Team.name == name)) is not None:
        raise Conflict(f"team `{name}` already exists")
    return await get_or_create_team(session, name)


async def list_teams(session: AsyncSession) -> list[Team]:
    await act_as_system(session)
    return list(await session.scalars(select(Team).order_by(Team.name)))


async def new_key(
    session: AsyncSession,
    principal: Principal,
    *,
    scopes: list[str],
    name: str | None,
    projects: list[str] | None,
    team: str | None,
    operator: str,
) -> tuple[str, ApiKey, str]:
    """(plaintext, row, team name)."""
    own = await team_name(session, principal)
    if team is not None and team != own:
        await require_operator(session, principal, operator)
        await act_as_system(session)
        target = await session.scalar(select(Team).where(Team.name == team))
        if target is None:
            raise NotFound(f"no team `{team}`")
    else:
        target = await session.scalar(select(Team).where(Team.id == principal.team_id))
        assert target is not None
    created = await create_key(session, target, scopes, name=name, projects=projects)
    return created.plaintext, created.key, target.name


async def list_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    return list(
        await session.scalars(
            select(ApiKey).where(ApiKey.team_id == principal.team_id).order_by(ApiKey.created_at)
        )
    )


async def _own_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    key = await session.scalar(
        select(ApiKey).where(ApiKey.team_id == principal.team_id, ApiKey.id == key_id)
    )
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


async def revoke(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    key = await _own_key(session, principal, key_id)
    await session.execute(
        update(ApiKey)
        .where(ApiKey.team_id == key.team_id, ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return key


async def rotate(
    session: AsyncSession, principal: Principal, key_id: uuid.UUID
) -> tuple[str, ApiKey, str]:
    """A new key with the same name, scopes and projects; the old one is revoked at once."""
    old = await _own_key(session, principal, key_id)
    if old.revoked_at is not None:
        raise Conflict("this API key is revoked; create a new one instead")
    team = await session.scalar(select(Team).where(Team.id == old.team_id))
    assert team is not None
    created = await create_key(session, team, old.scopes, name=old.name, projects=old.projects)
    await revoke(session, principal, key_id)
    return created.plaintext, created.key, team.name
