"""The search's text lookups cost what their work is, not what the table holds (issue 21 point
3): at 1M learnings the hybrid p95 was 2.1x its 100k value, and the time was in two lookups
whose cost followed the table.

- `memory_text_candidates` ranks at most `TEXT_RANK_PER_CANDIDATE` (10) rows per candidate it
  returns, for each of its two queries (ranking reads each row's tsvector): an AND of common
  terms matched thousands of rows at 1M and ranked them all.
- `memory_text_match` (new): whether a learning the caller may see holds a name the query
  mentions. The search asked `memory_text_candidates(..., n = 1)` instead, which ranked every
  row holding the name to return one (25-400 ms at 1M for a name held by thousands).

Both definitions come from recall/sql.py, as 0007's and 0012's did.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

from memory_service.recall import sql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "memory_app"

# 0012's body (the signature is unchanged).
TEXT_CANDIDATES_FUNCTION_BEFORE = """
        CREATE OR REPLACE FUNCTION memory_text_candidates(
            team uuid, q tsquery, q_fill tsquery, n integer, visible_project uuid, scope uuid[],
            kinds text[], since timestamptz
        ) RETURNS TABLE (id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER ROWS 50
        SET search_path = pg_catalog, public
        AS $$
            WITH visible AS NOT MATERIALIZED (
                SELECT l.id, l.tsv
                  FROM public.learnings l
                 WHERE l.team_id = team
                   AND team = NULLIF(current_setting('memory.team_id', true), '')::uuid
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


def upgrade() -> None:
    op.execute(sql.TEXT_CANDIDATES_FUNCTION)
    op.execute(sql.TEXT_MATCH_FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {sql.TEXT_MATCH_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {sql.TEXT_MATCH_SIGNATURE} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {sql.TEXT_MATCH_SIGNATURE}")
    op.execute(TEXT_CANDIDATES_FUNCTION_BEFORE)
