"""/v1/learnings/{id}: read or forget one learning."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from memory_service.deps import Reader, SessionDep, Writer
from memory_service.learnings import service
from memory_service.learnings.schemas import CitedPaths, Forgotten, Learning, SupersedeRequest
from memory_service.names import ProjectSlug

router = APIRouter(prefix="/v1", tags=["learnings"])


@router.get("/learnings/{learning_id}", response_model=Learning, responses={404: {}})
async def get_learning(learning_id: uuid.UUID, session: SessionDep, principal: Reader) -> Learning:
    """One learning with its provenance."""
    return await service.get_learning(session, principal, learning_id)


@router.delete("/learnings/{learning_id}", response_model=Forgotten, responses={404: {}})
async def forget(learning_id: uuid.UUID, session: SessionDep, principal: Writer) -> Forgotten:
    """Forget a learning (and its near-duplicates); the handoff it came from stays."""
    return Forgotten(deleted=await service.forget(session, principal, learning_id))


@router.get("/cited-paths", response_model=CitedPaths, responses={403: {}})
async def cited_paths(
    project: Annotated[ProjectSlug, Query()],
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 300,
) -> CitedPaths:
    """The repository paths `project`'s learnings cite with a blob id, most recently cited
    first: a client looks them up in its checkout with one git command and sends the result as
    `checkout` with a brief, search, recall or check, which then says each learning's
    `freshness`."""
    paths = await service.cited_paths(session, principal, project, limit)
    return CitedPaths(project=project, paths=paths)


@router.post(
    "/learnings/{learning_id}/supersede",
    response_model=Learning,
    responses={404: {}, 409: {}, 422: {}},
)
async def supersede(
    learning_id: uuid.UUID, body: SupersedeRequest, session: SessionDep, principal: Writer
) -> Learning:
    """Mark the learning as replaced by a later one of the same project (`by`)."""
    await service.supersede(session, principal, learning_id, body.by)
    return await service.get_learning(session, principal, learning_id)


@router.delete(
    "/learnings/{learning_id}/supersede", response_model=Learning, responses={404: {}, 409: {}}
)
async def unsupersede(learning_id: uuid.UUID, session: SessionDep, principal: Writer) -> Learning:
    """Undo a supersession: the learning is current again."""
    await service.unsupersede(session, principal, learning_id)
    return await service.get_learning(session, principal, learning_id)


@router.delete(
    "/learnings/{learning_id}/done", response_model=Learning, responses={404: {}, 409: {}}
)
async def reopen(learning_id: uuid.UUID, session: SessionDep, principal: Writer) -> Learning:
    """Undo a next step's done mark: it is open again."""
    await service.reopen(session, principal, learning_id)
    return await service.get_learning(session, principal, learning_id)
