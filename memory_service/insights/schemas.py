"""What the insights service returns."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field


class ProjectCounts(BaseModel):
    project: str
    total: int
    by_kind: dict[str, int]


class Counts(BaseModel):
    total: int
    by_kind: dict[str, int]
    projects: list[ProjectCounts]


class Week(BaseModel):
    start: date
    by_kind: dict[str, int]
    total: int


class Weekly(BaseModel):
    """Learnings written per week (weeks start on Monday, UTC), oldest week first."""

    weeks: list[Week]
    kinds: list[str]
    peak: int


class RecurringMistake(BaseModel):
    id: uuid.UUID = Field(description="The copy to open: canonical when readable")
    text: str
    occurrences: int = Field(description="Copies the key may read")
    projects: list[str]
    last_seen: datetime


class Waiting(BaseModel):
    project: str
    recipient: str
    unread: int
    oldest: datetime
