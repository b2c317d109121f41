"""The review queue: learnings that need a person, and what a person does about them.

A learning is in the queue while one of its reasons is newer than the last time a person kept
it (`reviewed_at`, migration 0011):

- *instruction*: it reads like an instruction to an agent (`flagged` when it was written);
- *reported*: a standing report says it is wrong or outdated (the feedback service's reports,
  with their notes);
- *stale*: likely no longer true: a later learning likely replaces it (`newer_id`: the
  supersession rule was unsure), or it is a next step still open `STALE_STEP_DAYS` days after it
  was written.

Keep records that a person looked and kept it (audited `learning.keep`); forget and mark
outdated are the learnings' and the feedback's own services (audited there). Everything is
limited to the projects the key may read, like the API."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import record
from memory_service.auth.service import Principal
from memory_service.errors import NotFound
from memory_service.feedback import service as feedback
from memory_service.feedback.schemas import FeedbackRequest
from memory_service.handoffs.service import decode_cursor, encode_cursor
from memory_service.learnings import service as learnings
from memory_service.projects import check_access
from memory_service.review import queries
from memory_service.review.schemas import (
    STALE_STEP_DAYS,
    Reason,
    Report,
    ReviewFilter,
    ReviewItem,
    ReviewPage,
)
from memory_service.vocabulary import Feedback

__all__ = ["forget", "keep", "mark_outdated", "queue"]

_SINCE = {
    Reason.flagged: "flagged_since",
    Reason.wrong: "wrong_since",
    Reason.outdated: "outdated_since",
    Reason.newer: "newer_since",
    Reason.open_step: "open_since",
}


async def queue(
    session: AsyncSession,
    principal: Principal,
    *,
    reason: ReviewFilter | None,
    project: str | None,
    limit: int,
    cursor: str | None,
) -> ReviewPage:
    """One page of the queue, the newest reason first (pass `next_cursor` back as `cursor`)."""
    if project is not None:
        check_access(principal, project)
    rows = await queries.queue(
        session,
        principal.team_id,
        instruction=reason in (None, ReviewFilter.instruction),
        reported=reason in (None, ReviewFilter.reported),
        stale=reason in (None, ReviewFilter.stale),
        stale_days=STALE_STEP_DAYS,
        project=project,
        readable=principal.projects,
        after=decode_cursor(cursor) if cursor is not None else None,
        limit=limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].reason_at, rows[-1].id)
    reports = await feedback.standing_reports(session, principal, [r.id for r in rows])
    items = [
        ReviewItem(
            id=r.id,
            kind=r.kind,
            text=r.text,
            project=r.project,
            created_at=r.created_at,
            reason_at=r.reason_at,
            reasons=[why for why, column in _SINCE.items() if getattr(r, column) is not None],
            flag_reason=r.flag_reason,
            newer_id=r.newer_id,
            reviewed_at=r.reviewed_at,
            reports=[
                Report(value=x.value, note=x.note, created_at=x.created_at)
                for x in reports.get(r.id, [])
            ],
        )
        for r in rows
    ]
    return ReviewPage(items=items, next_cursor=next_cursor)


async def _project(session: AsyncSession, principal: Principal, learning_id: uuid.UUID) -> str:
    slug = await queries.project_of(session, principal.team_id, learning_id)
    # A key limited to other projects learns nothing, not even that the learning exists.
    if slug is None or not principal.may_access(slug):
        raise NotFound(f"no learning {learning_id}")
    return slug


async def keep(session: AsyncSession, principal: Principal, learning_id: uuid.UUID) -> None:
    """A person looked and kept it: out of the queue until a newer reason puts it back."""
    slug = await _project(session, principal, learning_id)
    await queries.mark_reviewed(session, principal.team_id, learning_id, principal.key_id)
    await record(
        session,
        principal,
        "learning.keep",
        target=("learning", learning_id),
        details={"project": slug},
    )


async def forget(session: AsyncSession, principal: Principal, learning_id: uuid.UUID) -> int:
    """Forgets it with its readable near-duplicates (the learnings service; audited there)."""
    return await learnings.forget(session, principal, learning_id)


async def mark_outdated(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID, note: str | None
) -> None:
    """Reports it outdated (the feedback service: demoted in search, audited there) and, since
    a person decided, takes it out of the queue (`keep`, audited too)."""
    await _project(session, principal, learning_id)
    await feedback.report(
        session,
        principal,
        str(learning_id),
        FeedbackRequest(value=Feedback.outdated, note=note or None),
    )
    await keep(session, principal, learning_id)
