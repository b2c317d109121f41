"""Teams and API keys: creation, authentication and the first-start bootstrap."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.keys import generate_key, matches, parse_scopes, split_prefix
from memory_service.ids import new_id
from memory_service.models import ApiKey, Team
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


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    plaintext: str


async def get_or_create_team(session: AsyncSession, name: str) -> Team:
    """Finds a team by name across all teams: an operator action (CLI, bootstrap, admin of the
    operator team). It leaves the transaction in system mode."""
    await act_as_system(session)
    team = await session.scalar(select(Team).where(Team.name == name))
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
) -> CreatedKey:
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
    session.add(key)
    await session.flush()
    return CreatedKey(key=key, plaintext=new.plaintext)


async def authenticate(session: AsyncSession, plaintext: str) -> Principal | None:
    """The principal of a presented key, or None for an unknown, wrong or revoked key."""
    prefix = split_prefix(plaintext)
    if prefix is None:
        return None
    # The key decides the team, so finding it is the one lookup made across teams.
    await act_as_system(session)
    key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not matches(plaintext, key.key_hash):
        return None
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        # SKIP LOCKED: a concurrent request of the same key already refreshes it; never wait.
        await session.execute(
            text(
                "UPDATE api_keys SET last_used_at = now() WHERE (team_id, id) IN "
                "(SELECT team_id, id FROM api_keys WHERE team_id = :t AND id = :i "
                "FOR UPDATE SKIP LOCKED)"
            ),
            {"t": key.team_id, "i": key.id},
        )
    return Principal(
        team_id=key.team_id,
        key_id=key.id,
        prefix=key.prefix,
        scopes=frozenset(key.scopes),
        projects=tuple(key.projects) if key.projects is not None else None,
    )


async def bootstrap_admin_key(session: AsyncSession) -> CreatedKey | None:
    """On an empty database: team `default` and its first admin key. Concurrent first starts
    (several replicas) serialise on an advisory lock, so exactly one of them creates it."""
    await act_as_system(session)
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _BOOTSTRAP_LOCK})
    if await session.scalar(select(func.count()).select_from(Team)):
        return None
    team = await get_or_create_team(session, DEFAULT_TEAM)
    return await create_key(session, team, ["read", "write", "admin"], name="bootstrap admin")
