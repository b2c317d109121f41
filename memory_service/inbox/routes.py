"""/v1/inbox: peek at a worktree's unread handoffs, or claim them (exactly-once delivery)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from memory_service.deps import Reader, SessionDep
from memory_service.handoffs.schemas import ClaimRequest, Inbox
from memory_service.inbox import service
from memory_service.names import ProjectSlug, WorktreeName

router = APIRouter(prefix="/v1", tags=["inbox"])


@router.get("/inbox", response_model=Inbox)
async def peek(
    session: SessionDep,
    principal: Reader,
    project: Annotated[ProjectSlug, Query()],
    worktree: Annotated[WorktreeName, Query()],
) -> Inbox:
    """The worktree's unread handoffs, oldest first. Changes nothing."""
    return Inbox(handoffs=await service.peek(session, principal, project, worktree))


@router.post("/inbox/claim", response_model=Inbox)
async def claim(body: ClaimRequest, session: SessionDep, principal: Reader) -> Inbox:
    """Take delivery of the worktree's unread handoffs: each is returned by exactly one claim
    and is read afterwards. `drift` says whether the branch or HEAD moved since it was written."""
    return Inbox(handoffs=await service.claim_and_record(session, principal, body))
