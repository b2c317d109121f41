"""/v1/admin: teams and API keys (admin scope)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from memory_service.admin import service
from memory_service.admin.schemas import (
    CreatedKey,
    KeyCreate,
    KeyList,
    KeyOut,
    TeamCreate,
    TeamList,
    TeamOut,
)
from memory_service.deps import Admin, SessionDep, StateDep
from memory_service.models import ApiKey

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def _created(plaintext: str, key: ApiKey, team: str) -> CreatedKey:
    return CreatedKey(
        **KeyOut.model_validate(key, from_attributes=True).model_dump(), key=plaintext, team=team
    )


@router.post("/teams", status_code=201, response_model=TeamOut, responses={403: {}, 409: {}})
async def create_team(
    body: TeamCreate, session: SessionDep, principal: Admin, state: StateDep
) -> TeamOut:
    """Create a team (operator team admins only)."""
    team = await service.create_team(
        session, principal, body.name, operator=state.settings.operator_team
    )
    return TeamOut.model_validate(team, from_attributes=True)


@router.get("/teams", response_model=TeamList, responses={403: {}})
async def list_teams(session: SessionDep, principal: Admin, state: StateDep) -> TeamList:
    """Every team (operator team admins only)."""
    teams = await service.list_teams(session, principal, operator=state.settings.operator_team)
    return TeamList(teams=[TeamOut.model_validate(t, from_attributes=True) for t in teams])


@router.post("/keys", status_code=201, response_model=CreatedKey, responses={403: {}, 404: {}})
async def create_key(
    body: KeyCreate, session: SessionDep, principal: Admin, state: StateDep
) -> CreatedKey:
    """A new API key, shown once. `team`: another team (operator team admins only)."""
    plaintext, key, team = await service.new_key(
        session,
        principal,
        scopes=list(body.scopes),
        name=body.name,
        projects=body.projects,
        team=body.team,
        operator=state.settings.operator_team,
    )
    return _created(plaintext, key, team)


@router.get("/keys", response_model=KeyList)
async def list_keys(session: SessionDep, principal: Admin) -> KeyList:
    """This team's keys (prefixes only; a key is never shown again)."""
    keys = await service.list_keys(session, principal)
    return KeyList(keys=[KeyOut.model_validate(k, from_attributes=True) for k in keys])


@router.post(
    "/keys/{key_id}/rotate",
    status_code=201,
    response_model=CreatedKey,
    responses={404: {}, 409: {}},
)
async def rotate_key(key_id: uuid.UUID, session: SessionDep, principal: Admin) -> CreatedKey:
    """Replace a key: a new one with the same name, scopes and projects; the old one stops
    working now."""
    plaintext, key, team = await service.rotate(session, principal, key_id)
    return _created(plaintext, key, team)


@router.delete("/keys/{key_id}", status_code=204, responses={404: {}})
async def revoke_key(key_id: uuid.UUID, session: SessionDep, principal: Admin) -> Response:
    """Revoke a key (idempotent)."""
    await service.revoke(session, principal, key_id)
    return Response(status_code=204)
