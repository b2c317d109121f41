"""Projects: one row per canonical slug per team, created on first use."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal
from memory_service.errors import Forbidden
from memory_service.ids import new_id
from memory_service.models import Project


def check_access(principal: Principal, slug: str) -> None:
    if not principal.may_access(slug):
        raise Forbidden(f"this API key is not allowed on project {slug}")


async def find_project(session: AsyncSession, team_id: uuid.UUID, slug: str) -> Project | None:
    return await session.scalar(
        select(Project).where(Project.team_id == team_id, Project.slug == slug)
    )


async def get_or_create_project(session: AsyncSession, team_id: uuid.UUID, slug: str) -> Project:
    # ON CONFLICT DO NOTHING: two first writes to a new project race without an error.
    await session.execute(
        insert(Project)
        .values(team_id=team_id, id=new_id(), slug=slug)
        .on_conflict_do_nothing(index_elements=["team_id", "slug"])
    )
    project = await find_project(session, team_id, slug)
    assert project is not None
    return project
