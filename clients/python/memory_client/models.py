"""Typed results of the REST API (v1). Unknown fields are ignored, so an older client keeps
working against a newer server that adds fields.

Each model mirrors the server's schema of the same name (memory_service/handoffs/schemas.py,
memory_service/recall/schemas.py), and the enumerations mirror the server's: the field lists
are written again here on purpose (the client does not import the server), and
tests/clients/test_contract.py checks them against the server's OpenAPI document."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

# Mirrors the server's learning kinds (checked by tests/clients/test_contract.py).
Kind = Literal[
    "decision", "mistake", "pattern", "assumption", "discovery", "next_step", "status", "note"
]
KINDS: tuple[Kind, ...] = get_args(Kind)
Mode = Literal["hybrid", "vector", "text"]
Status = Literal["unread", "read"]
Visibility = Literal["team", "project"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LearningBrief(_Model):
    id: uuid.UUID
    kind: str
    text: str


class HandoffCreated(_Model):
    id: uuid.UUID
    sentinel: str
    project: str
    recipient: str
    created_at: datetime
    learnings: list[LearningBrief]
    redactions: int
    warnings: list[str]
    duplicate: bool = False


class _HandoffHeader(_Model):
    """What a handoff says about itself, in listings and in deliveries alike (the server's
    HandoffSummary and Delivery both start with these)."""

    id: uuid.UUID
    sentinel: str
    project: str
    recipient: str
    sender: str | None = None
    topic: str | None = None
    tool: str | None = None
    branch: str | None = None
    head: str | None = None
    # Front matter `name` and `description` (servers before issue 20 leave these out).
    name: str | None = None
    description: str | None = None


class HandoffSummary(_HandoffHeader):
    session_id: str | None = None
    visibility: str = "team"
    status: str
    created_at: datetime
    received_at: datetime
    claimed_at: datetime | None = None
    claimed_by: str | None = None


class MarkedRead(HandoffSummary):
    """`POST /v1/handoffs/{id}/read`: the handoff as it is now; `changed` is False when it was
    read already."""

    changed: bool


class Handoff(HandoffSummary):
    body: str
    front_matter: dict[str, Any] = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)
    suggested_skills: list[str] = Field(default_factory=list)
    redactions: int = 0
    warnings: list[str] = Field(default_factory=list)
    learnings: list[LearningBrief] = Field(default_factory=list)


class HandoffPage(_Model):
    items: list[HandoffSummary]
    next_cursor: str | None = None


class Drift(_Model):
    branch: bool
    head: bool
    handoff_branch: str | None = None
    claim_branch: str | None = None
    handoff_head: str | None = None
    claim_head: str | None = None

    @property
    def moved(self) -> bool:
        return self.branch or self.head


class Delivery(_HandoffHeader):
    """A handoff as delivered to a session: its body plus what to check before trusting it."""

    created_at: datetime
    body: str
    drift: Drift | None = None
    # Text in the handoff reads like an instruction to an agent (servers before issue 15 leave
    # these out); `hidden_markup`: HTML comments and the like were removed from `body`.
    flagged: bool = False
    flag_reasons: list[str] = Field(default_factory=list)
    hidden_markup: bool = False


class Inbox(_Model):
    handoffs: list[Delivery]


class SearchResult(_Model):
    id: uuid.UUID
    kind: str
    text: str
    score: float
    project: str
    handoff_id: uuid.UUID
    section: str = ""
    created_at: datetime
    occurrences: int = 1
    projects: list[str] = Field(default_factory=list)
    last_seen_at: datetime | None = None
    # Reads like an instruction to an agent: shown only as quoted data under a warning (servers
    # before issue 15 leave these out).
    flagged: bool = False
    flag_reason: str | None = None
    # Its cited files in the checkout the request was sent from: verified, changed, missing or
    # unknown (servers before issue 18, and requests without `checkout`: unknown).
    freshness: Literal["verified", "changed", "missing", "unknown"] = "unknown"
    freshness_paths: list[str] = Field(default_factory=list)
    # A later learning replaces this one (it never ranks above it), likely replaces it (the
    # rule was unsure), or a later handoff listed this next step as done (servers before
    # issue 18 leave these out).
    superseded_by: uuid.UUID | None = None
    newer_id: uuid.UUID | None = None
    done: bool = False
    # Citable short id, use counts and feedback (servers before issue 18 leave these out).
    short_id: str = ""
    uses: int = 0
    last_used_at: datetime | None = None
    helpful: int = 0
    wrong: bool = False
    outdated: bool = False


class SearchResponse(_Model):
    results: list[SearchResult]
    # What the query asked for, as the server read it (pitfalls, practice, open_work, task,
    # general), and whether nothing cleared its relevance floor (servers before issue 17
    # leave these out).
    intent: str = "general"
    abstained: bool = False


class CheckoutContext(_Model):
    """What the checkout is doing, sent with a brief asked without a task (the server's
    CheckoutContext; at most 10 subjects and 50 paths)."""

    commits: list[str] = Field(default_factory=list)
    changed_paths: list[str] = Field(default_factory=list)


class RecallResponse(_Model):
    """Prompt-time recall: at most a few learnings, or `abstained` with the `reason`."""

    results: list[SearchResult]
    abstained: bool
    reason: str | None = None


class CheckResponse(_Model):
    """`POST /v1/check`: past mistakes a shell command closely matches."""

    results: list[SearchResult]
    abstained: bool
    reason: str | None = None
    terms: list[str] = Field(default_factory=list)


class Brief(_Model):
    markdown: str
    tokens: int
    handoffs: list[Delivery]
    learnings: list[SearchResult]
    # What picked the learnings: "task", "checkout" or "project"; `abstained`: the task or
    # checkout was searched and nothing cleared the relevance floor.
    basis: str = "project"
    abstained: bool = False

    @property
    def empty(self) -> bool:
        """Nothing to tell: no handoff arrived and no past learning matched."""
        return not self.handoffs and not self.learnings


class Citation(_Model):
    path: str
    blob: str | None = None
    line: int | None = None
    symbol: str | None = None


class CitedPaths(_Model):
    project: str
    paths: list[str] = []


class CheckoutFiles(_Model):
    """The reader's checkout for freshness: `GET /v1/cited-paths`'s paths and their blob ids
    (None: no such file)."""

    project: str
    files: dict[str, str | None]


class GitEvidence(_Model):
    """The writer's git state: blob ids of the files a handoff cites."""

    blobs: dict[str, str] = {}


class Learning(_Model):
    id: uuid.UUID
    kind: str
    text: str
    section: str = ""
    project: str
    handoff_id: uuid.UUID
    created_at: datetime
    occurrences: int = 1
    canonical_id: uuid.UUID | None = None
    embedding_model: str = ""
    citations: list[Citation] = []
    superseded_by: uuid.UUID | None = None
    superseded_how: str | None = None
    newer_id: uuid.UUID | None = None
    done_at: datetime | None = None
    # Citable short id, use counts and feedback (servers before issue 18 leave these out).
    short_id: str = ""
    uses: int = 0
    last_used_at: datetime | None = None
    helpful: int = 0
    wrong: bool = False
    outdated: bool = False
    # The agent tool whose own memory it was imported from (`memory import --from`); None
    # when it was written as a handoff (and from servers before issue 20).
    imported_from: str | None = None


class Forgotten(_Model):
    deleted: int


Feedback = Literal["helpful", "wrong", "outdated"]


class FeedbackOut(_Model):
    """A report on a learning (`POST /v1/learnings/{ref}/feedback`), and the learning's
    summary after it: `helpful` keys, `wrong` (out of briefs), `outdated` (demoted)."""

    id: int
    learning_id: uuid.UUID
    short_id: str
    value: Feedback
    note: str | None = None
    writer: bool = False
    created_at: datetime
    undone_at: datetime | None = None
    helpful: int = 0
    wrong: bool = False
    outdated: bool = False


class FeedbackList(_Model):
    feedback: list[FeedbackOut]


class Health(_Model):
    status: str


class Readiness(_Model):
    status: str
    database: str
    model: str
