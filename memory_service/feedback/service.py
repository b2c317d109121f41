"""Feedback on learnings: any key that may read a learning reports it `helpful`, `wrong` or
`outdated` (with an optional note), and may undo its report; a key with write scope may undo
anyone's. Each report and each undoing is audited in the same transaction, and the summary
columns ranking reads are recomputed from the reports still standing (queries.py).

A learning is named by its full id or its short id (memory_service/ids.py), as the brief
shows it. A name that fits no learning the key may read is a 404 (never saying whether it
exists elsewhere); one that fits several is a 409 listing them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import record
from memory_service.auth.service import Principal
from memory_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from memory_service.feedback import queries
from memory_service.feedback.schemas import MAX_NOTE_CHARS, FeedbackOut, FeedbackRequest
from memory_service.hygiene.clean import clean_text
from memory_service.ids import parse_ref, short_id
from memory_service.models import LearningFeedback, LearningRow
from memory_service.vocabulary import Feedback

__all__ = ["list_reports", "report", "resolve", "standing_reports", "undo"]


async def resolve(session: AsyncSession, principal: Principal, ref: str) -> LearningRow:
    """The one learning the key may read that `ref` (a full or short id) names."""
    parsed = parse_ref(ref)
    if parsed is None:
        raise InvalidInput(
            "a learning is named by its id (a UUID) or its short id (the last 8-12 hex digits "
            "of it, as the brief shows them)",
            details={"ref": ref[:64]},
        )
    found = [
        learning
        for learning, slug in await queries.by_ref(session, principal.team_id, parsed)
        if principal.may_access(slug)
    ]
    if not found:
        raise NotFound(f"no learning {ref}")
    if len(found) > 1:
        ids = [str(x.id) for x in found[: queries.MAX_CANDIDATES]]
        raise Conflict(
            f"short id {ref} names more than one learning; use the full id",
            details={"candidates": ids},
        )
    return found[0]


def _out(row: LearningFeedback, summary: tuple[int, bool, bool]) -> FeedbackOut:
    helpful, wrong, outdated = summary
    return FeedbackOut(
        id=row.id,
        learning_id=row.learning_id,
        short_id=short_id(row.learning_id),
        value=Feedback(row.value),
        note=row.note,
        writer=row.writer,
        created_at=row.created_at,
        undone_at=row.undone_at,
        helpful=helpful,
        wrong=wrong,
        outdated=outdated,
    )


def _summary(learning: LearningRow) -> tuple[int, bool, bool]:
    return learning.helpful, learning.wrong_at is not None, learning.outdated_at is not None


async def report(
    session: AsyncSession, principal: Principal, ref: str, body: FeedbackRequest
) -> FeedbackOut:
    learning = await resolve(session, principal, ref)
    note = None
    if body.note is not None:
        note = clean_text(body.note, {}, strip=True)[:MAX_NOTE_CHARS] or None
    writer = principal.has("write")
    row = await queries.insert(
        session,
        {
            "team_id": principal.team_id,
            "learning_id": learning.id,
            "key_id": principal.key_id,
            "value": body.value.value,
            "note": note,
            "writer": writer,
        },
    )
    summary = await queries.refresh_summary(session, principal.team_id, learning.id)
    await record(
        session,
        principal,
        "learning.feedback",
        target=("learning", learning.id),
        details={
            "feedback_id": row.id,
            "value": row.value,
            "writer": writer,
            "note": note[:200] if note else None,
        },
    )
    return _out(row, summary)


async def list_reports(session: AsyncSession, principal: Principal, ref: str) -> list[FeedbackOut]:
    learning = await resolve(session, principal, ref)
    summary = _summary(learning)
    rows = await queries.reports(session, principal.team_id, learning.id)
    return [_out(r, summary) for r in rows]


async def undo(
    session: AsyncSession, principal: Principal, ref: str, feedback_id: int
) -> FeedbackOut:
    """Undoes a standing report: the caller's own, or anyone's with write scope. The report
    stays (with when and by which key it was undone); the summary is recomputed."""
    learning = await resolve(session, principal, ref)
    row = await queries.report_for_update(session, principal.team_id, learning.id, feedback_id)
    if row is None:
        raise NotFound(f"no feedback {feedback_id} on learning {ref}")
    if row.key_id != principal.key_id and not principal.has("write"):
        raise Forbidden("only the key that reported it, or a key with write scope, may undo it")
    if row.undone_at is not None:
        raise Conflict(f"feedback {feedback_id} was already undone")
    row = await queries.undo(session, row, principal.key_id)
    summary = await queries.refresh_summary(session, principal.team_id, learning.id)
    await record(
        session,
        principal,
        "learning.feedback_undo",
        target=("learning", learning.id),
        details={"feedback_id": row.id, "value": row.value},
    )
    return _out(row, summary)


async def standing_reports(
    session: AsyncSession,
    principal: Principal,
    learning_ids: list[uuid.UUID],
    values: tuple[Feedback, ...] = (Feedback.wrong, Feedback.outdated),
) -> dict[uuid.UUID, list[LearningFeedback]]:
    """The standing reports of `values` on each of `learning_ids` (learnings the caller has
    already read through a project-limited query), oldest first: one query for a page."""
    rows = await queries.standing_reports(
        session, principal.team_id, learning_ids, [v.value for v in values]
    )
    found: dict[uuid.UUID, list[LearningFeedback]] = {}
    for row in rows:
        found.setdefault(row.learning_id, []).append(row)
    return found
