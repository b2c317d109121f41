"""The statements of feedback on learnings: finding the learning a report names (by full or
short id), storing and undoing reports, and the summary columns on `learnings` that ranking
reads (helpful, wrong_at, outdated_at), recomputed from the reports still standing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.models import LearningFeedback, LearningRow, Project

_PROJECT = (Project.team_id == LearningRow.team_id) & (Project.id == LearningRow.project_id)
# More candidates than this for one short id are never listed.
MAX_CANDIDATES = 10


async def by_ref(
    session: AsyncSession, team_id: uuid.UUID, ref: uuid.UUID | str
) -> list[tuple[LearningRow, str]]:
    """The team's learnings `ref` names, with their projects' slugs: the one with that id, or
    those whose id ends in the short id `ref` (a scan of the team's ids: feedback is rare and
    no index serves a suffix)."""
    statement = select(LearningRow, Project.slug).join(Project, _PROJECT)
    if isinstance(ref, uuid.UUID):
        statement = statement.where(LearningRow.team_id == team_id, LearningRow.id == ref)
    else:
        statement = statement.where(
            LearningRow.team_id == team_id,
            func.right(cast(LearningRow.id, Text), len(ref)) == ref,
        )
    rows = await session.execute(statement.order_by(LearningRow.id).limit(MAX_CANDIDATES + 1))
    return [(learning, slug) for learning, slug in rows]


async def insert(session: AsyncSession, values: dict[str, Any]) -> LearningFeedback:
    row = LearningFeedback(**values)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def reports(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID
) -> list[LearningFeedback]:
    """Every report on the learning, undone ones included, oldest first."""
    return list(
        await session.scalars(
            select(LearningFeedback)
            .where(LearningFeedback.team_id == team_id, LearningFeedback.learning_id == learning_id)
            .order_by(LearningFeedback.id)
        )
    )


async def report_for_update(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID, feedback_id: int
) -> LearningFeedback | None:
    return await session.scalar(
        select(LearningFeedback)
        .where(
            LearningFeedback.team_id == team_id,
            LearningFeedback.learning_id == learning_id,
            LearningFeedback.id == feedback_id,
        )
        .with_for_update()
    )


async def undo(
    session: AsyncSession, report: LearningFeedback, key_id: uuid.UUID | None
) -> LearningFeedback:
    await session.execute(
        text(
            "UPDATE learning_feedback SET undone_at = now(), undone_by = :key "
            "WHERE team_id = :team AND id = :id AND undone_at IS NULL"
        ),
        {"key": key_id, "team": report.team_id, "id": report.id},
    )
    await session.refresh(report)
    return report


async def refresh_summary(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID
) -> tuple[int, bool, bool]:
    """Recomputes the learning's summary from the reports still standing: `helpful` counts the
    keys that found it helpful (one key reporting ten times is one), `wrong_at` is the first
    standing `wrong` by a key with write scope (it hides the learning from briefs), and
    `outdated_at` the first standing `outdated`, or `wrong` by a read-only key (any reader may
    demote a learning; only a writer may hide it). Returns (helpful, wrong, outdated)."""
    row = (
        await session.execute(
            text(
                """
                UPDATE learnings l
                   SET helpful = s.helpful, wrong_at = s.wrong_at, outdated_at = s.outdated_at
                  FROM (SELECT count(DISTINCT coalesce(CAST(f.key_id AS text),
                                                       CAST(f.id AS text)))
                                 FILTER (WHERE f.value = 'helpful') AS helpful,
                               min(f.created_at) FILTER (WHERE f.value = 'wrong' AND f.writer)
                                 AS wrong_at,
                               min(f.created_at) FILTER (
                                   WHERE f.value = 'outdated'
                                      OR (f.value = 'wrong' AND NOT f.writer)) AS outdated_at
                          FROM learning_feedback f
                         WHERE f.team_id = :team AND f.learning_id = :id
                           AND f.undone_at IS NULL) s
                 WHERE l.team_id = :team AND l.id = :id
                RETURNING l.helpful, l.wrong_at IS NOT NULL, l.outdated_at IS NOT NULL
                """
            ),
            {"team": team_id, "id": learning_id},
        )
    ).one()
    return int(row[0]), bool(row[1]), bool(row[2])


async def standing_reports(
    session: AsyncSession, team_id: uuid.UUID, learning_ids: list[uuid.UUID], values: list[str]
) -> list[LearningFeedback]:
    """The standing (not undone) reports of `values` on `learning_ids`, oldest first: one
    query over the learning index for a page of learnings."""
    if not learning_ids:
        return []
    return list(
        await session.scalars(
            select(LearningFeedback)
            .where(
                LearningFeedback.team_id == team_id,
                LearningFeedback.learning_id.in_(learning_ids),
                LearningFeedback.undone_at.is_(None),
                LearningFeedback.value.in_(values),
            )
            .order_by(LearningFeedback.id)
        )
    )
