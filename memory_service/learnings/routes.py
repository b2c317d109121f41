"""/v1/learnings/{id}: read or forget one learning."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from memory_service.deps import Reader, SessionDep, Writer
from memory_service.learnings import service
from memory_service.learnings.schemas import Forgotten, Learning, SupersedeRequest

router = APIRouter(prefix="/v1", tags=["learnings"])


@router.get("/learnings/{learning_id}", response_model=Learning, responses={404: {}})
async def get_learning(learning_id: uuid.UUID, session: SessionDep, principal: Reader) -> Learning:
    """One learning with its provenance."""
    return await service.get_learning(session, principal, learning_id)


@router.delete("/learnings/{learning_id}", response_model=Forgotten, responses={404: {}})
async def forget(learning_id: uuid.UUID, session: SessionDep, principal: Writer) -> Forgotten:
    """Forget a learning (and its near-duplicates); the handoff it came from stays."""
    return Forgotten(deleted=await service.forget(session, principal, learning_id))


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
