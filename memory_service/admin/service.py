"""Teams and keys, managed over HTTP by admin keys. Every function checks the caller against
the rules of `memory_service.auth.policy` first: admin actions need a key without a project
limit, a key never grants more than it holds, and only the operator team's admins manage
teams or keys of other teams."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth import policy
from memory_service.auth.service import Principal, create_key, get_or_create_team
from memory_service.errors import Conflict, NotFound
from memory_service.models import ApiKey, Team
from memory_service.tenancy import act_as_system


async def _own_team(session: AsyncSession, principal: Principal) -> Team:
    team = await session.scalar(select(Team).where(Team.id == principal.team_id))
    assert team is not None  # the key was just authenticated, its team exists
    return team


async def _require_operator(session: AsyncSession, principal: Principal, operator: str) -> None:
    policy.require_team_admin(principal)  # before any query: a lesser key learns nothing
    policy.require_operator(principal, (await _own_team(session, principal)).name, operator)


async def create_team(
    session: AsyncSession, principal: Principal, name: str, *, operator: str
) -> Team:
    await _require_operator(session, principal, operator)
    await act_as_system(session)
    if await session.scalar(select(Team).where(Team.name == name)) is not None:
        raise Conflict(f"team `{name}` already exists")
    return await get_or_create_team(session, name)


async def list_teams(session: AsyncSession, principal: Principal, *, operator: str) -> list[Team]:
    await _require_operator(session, principal, operator)
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
    policy.require_team_admin(principal)
    policy.ensure_may_grant(principal, scopes, projects)
    target = await _own_team(session, principal)
    if team is not None and team != target.name:
        policy.require_operator(principal, target.name, operator)
        await act_as_system(session)
        other = await session.scalar(select(Team).where(Team.name == team))
        if other is None:
            raise NotFound(f"no team `{team}`")
        target = other
    created = await create_key(session, target, scopes, name=name, projects=projects)
    return created.plaintext, created.key, target.name


async def list_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    policy.require_team_admin(principal)
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
    policy.require_team_admin(principal)
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
    """A new key with the same name, scopes and projects; the old one is revoked at once. The
    caller takes the new key's plaintext, so it must hold everything the key grants."""
    policy.require_team_admin(principal)
    old = await _own_key(session, principal, key_id)
    if old.revoked_at is not None:
        raise Conflict("this API key is revoked; create a new one instead")
    policy.ensure_may_grant(principal, old.scopes, old.projects)
    team = await _own_team(session, principal)
    created = await create_key(session, team, old.scopes, name=old.name, projects=old.projects)
    await revoke(session, principal, key_id)
    return created.plaintext, created.key, team.name
