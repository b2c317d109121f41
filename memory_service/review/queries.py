"""Every statement of the review queue.

The queue is one statement over the team's learnings: each reason's time as a column (NULL
when the reason does not apply or its filter is off), the latest of them as `reason_at`, kept
only when no person kept the learning since (`reviewed_at`), newest first, one keyset page.
No index serves `flagged`, `wrong_at` or `outdated_at` (a partial index over the queue's
conditions would need a migration), so this is one sequential pass over the team's rows with a
top-N sort: no sort of the whole table, no per-row query."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

_NONE = "NULL::timestamptz"
_FLAGGED = "CASE WHEN l.flagged THEN l.created_at END"
_STEP_OPEN = (
    "l.kind = 'next_step' AND l.done_at IS NULL AND l.superseded_by IS NULL "
    "AND l.created_at < now() - make_interval(days => :days)"
)


def _statement(
    *,
    instruction: bool,
    reported: bool,
    stale: bool,
    project: bool,
    readable: bool,
    after: bool,
) -> str:
    flagged = _FLAGGED if instruction else _NONE
    wrong = "l.wrong_at" if reported else _NONE
    outdated = "l.outdated_at" if reported else _NONE
    newer = (
        "CASE WHEN l.newer_id IS NOT NULL AND l.superseded_by IS NULL "
        "THEN coalesce(n.created_at, l.created_at) END"
        if stale
        else _NONE
    )
    step = f"CASE WHEN {_STEP_OPEN} THEN l.created_at + make_interval(days => :days) END"
    step = step if stale else _NONE
    wanted = [
        *(["l.flagged"] if instruction else []),
        *(["l.wrong_at IS NOT NULL", "l.outdated_at IS NOT NULL"] if reported else []),
        *(["(l.newer_id IS NOT NULL AND l.superseded_by IS NULL)", f"({_STEP_OPEN})"]
          if stale else []),
    ]  # fmt: skip
    where = [
        "l.team_id = :team",
        f"({' OR '.join(wanted)})",
        *(["p.slug = :project"] if project else []),
        *(["p.slug = ANY(:readable)"] if readable else []),
    ]
    newer_join = (
        "LEFT JOIN learnings n ON n.team_id = l.team_id AND n.id = l.newer_id" if stale else ""
    )
    page = "AND (c.reason_at, c.id) < (:after_at, :after_id)" if after else ""
    # Every fragment is one of this module's constants; values go in as bound parameters.
    return f"""
        SELECT c.* FROM (
            SELECT q.*, GREATEST(q.flagged_since, q.wrong_since, q.outdated_since,
                                 q.newer_since, q.open_since) AS reason_at
              FROM (
                SELECT l.id, l.kind, l.text, l.flag_reason, l.created_at, l.newer_id,
                       l.reviewed_at, p.slug AS project,
                       {flagged} AS flagged_since, {wrong} AS wrong_since,
                       {outdated} AS outdated_since, {newer} AS newer_since,
                       {step} AS open_since
                  FROM learnings l
                  JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
                  {newer_join}
                 WHERE {" AND ".join(where)}
              ) q
        ) c
         WHERE c.reason_at IS NOT NULL
           AND (c.reviewed_at IS NULL OR c.reason_at > c.reviewed_at)
           {page}
         ORDER BY c.reason_at DESC, c.id DESC
         LIMIT :limit
    """  # noqa: S608


async def queue(
    session: AsyncSession,
    team_id: uuid.UUID,
    *,
    instruction: bool,
    reported: bool,
    stale: bool,
    stale_days: int,
    project: str | None,
    readable: tuple[str, ...] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """One page of the queue (see the module's docstring), newest reason first."""
    statement = _statement(
        instruction=instruction,
        reported=reported,
        stale=stale,
        project=project is not None,
        readable=readable is not None,
        after=after is not None,
    )
    params: dict[str, Any] = {"team": team_id, "limit": limit}
    if stale:
        params["days"] = stale_days
    if project is not None:
        params["project"] = project
    if readable is not None:
        params["readable"] = list(readable)
    if after is not None:
        params["after_at"], params["after_id"] = after
    return list((await session.execute(text(statement), params)).all())


async def project_of(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID
) -> str | None:
    """The slug of the learning's project, or None when the team has no such learning."""
    slug: str | None = await session.scalar(
        text(
            "SELECT p.slug FROM learnings l "
            "JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id "
            "WHERE l.team_id = :team AND l.id = :id"
        ),
        {"team": team_id, "id": learning_id},
    )
    return slug


async def mark_reviewed(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID, key_id: uuid.UUID
) -> None:
    """A person kept it: out of the queue until a reason newer than now puts it back."""
    await session.execute(
        text(
            "UPDATE learnings SET reviewed_at = now(), reviewed_by = :key "
            "WHERE team_id = :team AND id = :id"
        ),
        {"key": key_id, "team": team_id, "id": learning_id},
    )
