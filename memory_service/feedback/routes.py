"""/v1/learnings/{ref}/feedback: report a learning helpful, wrong or outdated; list and undo
reports. `ref` is the learning's id or its short id (as the brief shows it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from memory_service.deps import Reader, SessionDep
from memory_service.feedback import service
from memory_service.feedback.schemas import FeedbackList, FeedbackOut, FeedbackRequest

router = APIRouter(prefix="/v1", tags=["feedback"])

Ref = Annotated[
    str,
    Path(
        min_length=8,
        max_length=36,
        description="The learning's id, or its short id (the last 8-12 hex digits of the id)",
    ),
]


@router.post(
    "/learnings/{ref}/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={404: {}, 409: {}},
)
async def report(
    ref: Ref, body: FeedbackRequest, session: SessionDep, principal: Reader
) -> FeedbackOut:
    """Report a learning from a brief or a search `helpful`, `wrong` or `outdated`, with an
    optional note. Any key that may read it may report; `wrong` hides it from briefs only when
    the key has write scope. Audited; undo with `DELETE .../feedback/{id}`."""
    return await service.report(session, principal, ref, body)


@router.get("/learnings/{ref}/feedback", response_model=FeedbackList, responses={404: {}})
async def list_feedback(ref: Ref, session: SessionDep, principal: Reader) -> FeedbackList:
    """Every report on the learning, undone ones included, oldest first."""
    return FeedbackList(feedback=await service.list_reports(session, principal, ref))


@router.delete(
    "/learnings/{ref}/feedback/{feedback_id}",
    response_model=FeedbackOut,
    responses={403: {}, 404: {}, 409: {}},
)
async def undo(
    ref: Ref,
    feedback_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    session: SessionDep,
    principal: Reader,
) -> FeedbackOut:
    """Undo a report (the caller's own, or anyone's with write scope): it stops counting and
    stays in the record, marked undone. Audited."""
    return await service.undo(session, principal, ref, feedback_id)
