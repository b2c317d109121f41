"""Full-text candidates through the GIN index again, under row-level security; the common
terms of `learnings` for the search to leave out of that lookup.

Under a row-level security policy, PostgreSQL evaluates the policy before any condition that
is not "leakproof", and may then not use such a condition to pick an index. `tsv @@ query` is
not leakproof, so since 0002 every full-text search read the whole `learnings` table (at 100k
learnings: a 380 ms sequential scan per search, measured in bench/RESULTS.md).

`memory_text_candidates` runs that one lookup as the table owner, which the policy does not
bind once `learnings` is no longer FORCEd, and applies the isolation itself: it returns only
learnings of the team the calling transaction acts for (`memory.team_id`, the setting the
policy reads), so a caller can neither name nor reach another team. Every other statement of
the service still goes through the policy as before; the owner is the operator's migration
user, which was never confined to one team in practice (operator commands run in system mode).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "memory_app"
SIGNATURE = "memory_text_candidates(tsquery, tsquery, integer, uuid, uuid[], text[], timestamptz)"
COMMON_SIGNATURE = "memory_common_terms(double precision, double precision)"


def upgrade() -> None:
    op.execute("ALTER TABLE learnings NO FORCE ROW LEVEL SECURITY")
    # `q`: the query's informative terms, OR-ed; `q_fill` (or NULL): its common terms, AND-ed
    # (selective by construction), so rows holding all of those still come back when the
    # informative terms match little. ROWS: at most 2n come out; the default estimate of 1000
    # turned the join that follows into a hash join over the whole table.
    op.execute(
        """
        CREATE FUNCTION memory_text_candidates(
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
    )
    # pg_stats hides the statistics of a table whose policy binds the reader, so the common
    # terms are read as the owner too. Only terms ANALYZE found in more than `min_share` of all
    # learnings come out, and only to the service's own search, which never shows them.
    op.execute(
        """
        CREATE FUNCTION memory_common_terms(min_share double precision,
                                            min_rows double precision)
        RETURNS text[]
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, public
        AS $$
            SELECT coalesce(array_agg(u.term ORDER BY u.term), '{}')
              FROM pg_stats s
             CROSS JOIN LATERAL unnest(s.most_common_elems::text::text[],
                                       s.most_common_elem_freqs) AS u(term, share)
             WHERE s.schemaname = 'public' AND s.tablename = 'learnings'
               AND s.attname = 'tsv' AND u.term IS NOT NULL AND u.share > min_share
               AND (SELECT c.reltuples FROM pg_class c
                     WHERE c.oid = 'public.learnings'::regclass) >= min_rows
        $$
        """
    )
    for signature in (SIGNATURE, COMMON_SIGNATURE):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {COMMON_SIGNATURE}")
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    op.execute("ALTER TABLE learnings FORCE ROW LEVEL SECURITY")
