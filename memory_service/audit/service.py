"""Audit trail: who (which key) did what to which target, when. Written in the same
transaction as the action, so an action that rolls back leaves no audit row and an action
that commits always has one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit import queries
from memory_service.audit.schemas import EventFilter
from memory_service.auth import policy
from memory_service.auth.service import Principal
from memory_service.hygiene.clean import clean_text
from memory_service.models import AuditEvent


@dataclass(frozen=True)
class Operator:
    """Whoever runs `memory-service` on the server's host: it holds no key and acts on any
    team. Its rows have no `key_id` and name where they came from in `details["via"]` (key
    commands, `export` and `import` alike)."""

    via: str = "memory-service CLI"


OPERATOR = Operator()

# Who an audited action is by: an API key, or the operator.
Actor = Principal | Operator


def quoted_query(query: str, limit: int = 200) -> str:
    """A search query as it may be kept in the audit trail: redacted and cut short.

    The query goes through what a handoff body goes through, `clean_text` (hygiene/clean.py),
    on the text as sent: line breaks are context for the detector (`password: ...` in a pasted
    config line), so whitespace is only collapsed after, and the cut comes last, where it can
    no longer split a secret in two.
    """
    cleaned = clean_text(query, {})
    return " ".join(cleaned.split())[:limit]


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    target: tuple[str, uuid.UUID | str] | None = None,
    details: dict[str, Any] | None = None,
    team_id: uuid.UUID | None = None,
) -> None:
    """One row in the trail of `team_id`, by default the acting key's team. The operator
    belongs to no team: its rows must name one. `target` is what the action was on: its type
    ("handoff", "api_key", "worktree", ...) and id."""
    if isinstance(actor, Operator):
        if team_id is None:
            raise ValueError("an operator's audit row needs the team it concerns")
        key_id, details = None, {"via": actor.via, **(details or {})}
    else:
        team_id, key_id = team_id or actor.team_id, actor.key_id
    await queries.insert_event(
        session,
        {
            "team_id": team_id,
            "key_id": key_id,
            "action": action,
            "target_type": target[0] if target else None,
            "target_id": str(target[1]) if target else None,
            "details": details or {},
        },
    )


async def list_events(
    session: AsyncSession, principal: Principal, wanted: EventFilter
) -> list[AuditEvent]:
    """The team's events: team-wide, so only for admin keys without a project limit (the
    trail names every project's handoffs, searches and keys)."""
    policy.require_team_admin(principal)
    return await queries.events(session, principal.team_id, wanted)


# The most events a thing's history lists.
MAX_HISTORY = 50


async def history(
    session: AsyncSession,
    principal: Principal,
    target: tuple[str, uuid.UUID],
    *,
    since: datetime,
    limit: int = MAX_HISTORY,
) -> list[AuditEvent]:
    """The team's events about one thing (`target`: its type and id, as `record` wrote it),
    newest first, from `since` (when the thing came to be). The caller has checked that the
    key may read the thing: these events concern it alone."""
    return await queries.events_about(
        session, principal.team_id, target[0], str(target[1]), since, limit
    )
