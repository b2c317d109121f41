"""Every table of the service. Alembic migrations in `migrations/` are the only way they change.

Every team-owned table carries `team_id` and includes it in its primary key, unique
constraints and foreign keys, so that rows of one team stay together and the tables can later
be distributed by team (Citus) without a schema change (tests/test_shard_ready.py checks it on
the migrated database). The exceptions are the REFERENCE_TABLES: small, copied to every node
under Citus, read before the team is known (docs/scaling.md).

A table whose rows the API also returns under a name of its own is named for the row
(`HandoffRow`, `LearningRow`; the API's shapes are `Handoff` and `Learning`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from memory_service.config import EMBEDDING_DIMENSIONS
from memory_service.vectors import BinaryVector
from memory_service.vocabulary import (
    Feedback,
    HandoffStatus,
    Kind,
    Supersession,
    Visibility,
    values,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LEARNING_KINDS = values(Kind)
VISIBILITIES = values(Visibility)
HANDOFF_STATUSES = values(HandoffStatus)
SUPERSESSIONS = values(Supersession)
FEEDBACK_VALUES = values(Feedback)
# The text search configuration of `learnings.tsv`; search must use the same one.
TS_CONFIG = "english"


# Tables a distributed database would copy to every node instead of splitting by team: the
# teams themselves, and the two directories read before the team is known (a request's key by
# its prefix, a console session by its token's hash; migration 0012). Every other table with a
# `team_id` column is distributed by it.
REFERENCE_TABLES = frozenset({"teams", "key_prefixes", "console_tokens"})


def _of_team(column: str, table: str, *, ondelete: str = "CASCADE") -> ForeignKeyConstraint:
    """A reference to a row of `table` of the same team (every key is (team_id, id))."""
    return ForeignKeyConstraint(
        ["team_id", column], [f"{table}.team_id", f"{table}.id"], ondelete=ondelete
    )


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The team's forgetting policy (None: off): forget learnings nobody used for this many days,
    # and next steps and status reports after this many.
    forget_unused_days: Mapped[int | None] = mapped_column(Integer)
    next_step_expiry_days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("forget_unused_days > 0", name="forget_unused_days"),
        CheckConstraint("next_step_expiry_days > 0", name="next_step_expiry_days"),
    )


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        PrimaryKeyConstraint("team_id", "id"),
        # Unique across teams through key_prefixes, which finds a key's team.
        UniqueConstraint("team_id", "prefix"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("teams.id", ondelete="CASCADE"))
    id: Mapped[uuid.UUID] = mapped_column(UUID)
    name: Mapped[str | None] = mapped_column(Text)
    # The public, non-secret part of the key, used to find the row; only a hash of the whole
    # key is stored.
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # None: every project of the team.
    projects: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KeyPrefix(Base):
    """Which team a key prefix belongs to: the one lookup a request makes before its team is
    known (migration 0012). Written with the key, never changed; a reference table."""

    __tablename__ = "key_prefixes"

    prefix: Mapped[str] = mapped_column(Text, primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("teams.id", ondelete="CASCADE"))


class ConsoleToken(Base):
    """Which team a console session's token (its SHA-256) belongs to (migration 0012): written
    and deleted with the session; a reference table."""

    __tablename__ = "console_tokens"

    token_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("teams.id", ondelete="CASCADE"))


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (PrimaryKeyConstraint("team_id", "id"), UniqueConstraint("team_id", "slug"))

    team_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("teams.id", ondelete="CASCADE"))
    id: Mapped[uuid.UUID] = mapped_column(UUID)
    slug: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HandoffRow(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        PrimaryKeyConstraint("team_id", "id"),
        _of_team("project_id", "projects"),
        CheckConstraint(_in("status", HANDOFF_STATUSES), name="status"),
        CheckConstraint(_in("visibility", VISIBILITIES), name="visibility"),
        # What a start-up claim scans: the unread handoffs of one worktree, oldest first.
        Index(
            "ix_handoffs_inbox",
            "team_id",
            "project_id",
            "recipient",
            "created_at",
            postgresql_where=sql("status = 'unread'"),
        ),
        Index("ix_handoffs_listing", "team_id", "project_id", "received_at", "id"),
        Index(
            "uq_handoffs_idempotency_key",
            "team_id",
            "idempotency_key",
            unique=True,
            postgresql_where=sql("idempotency_key IS NOT NULL"),
        ),
        Index("ix_handoffs_content_hash", "team_id", "project_id", "recipient", "content_hash"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(UUID)
    id: Mapped[uuid.UUID] = mapped_column(UUID)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID)
    sender: Mapped[str | None] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    tool: Mapped[str | None] = mapped_column(Text)
    session_id: Mapped[str | None] = mapped_column(Text)
    branch: Mapped[str | None] = mapped_column(Text)
    head: Mapped[str | None] = mapped_column(Text)
    front_matter: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))
    body: Mapped[str] = mapped_column(Text)
    # Pointers the handoff carries that are not embedded: file paths and verification commands.
    files: Mapped[list[str]] = mapped_column(JSONB, server_default=sql("'[]'::jsonb"))
    commands: Mapped[list[str]] = mapped_column(JSONB, server_default=sql("'[]'::jsonb"))
    warnings: Mapped[list[str]] = mapped_column(JSONB, server_default=sql("'[]'::jsonb"))
    redactions: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    sentinel: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    # Hash of the request an idempotency key was first used with, to refuse a reuse with
    # another body.
    request_hash: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=sql("'unread'"))
    visibility: Mapped[str] = mapped_column(Text, server_default=sql("'team'"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(Text)
    claim_branch: Mapped[str | None] = mapped_column(Text)
    claim_head: Mapped[str | None] = mapped_column(Text)
    # When the handoff was written (front matter `created`, else arrival).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class LearningRow(Base):
    __tablename__ = "learnings"
    __table_args__ = (
        PrimaryKeyConstraint("team_id", "id"),
        _of_team("handoff_id", "handoffs"),
        _of_team("project_id", "projects"),
        # Only the pointer is cleared when the canonical row goes; team_id must stay.
        _of_team("canonical_id", "learnings", ondelete="SET NULL (canonical_id)"),
        _of_team("superseded_by", "learnings", ondelete="SET NULL (superseded_by)"),
        _of_team("newer_id", "learnings", ondelete="SET NULL (newer_id)"),
        _of_team("done_by", "handoffs", ondelete="SET NULL (done_by)"),
        CheckConstraint(_in("kind", LEARNING_KINDS), name="kind"),
        CheckConstraint(_in("superseded_how", SUPERSESSIONS), name="superseded_how"),
        CheckConstraint(_in("visibility", VISIBILITIES), name="visibility"),
        Index("ix_learnings_team_id_project_id_kind", "team_id", "project_id", "kind"),
        Index("ix_learnings_team_id_handoff_id", "team_id", "handoff_id"),
        Index("ix_learnings_team_id_content_hash", "team_id", "kind", "content_hash"),
        Index("ix_learnings_team_id_canonical_id", "team_id", "canonical_id"),
        # Over the vectors as 2-byte floats (migration 0004): 43 % smaller, a third faster,
        # same recall; queries order by HNSW_ORDER_EXPRESSION to use it.
        Index(
            "ix_learnings_embedding_hnsw",
            literal_column(f"CAST(embedding AS halfvec({EMBEDDING_DIMENSIONS}))").label("half"),
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"half": "halfvec_cosine_ops"},
        ),
        Index("ix_learnings_tsv", "tsv", postgresql_using="gin"),
        Index(
            "ix_learnings_team_id_superseded_by",
            "team_id",
            "superseded_by",
            postgresql_where=sql("superseded_by IS NOT NULL"),
        ),
        Index(
            "ix_learnings_team_id_newer_id",
            "team_id",
            "newer_id",
            postgresql_where=sql("newer_id IS NOT NULL"),
        ),
        # The console (0011): learnings per week and kind, and the review queue.
        Index(
            "ix_learnings_team_id_created_at",
            "team_id",
            "created_at",
            postgresql_include=["kind", "project_id"],
        ),
        Index(
            "ix_learnings_team_id_needs_review",
            "team_id",
            postgresql_where=sql("flagged OR wrong_at IS NOT NULL OR outdated_at IS NOT NULL"),
        ),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(UUID)
    id: Mapped[uuid.UUID] = mapped_column(UUID)
    handoff_id: Mapped[uuid.UUID] = mapped_column(UUID)
    project_id: Mapped[uuid.UUID] = mapped_column(UUID)
    kind: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    section: Mapped[str] = mapped_column(Text, server_default=sql("''"))
    position: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(Text)
    # Bound as a numpy array, read back as one (pgvector's type).
    embedding: Mapped[Any] = mapped_column(BinaryVector(EMBEDDING_DIMENSIONS))
    embedding_model: Mapped[str] = mapped_column(Text)
    tsv: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(f"to_tsvector('{TS_CONFIG}'::regconfig, text)", persisted=True)
    )
    # Set when this learning repeats an earlier one (same kind, near-identical meaning):
    # search shows the canonical learning once, with its occurrences.
    canonical_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    occurrences: Mapped[int] = mapped_column(Integer, server_default=sql("1"))
    visibility: Mapped[str] = mapped_column(Text, server_default=sql("'team'"))
    # Reads like an instruction to an agent ("ignore previous instructions", `curl | sh`):
    # shown as quoted data with a warning, never as guidance.
    flagged: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"))
    flag_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The git evidence it came from (besides its handoff's branch and head): the repository
    # files it cites, each {"path", "blob" (the file's git blob id at the writer's HEAD, or
    # null), "line", "symbol"}.
    citations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=sql("'[]'::jsonb")
    )
    # A later learning that replaces this one, how that was established, and when.
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    superseded_how: Mapped[str | None] = mapped_column(Text)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A later learning that likely replaces this one, when the rule is unsure: shown as
    # "newer: ..." next to it, nothing hidden.
    newer_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    # A next step a later handoff reported done, and that handoff.
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    # How often a brief delivered it or a search returned it, and when last. Never indexed
    # (migration 0010): counting uses must update rows in place, without touching an index.
    uses: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What feedback says now (learning_feedback holds each report): helpful reports, and when
    # it was reported wrong (by a key that could write) or outdated.
    helpful: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    wrong_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outdated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A person kept it from the console's review queue (0011): when, and with which key.
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(UUID)


class LearningFeedback(Base):
    """One report on a learning: helpful, wrong or outdated, by which key, with an optional
    note; undone reports stay (with when and by whom) for the audit."""

    __tablename__ = "learning_feedback"
    __table_args__ = (
        PrimaryKeyConstraint("team_id", "id"),
        _of_team("learning_id", "learnings"),
        CheckConstraint(_in("value", FEEDBACK_VALUES), name="value"),
        Index("ix_learning_feedback_team_id_learning_id", "team_id", "learning_id"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(UUID)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    learning_id: Mapped[uuid.UUID] = mapped_column(UUID)
    key_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    value: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # The reporting key had write scope: only then does `wrong` hide the learning from briefs.
    writer: Mapped[bool] = mapped_column(Boolean, server_default=sql("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[uuid.UUID | None] = mapped_column(UUID)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        PrimaryKeyConstraint("team_id", "id"),
        Index("ix_audit_events_team_id_created_at", "team_id", "created_at"),
        # A learning's audit history on the console (0011).
        Index(
            "ix_audit_events_team_id_target_id",
            "team_id",
            "target_id",
            postgresql_where=sql("target_id IS NOT NULL"),
        ),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("teams.id", ondelete="CASCADE"))
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    key_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    action: Mapped[str] = mapped_column(Text)
    target_type: Mapped[str | None] = mapped_column(Text)
    target_id: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecallInjection(Base):
    """A learning the prompt-time recall (`POST /v1/recall`) has given one agent session: it
    is not given to that session again while the row is younger than the expiry
    (recall/ranking.py). Rows older than that are ignored and deleted in small batches."""

    __tablename__ = "recall_injections"
    __table_args__ = (
        PrimaryKeyConstraint("team_id", "session_key", "learning_id"),
        Index("ix_recall_injections_team_id_injected_at", "team_id", "injected_at"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("teams.id", ondelete="CASCADE"))
    # The agent's session id as the caller sent it.
    session_key: Mapped[str] = mapped_column(Text)
    learning_id: Mapped[uuid.UUID] = mapped_column(UUID)
    injected_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ConsoleSession(Base):
    """A sign-in to the web console: made with an API key, it acts as that key until it
    expires or the key is revoked. Only a SHA-256 of the cookie's token is kept."""

    __tablename__ = "console_sessions"
    __table_args__ = (
        PrimaryKeyConstraint("team_id", "id"),
        _of_team("key_id", "api_keys"),
        Index("ix_console_sessions_team_id_expires_at", "team_id", "expires_at"),
        # Unique across teams through console_tokens, which finds a session's team.
        UniqueConstraint("team_id", "token_hash"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(UUID)
    id: Mapped[uuid.UUID] = mapped_column(UUID)
    key_id: Mapped[uuid.UUID] = mapped_column(UUID)
    token_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
