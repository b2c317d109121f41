"""Prompt-time recall remembers what it gave each agent session (`recall_injections`), so a
session is never shown the same learning twice while the row is fresh. Team-owned, so under
row-level security like every other team table (0002): FORCEd, the same policy, and the
request role may read and write it.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "memory_app"
_SYSTEM = "current_setting('memory.system', true) = 'on'"
_TEAM = "NULLIF(current_setting('memory.team_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "recall_injections",
        sa.Column("team_id", postgresql.UUID(), nullable=False),
        sa.Column("session_key", sa.Text(), nullable=False),
        sa.Column("learning_id", postgresql.UUID(), nullable=False),
        sa.Column(
            "injected_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name="fk_recall_injections_team_id_teams",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "team_id", "session_key", "learning_id", name="pk_recall_injections"
        ),
    )
    op.create_index(
        "ix_recall_injections_team_id_injected_at",
        "recall_injections",
        ["team_id", "injected_at"],
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON recall_injections TO {APP_ROLE}")
    op.execute("ALTER TABLE recall_injections ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE recall_injections FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY team_isolation ON recall_injections "
        f"USING ({_SYSTEM} OR team_id = {_TEAM}) "
        f"WITH CHECK ({_SYSTEM} OR team_id = {_TEAM})"
    )


def downgrade() -> None:
    op.drop_table("recall_injections")
