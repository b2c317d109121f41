"""Teams and API keys: creation, authentication and the first-start bootstrap."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from memory_service.auth import queries
from memory_service.auth.keys import generate_key, hash_key, parse_scopes, split_prefix
from memory_service.ids import new_id
from memory_service.models import ApiKey, KeyPrefix, Team
from memory_service.tenancy import act_as_system

DEFAULT_TEAM = "default"
# last_used_at is refreshed at most this often, so busy keys don't turn one row into a hot spot.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_BOOTSTRAP_LOCK = 0x6D656D31


@dataclass(frozen=True)
class Principal:
    """Who is calling: one key of one team."""

    team_id: uuid.UUID
    key_id: uuid.UUID
    prefix: str
    scopes: frozenset[str]
    # None: every project of the team.
    projects: tuple[str, ...] | None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def may_access(self, slug: str) -> bool:
        """The one per-project access rule: a key limited to projects acts only on those.
        Whether a refusal is a 403 or a 404 (hiding that the thing exists) is the caller's."""
        return self.projects is None or slug in self.projects


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plaintext: str


async def get_or_create_team(session: AsyncSession, name: str) -> Team:
    """Finds a team by name across all teams: an operator action (CLI, bootstrap, admin of the
    operator team). It leaves the transaction in system mode."""
    await act_as_system(session)
    team = await queries.team_named(session, name)
    if team is None:
        team = Team(id=new_id(), name=name)
        session.add(team)
        await session.flush()
    return team


async def create_key(
    session: AsyncSession,
    team: Team,
    scopes: str | list[str],
    *,
    name: str | None = None,
    projects: list[str] | None = None,
) -> IssuedKey:
    new = generate_key()
    key = ApiKey(
        team_id=team.id,
        id=new_id(),
        name=name,
        prefix=new.prefix,
        key_hash=new.key_hash,
        scopes=parse_scopes(scopes),
        projects=projects,
    )
    # The directory that finds the key's team from its prefix (migration 0012).
    session.add_all([key, KeyPrefix(prefix=new.prefix, team_id=team.id)])
    await session.flush()
    return IssuedKey(key=key, plaintext=new.plaintext)


async def authenticate(conn: AsyncConnection, plaintext: str) -> Principal | None:
    """The principal of a presented key, or None for an unknown, wrong or revoked key. One
    statement (migration 0005), meant for a connection in autocommit mode: the lookup, the
    hash check and the `last_used_at` refresh happen in it together."""
    prefix = split_prefix(plaintext)
    if prefix is None:
        return None
    row = await queries.authenticate(conn, prefix, hash_key(plaintext), _LAST_USED_RESOLUTION)
    if row is None:
        return None
    return Principal(
        team_id=row.team_id,
        key_id=row.id,
        prefix=prefix,
        scopes=frozenset(row.scopes),
        projects=tuple(row.projects) if row.projects is not None else None,
    )


async def bootstrap_admin_key(session: AsyncSession) -> IssuedKey | None:
    """On an empty database: team `default` and its first admin key. Concurrent first starts
    (several replicas) serialise on an advisory lock, so exactly one of them creates it."""
    await act_as_system(session)
    await queries.lock(session, _BOOTSTRAP_LOCK)
    if await queries.any_team(session):
        return None
    team = await get_or_create_team(session, DEFAULT_TEAM)
    return await create_key(session, team, ["read", "write", "admin"], name="bootstrap admin")
