"""Which team a transaction acts for. Row-level security policies (migration 0002) let a
transaction see and write only the rows of the team set here, so a query that forgets its
`WHERE team_id = ...` still cannot reach another team's data.

Both settings are transaction-local (`set_config(..., true)`): they vanish at commit or
rollback, so a pooled connection never carries one request's team into the next."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The database role the service's request connections act as; it owns nothing, so the
# policies always apply to it.
APP_ROLE = "memory_app"


async def act_as_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    await session.execute(
        text(
            "SELECT set_config('memory.team_id', :team, true), "
            "set_config('memory.system', 'off', true)"
        ),
        {"team": str(team_id)},
    )


async def act_as_system(session: AsyncSession) -> None:
    """Across teams: key lookup before the team is known, bootstrap, admin commands, export."""
    await session.execute(text("SELECT set_config('memory.system', 'on', true)"))
