"""What the insights service returns."""

from __future__ import annotations

from pydantic import BaseModel


class ProjectCounts(BaseModel):
    project: str
    total: int
    by_kind: dict[str, int]


class Counts(BaseModel):
    total: int
    by_kind: dict[str, int]
    projects: list[ProjectCounts]
