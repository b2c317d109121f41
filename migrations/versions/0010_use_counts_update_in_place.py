"""Counting a learning's uses must not touch its indexes: drop `ix_learnings_team_id_last_used_at`.

0009 indexed `last_used_at` for the forgetting policy. But the use counter updates that column
on every learning a brief, search, recall or check returns (batched, memory_service/usage), and
PostgreSQL can update a row in place (a heap-only tuple, 0006) only when no indexed column
changes: with the index, every flush gave every index a new entry for each used learning, the
HNSW index too, at the cost of a nearest-neighbour insert per row. The forgetting run reads a
team's learnings grouped by cluster anyway (through `(team_id, ...)` indexes), hourly, so it
does not need this one.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_learnings_team_id_last_used_at", "learnings")


def downgrade() -> None:
    op.create_index("ix_learnings_team_id_last_used_at", "learnings", ["team_id", "last_used_at"])
