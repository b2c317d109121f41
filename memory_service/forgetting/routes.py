"""/v1/admin/forgetting: the team's forgetting policy, a dry run and a run (admin keys without a
project limit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from memory_service.deps import Admin, SessionDep
from memory_service.forgetting import service
from memory_service.forgetting.schemas import ForgettingPolicy, ForgettingRun

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=service.MAX_LIMIT)]


@router.get("/forgetting", response_model=ForgettingPolicy, responses={403: {}})
async def get_policy(session: SessionDep, principal: Admin) -> ForgettingPolicy:
    """This team's forgetting policy (null: off)."""
    return await service.get_policy(session, principal)


@router.put("/forgetting", response_model=ForgettingPolicy, responses={403: {}})
async def set_policy(
    body: ForgettingPolicy, session: SessionDep, principal: Admin
) -> ForgettingPolicy:
    """Set this team's forgetting policy (null turns a rule off). Audited. The server applies
    it every hour; `POST /v1/admin/forgetting/run` applies it now."""
    return await service.set_policy(session, principal, principal.team_id, body)


@router.get("/forgetting/candidates", response_model=ForgettingRun, responses={403: {}})
async def dry_run(session: SessionDep, principal: Admin, limit: Limit = 1000) -> ForgettingRun:
    """Dry run: what the policy would forget now, least recently used first. Changes nothing."""
    return await service.run(session, principal, principal.team_id, dry_run=True, limit=limit)


@router.post("/forgetting/run", response_model=ForgettingRun, responses={403: {}})
async def run(session: SessionDep, principal: Admin, limit: Limit = 1000) -> ForgettingRun:
    """Apply the policy now: forget what the dry run lists (at most `limit` learnings with
    their near-duplicates), each with an audit row."""
    return await service.run(session, principal, principal.team_id, dry_run=False, limit=limit)
