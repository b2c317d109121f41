"""Ready to be distributed by team (issue 21): every key of a team-owned table includes
`team_id`, and every statement names its team.

Two lookups happen before the team is known: a request's API key by its prefix, and a console
session by its token's hash. Both columns were unique on their own (`api_keys.prefix`,
`console_sessions.token_hash`), which a table distributed by `team_id` cannot enforce (Citus
requires every unique constraint of a distributed table to include the distribution column),
and a lookup by them alone would have to ask every shard. They move to two small directory
tables, meant to be Citus reference tables (a copy on every node): `key_prefixes` (prefix ->
team) and `console_tokens` (token hash -> team). Their primary keys keep prefixes and token
hashes unique across teams as before; `api_keys` and `console_sessions` keep them unique per
team. A directory row is written once, with its key or session, and never updated
(`api_keys.last_used_at` changes on the distributed table, one shard). The directories are
team-owned rows too, under the same row-level security policy.

`memory_authenticate` and `memory_console_session` read the team from the directory, then the
key or session with that team. `memory_text_candidates` takes the team as its first argument
(and still returns nothing unless it is the transaction's team, so a caller cannot name
another team): a statement calling it names the team in its own text, and under Citus the
function can be distributed by that argument. Its definition comes from recall/sql.py, as
0007's did.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from memory_service.recall import sql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "memory_app"
_SYSTEM = "current_setting('memory.system', true) = 'on'"
_TEAM = "NULLIF(current_setting('memory.team_id', true), '')::uuid"
TEXT_CANDIDATES_BEFORE = (
    "memory_text_candidates(tsquery, tsquery, integer, uuid, uuid[], text[], timestamptz)"
)

AUTHENTICATE = """
    CREATE OR REPLACE FUNCTION memory_authenticate(key_prefix text, presented_hash text,
                                                   resolution interval)
    RETURNS TABLE (team_id uuid, id uuid, scopes text[], projects text[])
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
    DECLARE
        owner_team uuid;
        key public.api_keys%ROWTYPE;
    BEGIN
        PERFORM set_config('memory.system', 'on', true);
        SELECT d.team_id INTO owner_team FROM public.key_prefixes d WHERE d.prefix = key_prefix;
        IF FOUND THEN
            SELECT * INTO key FROM public.api_keys k
             WHERE k.team_id = owner_team AND k.prefix = key_prefix
               AND k.key_hash = presented_hash AND k.revoked_at IS NULL;
        END IF;
        IF owner_team IS NULL OR key.id IS NULL THEN
            PERFORM set_config('memory.system', 'off', true);
            RETURN;
        END IF;
        IF key.last_used_at IS NULL OR key.last_used_at < now() - resolution THEN
            UPDATE public.api_keys SET last_used_at = now()
             WHERE api_keys.team_id = owner_team AND api_keys.id IN (
                   SELECT k.id FROM public.api_keys k
                    WHERE k.team_id = owner_team AND k.id = key.id
                      FOR UPDATE SKIP LOCKED);
        END IF;
        PERFORM set_config('memory.system', 'off', true);
        team_id := key.team_id;
        id := key.id;
        scopes := key.scopes;
        projects := key.projects;
        RETURN NEXT;
    END
    $$
"""

CONSOLE_SESSION = """
    CREATE OR REPLACE FUNCTION memory_console_session(presented_hash text)
    RETURNS TABLE (team_id uuid, id uuid, key_id uuid, prefix text, scopes text[],
                   projects text[], expires_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
    DECLARE
        owner_team uuid;
    BEGIN
        PERFORM set_config('memory.system', 'on', true);
        SELECT d.team_id INTO owner_team FROM public.console_tokens d
         WHERE d.token_hash = presented_hash;
        IF FOUND THEN
            RETURN QUERY
                SELECT s.team_id, s.id, s.key_id, k.prefix, k.scopes, k.projects, s.expires_at
                  FROM public.console_sessions s
                  JOIN public.api_keys k ON k.team_id = owner_team AND k.id = s.key_id
                 WHERE s.team_id = owner_team AND s.token_hash = presented_hash
                   AND s.expires_at > now()
                   AND k.revoked_at IS NULL;
        END IF;
        PERFORM set_config('memory.system', 'off', true);
    END
    $$
"""

# As 0005 and 0011 created them, for the downgrade.
AUTHENTICATE_BEFORE = """
    CREATE OR REPLACE FUNCTION memory_authenticate(key_prefix text, presented_hash text,
                                                   resolution interval)
    RETURNS TABLE (team_id uuid, id uuid, scopes text[], projects text[])
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
    DECLARE
        key public.api_keys%ROWTYPE;
    BEGIN
        PERFORM set_config('memory.system', 'on', true);
        SELECT * INTO key FROM public.api_keys k
         WHERE k.prefix = key_prefix AND k.key_hash = presented_hash
           AND k.revoked_at IS NULL;
        IF NOT FOUND THEN
            PERFORM set_config('memory.system', 'off', true);
            RETURN;
        END IF;
        IF key.last_used_at IS NULL OR key.last_used_at < now() - resolution THEN
            UPDATE public.api_keys SET last_used_at = now()
             WHERE (api_keys.team_id, api_keys.id) IN (
                   SELECT k.team_id, k.id FROM public.api_keys k
                    WHERE k.team_id = key.team_id AND k.id = key.id
                      FOR UPDATE SKIP LOCKED);
        END IF;
        PERFORM set_config('memory.system', 'off', true);
        team_id := key.team_id;
        id := key.id;
        scopes := key.scopes;
        projects := key.projects;
        RETURN NEXT;
    END
    $$
"""

CONSOLE_SESSION_BEFORE = """
    CREATE OR REPLACE FUNCTION memory_console_session(presented_hash text)
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

TEXT_CANDIDATES_FUNCTION_BEFORE = """
        CREATE OR REPLACE FUNCTION memory_text_candidates(
            q tsquery, q_fill tsquery, n integer, visible_project uuid, scope uuid[],
            kinds text[], since timestamptz
        ) RETURNS TABLE (id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER ROWS 50
        SET search_path = pg_catalog, public
        AS $$
            WITH visible AS NOT MATERIALIZED (
                SELECT l.id, l.tsv
                  FROM public.learnings l
                 WHERE l.team_id = NULLIF(current_setting('memory.team_id', true), '')::uuid
                   AND (l.visibility = 'team' OR l.project_id = visible_project)
                   AND (scope IS NULL OR l.project_id = ANY (scope))
                   AND (kinds IS NULL OR l.kind = ANY (kinds))
                   AND (since IS NULL OR l.created_at >= since)
            )
            (SELECT v.id FROM visible v WHERE v.tsv @@ q
              ORDER BY ts_rank_cd(v.tsv, q, 32) DESC LIMIT n)
            UNION
            (SELECT v.id FROM visible v WHERE q_fill IS NOT NULL AND v.tsv @@ q_fill
              ORDER BY ts_rank_cd(v.tsv, q_fill, 32) DESC LIMIT n)
        $$
        """


def _directory(table: str, column: str) -> None:
    op.create_table(
        table,
        sa.Column(column, sa.Text(), nullable=False),
        sa.Column("team_id", postgresql.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=f"fk_{table}_team_id_teams", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(column, name=f"pk_{table}"),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY team_isolation ON {table} "
        f"USING ({_SYSTEM} OR team_id = {_TEAM}) "
        f"WITH CHECK ({_SYSTEM} OR team_id = {_TEAM})"
    )


def upgrade() -> None:
    _directory("key_prefixes", "prefix")
    _directory("console_tokens", "token_hash")
    # The migrating user owns the tables; api_keys and console_sessions are FORCEd.
    op.execute("SELECT set_config('memory.system', 'on', true)")
    op.execute("INSERT INTO key_prefixes (prefix, team_id) SELECT prefix, team_id FROM api_keys")
    op.execute(
        "INSERT INTO console_tokens (token_hash, team_id) "
        "SELECT token_hash, team_id FROM console_sessions"
    )
    op.drop_constraint("uq_api_keys_prefix", "api_keys", type_="unique")
    op.create_unique_constraint("uq_api_keys_team_id_prefix", "api_keys", ["team_id", "prefix"])
    op.drop_constraint("uq_console_sessions_token_hash", "console_sessions", type_="unique")
    op.create_unique_constraint(
        "uq_console_sessions_team_id_token_hash", "console_sessions", ["team_id", "token_hash"]
    )
    op.execute(AUTHENTICATE)
    op.execute(CONSOLE_SESSION)
    op.execute(f"DROP FUNCTION IF EXISTS {TEXT_CANDIDATES_BEFORE}")
    op.execute(sql.TEXT_CANDIDATES_FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {sql.TEXT_CANDIDATES_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {sql.TEXT_CANDIDATES_SIGNATURE} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {sql.TEXT_CANDIDATES_SIGNATURE}")
    op.execute(TEXT_CANDIDATES_FUNCTION_BEFORE)
    op.execute(f"REVOKE ALL ON FUNCTION {TEXT_CANDIDATES_BEFORE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {TEXT_CANDIDATES_BEFORE} TO {APP_ROLE}")
    op.execute(CONSOLE_SESSION_BEFORE)
    op.execute(AUTHENTICATE_BEFORE)
    op.drop_constraint("uq_console_sessions_team_id_token_hash", "console_sessions", type_="unique")
    op.create_unique_constraint(
        "uq_console_sessions_token_hash", "console_sessions", ["token_hash"]
    )
    op.drop_constraint("uq_api_keys_team_id_prefix", "api_keys", type_="unique")
    op.create_unique_constraint("uq_api_keys_prefix", "api_keys", ["prefix"])
    op.drop_table("console_tokens")
    op.drop_table("key_prefixes")
