"""Response shapes of /v1/learnings."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from memory_service.vocabulary import Kind, Supersession


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
    superseded_by: uuid.UUID | None = Field(
        default=None, description="A later learning of the project that replaces this one"
    )
    superseded_how: Supersession | None = Field(
        default=None,
        description="explicit (a person or agent), section (a handoff's "
        "correction section) or rule (the measured rule)",
    )
    newer_id: uuid.UUID | None = Field(
        default=None,
        description="A later learning that likely replaces this one (the rule "
        "was unsure): shown next to it, nothing hidden",
    )
    done_at: datetime | None = Field(
        default=None, description="A next step a later handoff listed as done: when"
    )
    short_id: str = Field(default="", description="The last 10 hex digits of `id`, to cite it by")
    uses: int = Field(
        default=0, description="How often a brief delivered it or a search or recall returned it"
    )
    last_used_at: datetime | None = None
    helpful: int = Field(default=0, description="Keys that reported it helpful")
    wrong: bool = Field(default=False, description="Reported wrong by a key with write scope")
    outdated: bool = Field(default=False, description="Reported outdated")
    imported_from: str | None = Field(
        default=None,
        description="The agent tool whose own memory it was imported from (`memory import "
        "--from`: claude-code, codex, agents-md), from its handoff's front matter "
        "`imported_from`; null: written as a handoff",
    )


class SupersedeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: uuid.UUID = Field(description="The later learning (same project) that replaces it")


class Forgotten(BaseModel):
    deleted: int = Field(description="Learnings removed: this one and its near-duplicates")


class CitedPaths(BaseModel):
    project: str
    paths: list[str] = Field(
        description="Paths the project's learnings cite with a blob id, most recently cited "
        "first: what a client looks up in its checkout and sends back as `checkout.files`"
    )


class Provenance(BaseModel):
    """The handoff a learning came from."""

    handoff_id: uuid.UUID
    sentinel: str
    sender: str | None
    recipient: str
    tool: str | None
    branch: str | None
    head: str | None
    session_id: str | None
    topic: str | None
    written_at: datetime
    imported_from: str | None = Field(
        default=None, description="The agent tool whose own memory this was imported from"
    )
    imported_source: str | None = Field(
        default=None, description="The file it was imported from (relative to the home folder)"
    )


class Copy(BaseModel):
    """A learning of the same near-duplicate cluster."""

    id: uuid.UUID
    project: str
    created_at: datetime
    section: str
    handoff_id: uuid.UUID


class Replaced(BaseModel):
    id: uuid.UUID
    superseded: bool = Field(description="True: superseded by this one; False: likely replaced")


class LearningView(BaseModel):
    """Everything a person looking at one learning is shown (the console's learning page)."""

    learning: Learning
    flagged: bool
    flag_reason: str | None
    superseded_at: datetime | None
    provenance: Provenance | None
    copies: list[Copy] = Field(description="Its cluster's learnings the key may read, bounded")
    projects: list[tuple[str, int]] = Field(description="(project, copies) of its cluster")
    replaces: list[Replaced]
