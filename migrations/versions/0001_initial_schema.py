"""Initial schema: teams, API keys, projects, handoffs, learnings (pgvector + tsvector), audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:49:50.227374
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "teams",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("projects", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_api_keys_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "audit_events",
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("key_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target_type", sa.Text(), nullable=True),
        sa.Column("target_id", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_audit_events_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        "ix_audit_events_team_id_created_at",
        "audit_events",
        ["team_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "projects",
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_projects_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "id", name=op.f("pk_projects")),
        sa.UniqueConstraint("team_id", "slug", name=op.f("uq_projects_team_id_slug")),
    )
    op.create_table(
        "handoffs",
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=True),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("tool", sa.Text(), nullable=True),
        sa.Column("session_id", sa.Text(), nullable=True),
        sa.Column("branch", sa.Text(), nullable=True),
        sa.Column("head", sa.Text(), nullable=True),
        sa.Column(
            "front_matter",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "files",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "commands",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("redactions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sentinel", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_hash", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'unread'"), nullable=False),
        sa.Column("visibility", sa.Text(), server_default=sa.text("'team'"), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("claim_branch", sa.Text(), nullable=True),
        sa.Column("claim_head", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("status IN ('unread', 'read')", name=op.f("ck_handoffs_status")),
        sa.CheckConstraint(
            "visibility IN ('team', 'project')", name=op.f("ck_handoffs_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "project_id"],
            ["projects.team_id", "projects.id"],
            name=op.f("fk_handoffs_team_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "id", name=op.f("pk_handoffs")),
    )
    op.create_index(
        "ix_handoffs_content_hash",
        "handoffs",
        ["team_id", "project_id", "recipient", "content_hash"],
        unique=False,
    )
    op.create_index(
        "ix_handoffs_inbox",
        "handoffs",
        ["team_id", "project_id", "recipient", "created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'unread'"),
    )
    op.create_index(
        "ix_handoffs_listing",
        "handoffs",
        ["team_id", "project_id", "received_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_handoffs_idempotency_key",
        "handoffs",
        ["team_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_table(
        "learnings",
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("handoff_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("section", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=False),
        sa.Column("embedding_model", sa.Text(), nullable=False),
        sa.Column(
            "tsv",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('english'::regconfig, text)", persisted=True),
            nullable=False,
        ),
        sa.Column("canonical_id", sa.UUID(), nullable=True),
        sa.Column("occurrences", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("visibility", sa.Text(), server_default=sa.text("'team'"), nullable=False),
        sa.Column("flagged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('decision', 'mistake', 'pattern', 'assumption', 'discovery', "
            "'next_step', 'status', 'note')",
            name=op.f("ck_learnings_kind"),
        ),
        sa.CheckConstraint(
            "visibility IN ('team', 'project')", name=op.f("ck_learnings_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "canonical_id"],
            ["learnings.team_id", "learnings.id"],
            name=op.f("fk_learnings_team_id_canonical_id_learnings"),
            ondelete="SET NULL (canonical_id)",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "handoff_id"],
            ["handoffs.team_id", "handoffs.id"],
            name=op.f("fk_learnings_team_id_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "project_id"],
            ["projects.team_id", "projects.id"],
            name=op.f("fk_learnings_team_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "id", name=op.f("pk_learnings")),
    )
    # Keep vectors inline: out-of-line (TOAST) vectors made exact scans about 6x slower.
    op.execute("ALTER TABLE learnings ALTER COLUMN embedding SET STORAGE PLAIN")
    op.create_index(
        "ix_learnings_embedding_hnsw",
        "learnings",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index(
        "ix_learnings_team_id_canonical_id", "learnings", ["team_id", "canonical_id"], unique=False
    )
    op.create_index(
        "ix_learnings_team_id_content_hash",
        "learnings",
        ["team_id", "kind", "content_hash"],
        unique=False,
    )
    op.create_index(
        "ix_learnings_team_id_handoff_id", "learnings", ["team_id", "handoff_id"], unique=False
    )
    op.create_index(
        "ix_learnings_team_id_project_id_kind",
        "learnings",
        ["team_id", "project_id", "kind"],
        unique=False,
    )
    op.create_index("ix_learnings_tsv", "learnings", ["tsv"], unique=False, postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_learnings_tsv", table_name="learnings", postgresql_using="gin")
    op.drop_index("ix_learnings_team_id_project_id_kind", table_name="learnings")
    op.drop_index("ix_learnings_team_id_handoff_id", table_name="learnings")
    op.drop_index("ix_learnings_team_id_content_hash", table_name="learnings")
    op.drop_index("ix_learnings_team_id_canonical_id", table_name="learnings")
    op.drop_index(
        "ix_learnings_embedding_hnsw",
        table_name="learnings",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_table("learnings")
    op.drop_index(
        "uq_handoffs_idempotency_key",
        table_name="handoffs",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index("ix_handoffs_listing", table_name="handoffs")
    op.drop_index(
        "ix_handoffs_inbox", table_name="handoffs", postgresql_where=sa.text("status = 'unread'")
    )
    op.drop_index("ix_handoffs_content_hash", table_name="handoffs")
    op.drop_table("handoffs")
    op.drop_table("projects")
    op.drop_index("ix_audit_events_team_id_created_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("api_keys")
    op.drop_table("teams")
    # The vector extension stays: other schemas of the same database may use it.
