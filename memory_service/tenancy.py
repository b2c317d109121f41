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


class TenantSession(Session):
    """A session that, at the start of every transaction, sets the team recorded in
    `info["team_id"]` (see `scope_to_team`): no statement of a request runs unscoped."""


@event.listens_for(TenantSession, "after_begin")
def _set_team_on_begin(session: Session, _: SessionTransaction, connection: Connection) -> None:
    team_id: Any = session.info.get("team_id")
    if team_id is not None:
        connection.execute(
            text(
                "SELECT set_config('memory.team_id', :team, true), "
                "set_config('memory.system', 'off', true)"
            ),
            {"team": str(team_id)},
        )


def scope_to_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    """Every transaction of `session` from now on acts for `team_id`. Must be called before
    the session's first statement (as the request's auth dependency does)."""
    session.info["team_id"] = team_id


async def act_as_system(session: AsyncSession) -> None:
    """Across teams: key lookup before the team is known, bootstrap, admin commands, export."""
    await session.execute(text("SELECT set_config('memory.system', 'on', true)"))
