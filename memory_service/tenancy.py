"""Which team a transaction acts for. Row-level security policies (migration 0002) let a
transaction see and write only the rows of the team set here, so a query that forgets its
`WHERE team_id = ...` still cannot reach another team's data.

Both settings are transaction-local (`set_config(..., true)`): they vanish at commit or
rollback, so a pooled connection never carries one request's team into the next."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

# The database role the service's request connections act as; it owns nothing, so the
# policies always apply to it.
APP_ROLE = "memory_app"


_PENDING = "pending_local_settings"
_BEGUN = "transaction_begun"


class TenantSession(Session):
    """A session that, at the start of every transaction, sets the team recorded in
    `info["team_id"]` (see `scope_to_team`): no statement of a request runs unscoped."""


def _set_config(settings: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """One statement setting every `settings` entry for the current transaction only."""
    names = list(settings)
    sql = "SELECT " + ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(names)))
    params = {f"n{i}": name for i, name in enumerate(names)}
    params.update({f"v{i}": settings[name] for i, name in enumerate(names)})
    return text(sql), params


@event.listens_for(TenantSession, "after_begin")
def _set_team_on_begin(session: Session, _: SessionTransaction, connection: Connection) -> None:
    settings: dict[str, str] = {}
    team_id: Any = session.info.get("team_id")
    if team_id is not None:
        settings = {"memory.team_id": str(team_id), "memory.system": "off"}
    # Settings staged by `set_local` before the first statement ride along: one round trip.
    settings.update(session.info.pop(_PENDING, {}))
    if settings:
        connection.execute(*_set_config(settings))
    session.info[_BEGUN] = True


@event.listens_for(TenantSession, "after_transaction_end")
def _forget_begin(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_BEGUN, None)


async def set_local(session: AsyncSession, settings: dict[str, str]) -> None:
    """Sets PostgreSQL settings for the rest of the session's current transaction. Before its
    first statement they are sent together with the team's (no round trip of their own)."""
    if not settings:
        return
    if session.info.get(_BEGUN):
        await session.execute(*_set_config(settings))
    else:
        session.info.setdefault(_PENDING, {}).update(settings)


def scope_to_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    """Every transaction of `session` from now on acts for `team_id`. Must be called before
    the session's first statement (as the request's auth dependency does)."""
    session.info["team_id"] = team_id


async def act_as_system(session: AsyncSession) -> None:
    """Across teams: key lookup before the team is known, bootstrap, admin commands, export."""
    await session.execute(text("SELECT set_config('memory.system', 'on', true)"))
