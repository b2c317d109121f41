"""The statements of the brief and of a search's plan. The search's own statement is built in
statement.py from the fragments in sql.py; the statistics it plans with are read in stats.py."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import RowMapping, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import HandoffRow, LearningRow, Project


async def project_ids(
    session: AsyncSession, team_id: uuid.UUID, slugs: Collection[str] | None = None
) -> dict[str, uuid.UUID]:
    """The team's project ids by slug: of `slugs`, or of every project when None."""
    statement = select(Project.slug, Project.id).where(Project.team_id == team_id)
    if slugs is not None:
        statement = statement.where(Project.slug.in_(slugs))
    return {row.slug: row.id for row in await session.execute(statement)}


async def handoff_learnings(
    session: AsyncSession, team_id: uuid.UUID, handoff_ids: list[uuid.UUID]
) -> Sequence[Any]:
    """(handoff_id, kind, text, flag_reason) of the handoffs' learnings, in each one's order;
    not those a writer reported wrong (memory_service/feedback), which briefs never show."""
    rows = await session.execute(
        select(LearningRow.handoff_id, LearningRow.kind, LearningRow.text, LearningRow.flag_reason)
        .where(
            LearningRow.team_id == team_id,
            LearningRow.handoff_id.in_(handoff_ids),
            LearningRow.wrong_at.is_(None),
        )
        .order_by(LearningRow.handoff_id, LearningRow.position)
    )
    return rows.all()


async def handoff_pointers(
    session: AsyncSession, team_id: uuid.UUID, handoff_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[list[str], list[str]]]:
    """Each handoff's (files, verification commands) as parsed from its body."""
    rows = await session.execute(
        select(HandoffRow.id, HandoffRow.files, HandoffRow.commands).where(
            HandoffRow.team_id == team_id, HandoffRow.id.in_(handoff_ids)
        )
    )
    return {row.id: (list(row.files or []), list(row.commands or [])) for row in rows}


async def flagged_awaiting_review(session: AsyncSession, team_id: uuid.UUID, project: str) -> int:
    """The project's learnings that read like instructions to an agent and are in the review
    queue for it (memory_service/review: flagged, and no person kept them since). The queue's
    partial index (`ix_learnings_team_id_needs_review`) serves it."""
    count = await session.scalar(
        text(
            """
            SELECT count(*) FROM learnings l
              JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
             WHERE l.team_id = :team AND p.slug = :project AND l.flagged
               AND (l.reviewed_at IS NULL OR l.created_at > l.reviewed_at)
            """
        ),
        {"team": team_id, "project": project},
    )
    return int(count or 0)


async def mark_flagged(
    session: AsyncSession, team_id: uuid.UUID, reasons: dict[uuid.UUID, str]
) -> None:
    """Flags learnings stored before the current instruction checks, which find them now:
    they then read as flagged everywhere and join the review queue (memory_service/review)."""
    for learning_id, reason in reasons.items():
        await session.execute(
            update(LearningRow)
            .where(
                LearningRow.team_id == team_id,
                LearningRow.id == learning_id,
                LearningRow.flagged.is_(False),
            )
            .values(flagged=True, flag_reason=reason[:500] or None)
        )


async def project_learnings(
    session: AsyncSession,
    team_id: uuid.UUID,
    project: str,
    limit: int,
    readable: list[uuid.UUID] | None,
    *,
    flagged: bool = True,
) -> Sequence[RowMapping]:
    """The project's most repeated and most recent mistakes, decisions and patterns, one per
    cluster of near-duplicates. With `readable` (a key limited to projects) a cluster's count
    and its projects are those of the copies in readable projects only. `flagged=False` leaves
    out those that read like instructions to an agent (before the limit, so others fill in)."""
    restricted = readable is not None
    access = "(d.visibility = 'team' OR d.project_id = m.project_id)" + (
        " AND d.project_id = ANY(CAST(:readable AS uuid[]))" if restricted else ""
    )
    count = (
        f"""(SELECT count(*) FROM learnings d
               WHERE d.team_id = m.team_id AND (d.id = m.cluster OR d.canonical_id = m.cluster)
                 AND {access})"""
        if restricted
        else "(SELECT c.occurrences FROM learnings c "
        "WHERE c.team_id = m.team_id AND c.id = m.cluster)"
    )
    params: dict[str, Any] = {"team": team_id, "project": project, "limit": limit}
    if restricted:
        params["readable"] = readable
    rows = await session.execute(
        text(
            f"""
                WITH mine AS (
                    SELECT DISTINCT ON (coalesce(l.canonical_id, l.id))
                           l.team_id, l.id, l.project_id, coalesce(l.canonical_id, l.id) AS cluster,
                           l.kind, l.text, l.section, l.handoff_id, l.created_at, l.position,
                           l.flagged, l.flag_reason, l.newer_id, l.uses, l.last_used_at, l.helpful,
                           l.wrong_at IS NOT NULL AS wrong, l.outdated_at IS NOT NULL AS outdated
                      FROM learnings l
                      JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
                     WHERE l.team_id = :team AND p.slug = :project
                       AND l.kind IN ('mistake', 'decision', 'pattern')
                       -- Replaced knowledge and finished work leave the brief.
                       AND l.superseded_by IS NULL AND l.done_at IS NULL
                     ORDER BY coalesce(l.canonical_id, l.id), l.canonical_id IS NOT NULL,
                              l.created_at, l.id
                ),
                ranked AS (
                    SELECT m.*, {count} AS occurrences FROM mine m
                )
                SELECT r.id, r.kind, r.text, r.section, r.handoff_id, r.created_at,
                       r.occurrences, r.flagged, r.flag_reason, r.newer_id,
                       CAST(:project AS text) AS project,
                       seen.projects, r.uses, r.last_used_at, r.helpful, r.wrong, r.outdated
                  FROM (SELECT m.* FROM ranked m
                         -- reported wrong by a writer (memory_service/feedback): never in briefs
                         WHERE NOT m.wrong {"" if flagged else "AND NOT m.flagged"}
                         -- Ties (one handoff's learnings share their time) in the handoff's
                         -- own order: ids end in random digits, which made the order vary.
                         ORDER BY m.outdated, (m.kind = 'mistake') DESC, m.occurrences DESC,
                                  m.created_at DESC, m.handoff_id, m.position, m.id
                         LIMIT :limit) r
                 CROSS JOIN LATERAL (
                       SELECT array_agg(DISTINCT p2.slug ORDER BY p2.slug) AS projects
                         FROM learnings d
                         JOIN projects p2 ON p2.team_id = d.team_id AND p2.id = d.project_id
                        WHERE d.team_id = r.team_id
                          AND (d.id = r.cluster OR d.canonical_id = r.cluster)
                          AND {access.replace("m.project_id", "r.project_id")}) seen
                 ORDER BY r.outdated, (r.kind = 'mistake') DESC, r.occurrences DESC,
                          r.created_at DESC, r.handoff_id, r.position, r.id
            """
        ),
        params,
    )
    return rows.mappings().all()


async def injected(
    session: AsyncSession,
    team_id: uuid.UUID,
    session_key: str,
    learning_ids: list[uuid.UUID],
    ttl_s: int,
    expired_batch: int,
) -> set[uuid.UUID]:
    """Which of `learning_ids` this agent session was given less than `ttl_s` ago. In the same
    round trip, up to `expired_batch` of the team's rows older than that are deleted (rows
    another transaction holds are skipped: it may be renewing them); the lookup ignores them
    either way."""
    rows = await session.execute(
        text(
            """
            WITH gone AS (
                DELETE FROM recall_injections r
                 USING (SELECT team_id, session_key, learning_id FROM recall_injections
                         WHERE team_id = :team
                           AND injected_at <= now() - make_interval(secs => :ttl)
                         ORDER BY injected_at
                         LIMIT :batch
                           FOR UPDATE SKIP LOCKED) old
                 WHERE r.team_id = :team AND r.session_key = old.session_key
                   AND r.learning_id = old.learning_id
            )
            SELECT learning_id FROM recall_injections
             WHERE team_id = :team AND session_key = :key
               AND learning_id = ANY(CAST(:ids AS uuid[]))
               AND injected_at > now() - make_interval(secs => :ttl)
            """
        ),
        {
            "team": team_id,
            "key": session_key,
            "ids": learning_ids,
            "ttl": ttl_s,
            "batch": expired_batch,
        },
    )
    return {row[0] for row in rows}


async def record_injections(
    session: AsyncSession,
    team_id: uuid.UUID,
    session_key: str,
    learning_ids: list[uuid.UUID],
    ttl_s: int,
) -> set[uuid.UUID]:
    """Records that the session is given `learning_ids` now and returns those it was not given
    already: a new row, or one older than `ttl_s` (renewed). Race-safe: of two transactions
    recording the same learning for one session, the second waits for the first to commit and
    then finds its row fresh, so exactly one of them gets it back. Sorted, so two of them
    take their row locks in the same order (no deadlock)."""
    rows = await session.execute(
        text(
            """
            INSERT INTO recall_injections AS r (team_id, session_key, learning_id, injected_at)
            SELECT :team, :key, ids.id, now()
              FROM unnest(CAST(:ids AS uuid[])) AS ids(id)
             ORDER BY ids.id
            ON CONFLICT (team_id, session_key, learning_id) DO UPDATE
               SET injected_at = excluded.injected_at
             WHERE r.injected_at <= excluded.injected_at - make_interval(secs => :ttl)
            RETURNING r.learning_id
            """
        ),
        {"team": team_id, "key": session_key, "ids": sorted(learning_ids), "ttl": ttl_s},
    )
    return {row[0] for row in rows}


async def current_texts(
    session: AsyncSession, team_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The texts of the learnings `ids` that are current (neither replaced nor done)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(LearningRow.id, LearningRow.text).where(
            LearningRow.team_id == team_id,
            LearningRow.id.in_(ids),
            LearningRow.superseded_by.is_(None),
            LearningRow.done_at.is_(None),
        )
    )
    return {row.id: row.text for row in rows}
