"""Teams and keys, managed over HTTP by admin keys and on the server's host by the operator
(`memory-service keys`). Every function for a key checks the caller against the rules of
`memory_service.auth.policy` first: admin actions need a key without a project limit, a key
never grants more than it holds, and only the operator team's admins manage teams or keys of
other teams. The operator's functions check nothing: whoever runs them holds the database.

Each change is written to the audit trail here, in the same transaction, whatever the entry
point."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.admin import queries
from memory_service.audit.service import OPERATOR, Actor, Operator, record
from memory_service.auth import policy
from memory_service.auth.service import IssuedKey, Principal, create_key, get_or_create_team
from memory_service.errors import Conflict, NotFound
from memory_service.models import ApiKey, Team
from memory_service.tenancy import act_as_system


async def _own_team(session: AsyncSession, principal: Principal) -> Team:
    team = await queries.team(session, principal.team_id)
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
    if await queries.team_named(session, name) is not None:
        raise Conflict(f"team `{name}` already exists")
    return await _new_team(session, principal, name)


async def _new_team(session: AsyncSession, actor: Actor, name: str) -> Team:
    team = await get_or_create_team(session, name)
    await record(
        session,
        actor,
        "team.create",
        target=("team", team.id),
        details={"name": team.name},
        # In the trail of the admin's team; the operator has none, so in the new team's.
        team_id=team.id if isinstance(actor, Operator) else None,
    )
    return team


async def list_teams(session: AsyncSession, principal: Principal, *, operator: str) -> list[Team]:
    await _require_operator(session, principal, operator)
    await act_as_system(session)
    return await queries.teams(session)


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
        other = await queries.team_named(session, team)
        if other is None:
            raise NotFound(f"no team `{team}`")
        target = other
    created = await _new_key(session, principal, target, scopes, name=name, projects=projects)
    return created.plaintext, created.key, target.name


async def _new_key(
    session: AsyncSession,
    actor: Actor,
    team: Team,
    scopes: list[str],
    *,
    name: str | None,
    projects: list[str] | None,
) -> IssuedKey:
    created = await create_key(session, team, scopes, name=name, projects=projects)
    key = created.key
    await record(
        session,
        actor,
        "key.create",
        target=("api_key", key.id),
        details={"prefix": key.prefix, "scopes": key.scopes, "team": team.name},
        team_id=key.team_id,
    )
    return created


async def list_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    policy.require_team_admin(principal)
    return await queries.keys(session, principal.team_id)


async def list_keys_page(
    session: AsyncSession, principal: Principal, *, limit: int, offset: int
) -> list[ApiKey]:
    """A page of this team's keys, active ones first (the console's list)."""
    policy.require_team_admin(principal)
    return await queries.keys_page(session, principal.team_id, limit, offset)


async def keys_named(
    session: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, ApiKey]:
    """This team's keys among `ids` (one query), by id: who did what in an audit page."""
    policy.require_team_admin(principal)
    if not ids:
        return {}
    return {k.id: k for k in await queries.keys_by_ids(session, principal.team_id, ids)}


async def _own_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    key = await queries.key(session, principal.team_id, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key


async def _revoke_and_record(session: AsyncSession, actor: Actor, key: ApiKey) -> None:
    await queries.revoke(session, key)
    await record(
        session,
        actor,
        "key.revoke",
        target=("api_key", key.id),
        details={"prefix": key.prefix},
        team_id=key.team_id,
    )


async def revoke(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """Idempotent: revoking a revoked key changes nothing (and is audited again)."""
    policy.require_team_admin(principal)
    key = await _own_key(session, principal, key_id)
    await _revoke_and_record(session, principal, key)
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
    await queries.revoke(session, old)
    # One row for the whole rotation: no key.create or key.revoke of its own.
    await record(
        session,
        principal,
        "key.rotate",
        target=("api_key", key_id),
        details={"new_key_id": str(created.key.id), "new_prefix": created.key.prefix},
    )
    return created.plaintext, created.key, team.name


# --------------------------------------------------------------------------------------------
# The operator (`memory-service keys`): every team, no key, no policy. The session must be in
# system mode (memory_service.operator_db.operator_session).
# --------------------------------------------------------------------------------------------


async def operator_new_key(
    session: AsyncSession,
    team: str,
    scopes: list[str],
    *,
    name: str | None = None,
    projects: list[str] | None = None,
) -> IssuedKey:
    """A key of team `team`, which is created if it does not exist yet."""
    target = await queries.team_named(session, team) or await _new_team(session, OPERATOR, team)
    return await _new_key(session, OPERATOR, target, scopes, name=name, projects=projects)


async def operator_list_keys(session: AsyncSession) -> list[tuple[str, ApiKey]]:
    """Every key with its team's name, by team, oldest first."""
    return await queries.keys_by_team(session)


async def operator_revoke(session: AsyncSession, prefix: str) -> ApiKey | None:
    """Revokes the active key with `prefix` (prefixes are unique); None when there is none."""
    key = await queries.active_key_for_update(session, prefix)
    if key is not None:
        await _revoke_and_record(session, OPERATOR, key)
    return key
