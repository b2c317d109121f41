"""Every piece of SQL a search sends, as named constants: the search statement with the parts
that change with its shape (put together by recall/statement.py), the statistics it plans with
(recall/stats.py), and the definitions of the two functions it calls as the table's owner.

Those definitions are the functions' current bodies: migration 0007 creates them from here.
A migration already shipped runs again on no database, so a change to one of them needs a new
revision that recreates it (tests/unit/test_shipped_migrations.py holds their checksums)."""

from __future__ import annotations

from memory_service.models import TS_CONFIG
from memory_service.vectors import hnsw_order

# The vector leg's filters, AND-ed.
TEAM_FILTER = "l.team_id = :team"
SCOPE_FILTER = "l.project_id = ANY(:scope)"
KINDS_FILTER = "l.kind = ANY(:kinds)"
SINCE_FILTER = "l.created_at >= :since"
# Learnings of the team, and the searched project's own: `alias` is the learnings row.
VISIBLE = "({alias}.visibility = 'team' OR {alias}.project_id = :visible_project)"
# Only the projects a key limited to some may read (added to VISIBLE on a cluster's members).
READABLE_FILTER = "d.project_id = ANY(:readable)"

# The vector leg: nearest neighbours among the rows behind the filters.
VECTOR_LEG = "(SELECT l.team_id, l.id FROM learnings l WHERE {where} ORDER BY {order} LIMIT :n)"
# Through the HNSW index (its half-precision distance).
HNSW_ORDER = hnsw_order("l.embedding", ":qvec")
# Full precision, and "+ 0" hides the operator from any index: the btree filter plus an exact
# sort.
EXACT_ORDER = "(l.embedding <=> CAST(:qvec AS vector)) + 0"
# The text leg, through the owner's function (TEXT_CANDIDATES_FUNCTION): under row-level
# security the GIN index cannot serve `tsv @@ q` in a statement of ours.
TEXT_LEG = (
    "(SELECT CAST(:team AS uuid), t.id FROM tq, "
    "memory_text_candidates(CAST(:team AS uuid), tq.q_leg, tq.q_fill, :n, "
    "CAST(:visible_project AS uuid), CAST(:scope AS uuid[]), CAST(:kinds AS text[]), "
    "CAST(:since AS timestamptz)) t)"
)
LEG_UNION = " UNION "

# A candidate's relevance, by mode; hybrid fuses the cosine with a text signal.
VECTOR_RELEVANCE = "c.sim"
TEXT_RELEVANCE = "c.tr"
HYBRID_RELEVANCE = ":wv * c.sim + :wt * {text_signal}"
# The text signals: the share of the query's terms a learning holds, or ts_rank_cd.
COVERAGE_SIGNAL = "power(c.cov, :cov_power)"
RANK_SIGNAL = "c.tr"
# Which clusters may be shown: a text search shows every match; otherwise a question about
# nothing stored returns nothing, and a weak match only when it holds enough of the terms.
NO_FLOOR = "TRUE"
RELEVANCE_FLOOR = (
    "((r.best >= :gate AND (u.n = 0 OR u.n < u.names OR r.best >= :named_gate)"
    " AND r.sim >= greatest(:min_sim, :rel_floor * r.best)) OR r.cov >= :min_cov)"
)
# Feedback (memory_service/feedback) on the shown learning `l`: reported outdated, demoted;
# found helpful by some keys, a little higher, bounded (both in recall/ranking.py); reported
# wrong by a writer, left out unless the search asks for it (NOT_WRONG, else NO_FLOOR).
FEEDBACK_FACTOR = (
    "CASE WHEN l.outdated_at IS NULL THEN 1 ELSE :outdated_factor END"
    " * (1 + :helpful_gain * least(l.helpful, :helpful_cap))"
)
NOT_WRONG = "l.wrong_at IS NULL"
# One row of the kinds table: a kind's half-life, and its weight for the query's intent.
HALF_LIFE = "('{kind}', {days}, {weight})"

# The `top` CTE's clusters, with their shown learning, occurrences and latest sighting.
# A cluster is a canonical learning and its near-duplicates, which may come from other
# projects. Unrestricted (every project, no project filter), the canonical learning stands for
# the cluster with its stored count, and every member's project is listed (ALL_MEMBERS).
CANONICAL_CLUSTERS = """
              FROM rel r
              JOIN learnings l ON l.team_id = r.team_id AND l.id = r.cluster
              -- A learning seen again recently is as fresh as its latest occurrence.
             CROSS JOIN LATERAL (
                   SELECT l.occurrences AS n, greatest(l.created_at, (
                              SELECT max(d.created_at) FROM learnings d
                               WHERE d.team_id = l.team_id AND d.canonical_id = l.id)) AS at) seen
            """
ALL_MEMBERS = "TRUE"
# Otherwise only the members `d` that pass `access` (VISIBLE on `d`, READABLE_FILTER for a
# limited key) count, and the cluster is shown as its canonical learning when that is within
# the searched projects, else as its oldest copy that is: a key limited to p1, or a search of
# p1, never gets another project's text, handoff or name back through a near-duplicate link.
# The same `access` picks the projects listed.
SCOPED_CLUSTERS = """
              FROM rel r
             CROSS JOIN LATERAL (
                   SELECT count(*) AS n, max(d.created_at) AS at,
                          (array_agg(d.id ORDER BY d.canonical_id IS NOT NULL, d.created_at, d.id)
                             FILTER (WHERE d.project_id = ANY(:scope)))[1] AS shown
                     FROM learnings d
                    WHERE d.team_id = r.team_id
                      AND (d.id = r.cluster OR d.canonical_id = r.cluster) AND {access}) seen
              JOIN learnings l ON l.team_id = r.team_id AND l.id = seen.shown
        """

# The search: both legs' candidates, scored once, grouped by cluster, weighted by recency,
# occurrences, the caller's own project and the kind the query's intent asks for, the best k
# with every project they were seen in.
# `:name`s are the query's parameters, or numbers of our own written in as literals
# (recall/statement.py); `{name}`s are the parts above.
SEARCH = f"""
        WITH tq0 AS (
            SELECT CAST(replace(plainto_tsquery('{TS_CONFIG}', :query)::text, ' & ', ' | ')
                        AS tsquery) AS q,
                   plainto_tsquery('{TS_CONFIG}', :query) AS q_all,
                   ARRAY(SELECT DISTINCT unnest(
                             tsvector_to_array(to_tsvector('{TS_CONFIG}', :query)))) AS lex
        ),
        tq AS (
            -- The text leg looks up the query's informative terms, OR-ed (q_leg), plus the
            -- rows holding all of its common terms when it has several (q_fill): a term in more
            -- than half a per cent of a large table matches thousands of rows that would all
            -- be ranked, and says little alone (scores still count every term;
            -- recall/ranking.py). Only common terms: all of them, AND-ed.
            SELECT tq0.q, cardinality(tq0.lex) AS terms,
                   ARRAY(SELECT CAST(quote_literal(x) AS tsquery) FROM unnest(tq0.lex) x)
                       AS term_queries,
                   CASE WHEN terms.rare = '' THEN tq0.q_all ELSE CAST(terms.rare AS tsquery) END
                       AS q_leg,
                   CASE WHEN terms.rare <> '' AND terms.n_common >= 2
                        THEN CAST(terms.common AS tsquery) END AS q_fill
              FROM tq0, LATERAL (
                   SELECT coalesce(string_agg(quote_literal(x), ' | ')
                                     FILTER (WHERE NOT x = ANY (CAST(:common AS text[]))),
                                   '') AS rare,
                          coalesce(string_agg(quote_literal(x), ' & ')
                                     FILTER (WHERE x = ANY (CAST(:common AS text[]))),
                                   '') AS common,
                          count(*) FILTER (WHERE x = ANY (CAST(:common AS text[]))) AS n_common
                     FROM unnest(tq0.lex) x) terms
        ),
        -- The names the query mentions (recall/intent.py), and how many of them no learning
        -- it may see holds: each an existence check through the owner's function (not a
        -- ranked lookup: at 1M learnings a name held by thousands cost 25-400 ms ranked); a
        -- name among the common terms is held by many. No names outside the modes with a
        -- relevance floor.
        unknown AS MATERIALIZED (
            SELECT count(*) FILTER (
                       WHERE NOT x.lex && CAST(:common AS text[]) AND NOT memory_text_match(
                           CAST(:team AS uuid), x.q, CAST(:visible_project AS uuid),
                           CAST(:scope AS uuid[]))) AS n,
                   count(*) AS names
              FROM (SELECT plainto_tsquery('{TS_CONFIG}', nm) AS q,
                           tsvector_to_array(to_tsvector('{TS_CONFIG}', nm)) AS lex
                      FROM unnest(CAST(:names AS text[])) nm) x
             WHERE numnode(x.q) > 0
        ),
        -- MATERIALIZED: each candidate's scores computed once (`cov` is read twice below).
        cand AS MATERIALIZED (
            SELECT l.team_id, l.id, l.project_id, coalesce(l.canonical_id, l.id) AS cluster,
                   1 - (l.embedding <=> CAST(:qvec AS vector)) AS sim,
                   CASE WHEN d.tsv @@ tq.q THEN ts_rank_cd(d.tsv, tq.q, 32) ELSE 0 END AS tr,
                   CASE WHEN d.tsv @@ tq.q THEN
                       (SELECT count(*) FROM unnest(tq.term_queries) x WHERE d.tsv @@ x)::float8
                       / greatest(tq.terms, 1)
                   ELSE 0 END AS cov
              FROM ({{legs}}) AS picked(team_id, id)
              -- Joined on the candidates' own (team_id, id), never on the team as a constant:
              -- for a team newer than the table's statistics the planner would expect one row
              -- and read the team's whole range of another index once per candidate.
              JOIN learnings l ON l.team_id = picked.team_id AND l.id = picked.id
             CROSS JOIN tq
              -- The row's tsvector, read once: most are stored out of line (TOAST; the vector
              -- fills the row), and every use of `l.tsv` would fetch it again, ~10 per row
              -- here. The concatenation makes an in-memory copy; OFFSET 0 keeps PostgreSQL
              -- from folding it back into each use. Statement time at 100k: 9.2 -> 6.6 ms.
             CROSS JOIN LATERAL (SELECT l.tsv || CAST('' AS tsvector) AS tsv OFFSET 0) d
        ),
        -- MATERIALIZED: computed once (the same misestimate once nested it under a scan of
        -- the team's rows and re-ran it per row: 74 ms for a new team of 267 learnings).
        rel AS MATERIALIZED (
            SELECT c.team_id, c.cluster, max({{relevance}}) AS relevance, max(c.sim) AS sim,
                   max(c.tr) AS tr, max(c.cov) AS cov, max(max(c.sim)) OVER () AS best,
                   bool_or(c.project_id = :prefer) AS own
              FROM cand c GROUP BY c.team_id, c.cluster
        ),
        top AS (
            SELECT l.team_id, l.id, r.cluster, seen.n AS occurrences, seen.at AS last_seen_at,
                   r.relevance
                     * (:recency_floor + (1 - :recency_floor) * power(0.5,
                          -- capped: a row dated decades back must not underflow the power
                          least(greatest(extract(epoch FROM now() - seen.at), 0)
                                / 86400.0 / hl.days, 1000)))
                     * (1 + :wo * ln(greatest(seen.n, 1)))
                     * CASE WHEN r.own THEN :own_boost ELSE 1 END
                     * CASE WHEN l.superseded_by IS NOT NULL THEN :superseded_factor
                            WHEN l.done_at IS NOT NULL THEN :done_factor ELSE 1 END
                     * hl.weight * {{feedback}} AS score
              {{clusters}}
             CROSS JOIN unknown u
              JOIN (VALUES {{kinds_table}}) AS hl(kind, days, weight) ON hl.kind = l.kind
             WHERE {{floor}} AND {{wrong}}
             ORDER BY score DESC, l.id
             LIMIT :k
        )
        SELECT l.id, l.kind, l.text, l.section, l.handoff_id, l.created_at, t.occurrences,
               l.flagged, l.flag_reason, p.slug AS project, seen.projects, t.last_seen_at,
               t.score, l.superseded_by, l.newer_id, l.done_at, l.uses, l.last_used_at,
               l.helpful, l.wrong_at IS NOT NULL AS wrong, l.outdated_at IS NOT NULL AS outdated
          FROM top t
          JOIN learnings l ON l.team_id = t.team_id AND l.id = t.id
          JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
          -- Only for the k results: every project the learning was seen in (that the key
          -- may read).
         CROSS JOIN LATERAL (
                SELECT array_agg(DISTINCT p2.slug ORDER BY p2.slug) AS projects
                  FROM learnings d
                  JOIN projects p2 ON p2.team_id = d.team_id AND p2.id = d.project_id
                 WHERE d.team_id = t.team_id AND (d.id = t.cluster OR d.canonical_id = t.cluster)
                   AND {{members}}) AS seen
         ORDER BY t.score DESC, l.id
    """

# What the plan reads (recall/stats.py). Learnings per (project, kind) of one team:
TEAM_COUNTS = (
    "SELECT project_id, kind, count(*) AS n FROM learnings "
    "WHERE team_id = :team GROUP BY project_id, kind"
)
# All learnings of all teams, as ANALYZE last counted them:
TABLE_ROWS = "SELECT reltuples FROM pg_class WHERE oid = 'learnings'::regclass"
# Through the owner's function: pg_stats hides a table's statistics from a role its row-level
# security policy binds.
COMMON_TERMS = "SELECT memory_common_terms(:share, :min_rows)"

# The functions, run as the table's owner (SECURITY DEFINER). Why: migration 0003.
TEXT_CANDIDATES_SIGNATURE = (
    "memory_text_candidates(uuid, tsquery, tsquery, integer, uuid, uuid[], text[], timestamptz)"
)
COMMON_TERMS_SIGNATURE = "memory_common_terms(double precision, double precision)"
# `q`: the query's informative terms, OR-ed; `q_fill` (or NULL): its common terms, AND-ed
# (selective by construction), so rows holding all of those still come back when the
# informative terms match little. Each ranks at most TEXT_RANK_PER_CANDIDATE x n of the rows
# it matches (the first the index finds): ranking reads every row's tsvector (out of line,
# ~15 us a row at 1M learnings), so without a cap its cost followed the table: at 1M an AND of
# common terms matched thousands of rows and ranked them all (bench/RESULTS.md, issue 21
# point 3). A term is left out of `q` once it is in more than 0.2 % of learnings, so the cap
# binds on `q` only past ~250k learnings, and on `q_fill` where common terms co-occur a lot.
# ROWS: at most 2n come out; the default estimate of 1000
# turned the join that follows into a hash join over the whole table. It applies the isolation
# itself: only learnings of `team`, and nothing unless that is the team the calling transaction
# acts for (`memory.team_id`, the setting the row-level security policy reads). The team is an
# argument (migration 0012) so that a statement calling it names its team in its own text, and
# a distributed database can route the lookup to the team's shard (docs/scaling.md).
TEXT_RANK_PER_CANDIDATE = 10
TEXT_CANDIDATES_FUNCTION = f"""
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
            (SELECT m.id FROM (SELECT v.id, v.tsv FROM visible v WHERE v.tsv @@ q
                                LIMIT {TEXT_RANK_PER_CANDIDATE} * n) m
              ORDER BY ts_rank_cd(m.tsv, q, 32) DESC LIMIT n)
            UNION
            (SELECT m.id FROM (SELECT v.id, v.tsv FROM visible v
                                WHERE q_fill IS NOT NULL AND v.tsv @@ q_fill
                                LIMIT {TEXT_RANK_PER_CANDIDATE} * n) m
              ORDER BY ts_rank_cd(m.tsv, q_fill, 32) DESC LIMIT n)
        $$
        """
# Whether a learning the caller may see holds every term of `q` (a name the query mentions):
# an existence check, no ranking. The same isolation as memory_text_candidates.
TEXT_MATCH_SIGNATURE = "memory_text_match(uuid, tsquery, uuid, uuid[])"
TEXT_MATCH_FUNCTION = """
        CREATE OR REPLACE FUNCTION memory_text_match(
            team uuid, q tsquery, visible_project uuid, scope uuid[]
        ) RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, public
        AS $$
            SELECT EXISTS (
                SELECT 1 FROM public.learnings l
                 WHERE l.team_id = team
                   AND team = NULLIF(current_setting('memory.team_id', true), '')::uuid
                   AND (l.visibility = 'team' OR l.project_id = visible_project)
                   AND (scope IS NULL OR l.project_id = ANY (scope))
                   AND l.tsv @@ q)
        $$
        """
# Only terms ANALYZE found in more than `min_share` of all learnings come out (none while the
# table has fewer than `min_rows`), and only to the service's own search, which never shows
# them.
COMMON_TERMS_FUNCTION = """
        CREATE OR REPLACE FUNCTION memory_common_terms(min_share double precision,
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
