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
    short_id: str = Field(default="", description="The last 10 hex digits of `id`, to cite it by")
    uses: int = Field(
        default=0, description="How often a brief delivered it or a search or recall returned it"
    )
    last_used_at: datetime | None = None
    helpful: int = Field(default=0, description="Keys that reported it helpful")
    wrong: bool = Field(default=False, description="Reported wrong by a key with write scope")
    outdated: bool = Field(default=False, description="Reported outdated")


class Forgotten(BaseModel):
    deleted: int = Field(description="Learnings removed: this one and its near-duplicates")
