"""Sign-in sessions of the web console (/console, issue 19).

A person signs in with an API key once; the console then keeps only a random session token in
an `HttpOnly` cookie, never the key. The table keeps a SHA-256 of that token, the key it acts
for and when it expires. It is team-owned, so under row-level security like every other team
table (0002), and its rows go with their key (`ON DELETE CASCADE`).

`memory_console_session` finds a session by its token's hash before the team is known, like
`memory_authenticate` (0005) finds a key: as the table owner, in one statement, returning a
row only for a session that has not expired and whose key is not revoked, so revoking a key
signs out every console session made with it at once.

`learnings.reviewed_at` / `reviewed_by` record that a person looked at a learning in the
console's review queue and kept it: it leaves the queue until something new puts it back (a
later report, a new flag). Nullable, no default: added without rewriting the table.

Three indexes keep the console's pages fast at 100k learnings (bench/RESULTS.md, issue 19):
learnings per week and kind (the overview's chart) as an index-only scan over
`(team_id, created_at) INCLUDE (kind, project_id)`; the review queue's reported or flagged
learnings through a partial index holding only those; a learning's audit history through
`(team_id, target_id)` of the events that have a target. None of them covers a column that
counting uses changes (`uses`, `last_used_at`), so those updates stay in place (0010).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "memory_app"
_SYSTEM = "current_setting('memory.system', true) = 'on'"
_TEAM = "NULLIF(current_setting('memory.team_id', true), '')::uuid"
SIGNATURE = "memory_console_session(text)"


def upgrade() -> None:
    op.add_column("learnings", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("learnings", sa.Column("reviewed_by", postgresql.UUID(), nullable=True))
    op.create_index(
        "ix_learnings_team_id_created_at",
        "learnings",
        ["team_id", "created_at"],
        postgresql_include=["kind", "project_id"],
    )
    op.create_index(
        "ix_learnings_team_id_needs_review",
        "learnings",
        ["team_id"],
        postgresql_where=sa.text("flagged OR wrong_at IS NOT NULL OR outdated_at IS NOT NULL"),
    )
    op.create_index(
        "ix_audit_events_team_id_target_id",
        "audit_events",
        ["team_id", "target_id"],
        postgresql_where=sa.text("target_id IS NOT NULL"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("team_id", postgresql.UUID(), nullable=False),
        sa.Column("id", postgresql.UUID(), nullable=False),
        sa.Column("key_id", postgresql.UUID(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id", "key_id"],
            ["api_keys.team_id", "api_keys.id"],
            name=op.f("fk_console_sessions_team_id_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_sessions_token_hash")),
    )
    op.create_index(
        "ix_console_sessions_team_id_expires_at", "console_sessions", ["team_id", "expires_at"]
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON console_sessions TO {APP_ROLE}")
    op.execute("ALTER TABLE console_sessions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE console_sessions FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY team_isolation ON console_sessions "
        f"USING ({_SYSTEM} OR team_id = {_TEAM}) "
        f"WITH CHECK ({_SYSTEM} OR team_id = {_TEAM})"
    )
    op.execute(
        """
        CREATE FUNCTION memory_console_session(presented_hash text)
        RETURNS TABLE (team_id uuid, id uuid, key_id uuid, prefix text, scopes text[],
                       projects text[], expires_at timestamptz)
        LANGUAGE plpgsql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, public
        AS $$
        BEGIN
            PERFORM set_config('memory.system', 'on', true);
            RETURN QUERY
                SELECT s.team_id, s.id, s.key_id, k.prefix, k.scopes, k.projects, s.expires_at
                  FROM public.console_sessions s
                  JOIN public.api_keys k ON k.team_id = s.team_id AND k.id = s.key_id
                 WHERE s.token_hash = presented_hash
                   AND s.expires_at > now()
                   AND k.revoked_at IS NULL;
            PERFORM set_config('memory.system', 'off', true);
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    op.drop_table("console_sessions")
    op.drop_index("ix_audit_events_team_id_target_id", "audit_events")
    op.drop_index("ix_learnings_team_id_needs_review", "learnings")
    op.drop_index("ix_learnings_team_id_created_at", "learnings")
    op.drop_column("learnings", "reviewed_by")
    op.drop_column("learnings", "reviewed_at")
