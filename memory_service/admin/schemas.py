"""Shapes of /v1/admin."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memory_service.names import ProjectSlug

Scope = Literal["read", "write", "admin"]


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime


class TeamList(BaseModel):
    teams: list[TeamOut]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Scope] = Field(min_length=1, max_length=3)
    name: str | None = Field(default=None, max_length=200)
    projects: list[ProjectSlug] | None = Field(
        default=None, max_length=100, description="Limit the key to these projects"
    )
    team: str | None = Field(
        default=None, max_length=100, description="Another team (operator team admins only)"
    )


class KeyOut(BaseModel):
    id: uuid.UUID
    prefix: str
    name: str | None
    scopes: list[str]
    projects: list[str] | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedKey(KeyOut):
    key: str = Field(description="The API key itself; shown only in this response")
    team: str


class KeyList(BaseModel):
    keys: list[KeyOut]
