"""Response shapes of /v1/learnings."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from memory_service.vocabulary import Kind


class Citation(BaseModel):
    """A repository file a learning cites (handoffs/evidence.py)."""

    path: str = Field(description="Relative to the repository's top level")
    blob: str | None = Field(
        default=None, description="Its git blob id when written; null: the writer sent none"
    )
    line: int | None = None
    symbol: str | None = None


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
    citations: list[Citation] = Field(
        default_factory=list,
        description="The repository files it cites, with their blob ids when the writer sent "
        "its git state",
    )


class Forgotten(BaseModel):
    deleted: int = Field(description="Learnings removed: this one and its near-duplicates")


class CitedPaths(BaseModel):
    project: str
    paths: list[str] = Field(
        description="Paths the project's learnings cite with a blob id, most recently cited "
        "first: what a client looks up in its checkout and sends back as `checkout.files`"
    )
