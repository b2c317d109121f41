"""Row-level security: every team-owned table shows and accepts only the rows of the team the
transaction acts for (`memory.team_id`), or every row in system mode (`memory.system = on`).
Request connections act as role `memory_app`, which owns nothing, and FORCE makes the
policies bind the owner too. Also: learnings can be flagged as instruction-like.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "memory_app"
TEAM_TABLES = ("api_keys", "projects", "handoffs", "learnings", "audit_events")
_SYSTEM = "current_setting('memory.system', true) = 'on'"
_TEAM = "NULLIF(current_setting('memory.team_id', true), '')::uuid"


def upgrade() -> None:
    # Roles belong to the whole cluster: another database of it may have created it already.
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN;
            END IF;
        END $$
        """
    )
    # The migrating user must be able to act as the role (superusers can anyway).
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
                EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
            END IF;
        END $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {APP_ROLE}")
    for table in TEAM_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY team_isolation ON {table} "
            f"USING ({_SYSTEM} OR team_id = {_TEAM}) "
            f"WITH CHECK ({_SYSTEM} OR team_id = {_TEAM})"
        )
    op.execute("ALTER TABLE teams ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE teams FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY team_isolation ON teams USING ({_SYSTEM} OR id = {_TEAM}) "
        f"WITH CHECK ({_SYSTEM})"
    )
    op.add_column("learnings", sa.Column("flag_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("learnings", "flag_reason")
    for table in (*TEAM_TABLES, "teams"):
        op.execute(f"DROP POLICY IF EXISTS team_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    # The role itself stays: other databases of the cluster may use it.
