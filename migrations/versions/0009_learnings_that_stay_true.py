"""Learnings that stay true (issue 18): each learning keeps the git evidence it came from, can
be superseded by a later one (or only pointed at a likely newer one), a next step can be marked
done, people and agents can report it helpful, wrong or outdated, and its use is counted so a
team may forget what nobody used.

All new `learnings` columns are nullable or have a constant default: PostgreSQL adds them
without rewriting the table. `learning_feedback` is team-owned, so under row-level security
like every other team table (0002). The team's forgetting policy lives on `teams` (whose policy
already limits a transaction to its own row).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "memory_app"
_SYSTEM = "current_setting('memory.system', true) = 'on'"
_TEAM = "NULLIF(current_setting('memory.team_id', true), '')::uuid"


def _learning_ref(column: str) -> None:
    op.create_foreign_key(
        op.f(f"fk_learnings_team_id_{column}_learnings"),
        "learnings",
        "learnings",
        ["team_id", column],
        ["team_id", "id"],
        ondelete=f"SET NULL ({column})",
    )


def upgrade() -> None:
    add = op.add_column
    # [{"path": ..., "blob": ... | null, "line": ... | null, "symbol": ... | null}, ...]
    add(
        "learnings",
        sa.Column(
            "citations",
            postgresql.JSONB(),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    add("learnings", sa.Column("superseded_by", postgresql.UUID(), nullable=True))
    add("learnings", sa.Column("superseded_how", sa.Text(), nullable=True))
    add("learnings", sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
    add("learnings", sa.Column("newer_id", postgresql.UUID(), nullable=True))
    add("learnings", sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    add("learnings", sa.Column("done_by", postgresql.UUID(), nullable=True))
    add("learnings", sa.Column("uses", sa.Integer(), server_default=sa.text("0"), nullable=False))
    add("learnings", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    add(
        "learnings",
        sa.Column("helpful", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    add("learnings", sa.Column("wrong_at", sa.DateTime(timezone=True), nullable=True))
    add("learnings", sa.Column("outdated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_learnings_superseded_how"),
        "learnings",
        "superseded_how IN ('explicit', 'section', 'rule')",
    )
    _learning_ref("superseded_by")
    _learning_ref("newer_id")
    op.create_foreign_key(
        op.f("fk_learnings_team_id_done_by_handoffs"),
        "learnings",
        "handoffs",
        ["team_id", "done_by"],
        ["team_id", "id"],
        ondelete="SET NULL (done_by)",
    )
    op.create_index(
        "ix_learnings_team_id_superseded_by",
        "learnings",
        ["team_id", "superseded_by"],
        postgresql_where=sa.text("superseded_by IS NOT NULL"),
    )
    op.create_index(
        "ix_learnings_team_id_newer_id",
        "learnings",
        ["team_id", "newer_id"],
        postgresql_where=sa.text("newer_id IS NOT NULL"),
    )
    op.create_index("ix_learnings_team_id_last_used_at", "learnings", ["team_id", "last_used_at"])

    op.create_table(
        "learning_feedback",
        sa.Column("team_id", postgresql.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("learning_id", postgresql.UUID(), nullable=False),
        sa.Column("key_id", postgresql.UUID(), nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        # The reporting key could write: only then does `wrong` hide the learning from briefs.
        sa.Column("writer", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", postgresql.UUID(), nullable=True),
        sa.CheckConstraint(
            "value IN ('helpful', 'wrong', 'outdated')", name=op.f("ck_learning_feedback_value")
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "learning_id"],
            ["learnings.team_id", "learnings.id"],
            name=op.f("fk_learning_feedback_team_id_learning_id_learnings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "id", name=op.f("pk_learning_feedback")),
    )
    op.create_index(
        "ix_learning_feedback_team_id_learning_id",
        "learning_feedback",
        ["team_id", "learning_id"],
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON learning_feedback TO {APP_ROLE}")
    op.execute("ALTER TABLE learning_feedback ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE learning_feedback FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY team_isolation ON learning_feedback "
        f"USING ({_SYSTEM} OR team_id = {_TEAM}) "
        f"WITH CHECK ({_SYSTEM} OR team_id = {_TEAM})"
    )

    # The team's forgetting policy (None: off).
    add("teams", sa.Column("forget_unused_days", sa.Integer(), nullable=True))
    add("teams", sa.Column("next_step_expiry_days", sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f("ck_teams_forget_unused_days"), "teams", "forget_unused_days > 0"
    )
    op.create_check_constraint(
        op.f("ck_teams_next_step_expiry_days"), "teams", "next_step_expiry_days > 0"
    )


def downgrade() -> None:
    op.drop_constraint("ck_teams_next_step_expiry_days", "teams")
    op.drop_constraint("ck_teams_forget_unused_days", "teams")
    op.drop_column("teams", "next_step_expiry_days")
    op.drop_column("teams", "forget_unused_days")
    op.drop_table("learning_feedback")
    op.drop_index("ix_learnings_team_id_last_used_at", "learnings")
    op.drop_index("ix_learnings_team_id_newer_id", "learnings")
    op.drop_index("ix_learnings_team_id_superseded_by", "learnings")
    op.drop_constraint("fk_learnings_team_id_done_by_handoffs", "learnings")
    op.drop_constraint("fk_learnings_team_id_newer_id_learnings", "learnings")
    op.drop_constraint("fk_learnings_team_id_superseded_by_learnings", "learnings")
    op.drop_constraint("ck_learnings_superseded_how", "learnings")
    for column in (
        "outdated_at",
        "wrong_at",
        "helpful",
        "last_used_at",
        "uses",
        "done_by",
        "done_at",
        "newer_id",
        "superseded_at",
        "superseded_how",
        "superseded_by",
        "citations",
    ):
        op.drop_column("learnings", column)
