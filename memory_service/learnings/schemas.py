"""Response shapes of /v1/learnings."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from memory_service.vocabulary import Kind


class Learning(BaseModel):
    id: uuid.UUID
    kind: Kind
    text: str
    section: str
    project: str
    handoff_id: uuid.UUID
    created_at: datetime
    occurrences: int
    canonical_id: uuid.UUID | None
    embedding_model: str


class Forgotten(BaseModel):
    deleted: int = Field(description="Learnings removed: this one and its near-duplicates")
