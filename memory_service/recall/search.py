"""Search over learnings: pgvector nearest neighbours and Postgres full-text search fused in
one SQL statement, then near-duplicates collapsed to their canonical learning and the fused
relevance weighted by recency, occurrences and the caller's own project."""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal
from memory_service.db import statement
from memory_service.embeddings import Embedder
from memory_service.errors import Forbidden, ServiceUnavailable
from memory_service.hygiene.textsearch import for_text_search
from memory_service.models import TS_CONFIG, Project
from memory_service.recall.ranking import (
    COMMON_TERM_ROWS,
    COMMON_TERM_SHARE,
    DEFAULT_RANKING,
    EXACT_SCAN_ALWAYS_ROWS,
    EXACT_SCAN_COST_RATIO,
    EXACT_SCAN_MAX_ROWS,
    HNSW_EF_SEARCH,
    HNSW_ITERATIVE_SCAN,
    HYBRID_COMMON_TERM_ROWS,
    HYBRID_COMMON_TERM_SHARE,
    Ranking,
)
from memory_service.recall.schemas import SearchResult
from memory_service.recall.stats import SearchStats
from memory_service.tenancy import set_local
from memory_service.vectors import as_param, hnsw_order


@dataclass(frozen=True)
class Query:
    text: str
    k: int = 10
    project: str | None = None
    projects: list[str] | None = None
    prefer_project: str | None = None
    kinds: list[str] | None = None
    since: datetime | None = None
    mode: str = "hybrid"


def exact_scan_is_cheaper(behind: int, table: int) -> bool:
    """Whether to scan the `behind` rows the filters leave exactly rather than walk the HNSW
    index over all `table` rows."""
    if behind <= EXACT_SCAN_ALWAYS_ROWS:
        return True
    return behind <= EXACT_SCAN_MAX_ROWS and behind * behind <= EXACT_SCAN_COST_RATIO * table


@dataclass(frozen=True)
class _Projects:
    # Project ids to search, or None for every project of the team.
    scope: list[uuid.UUID] | None
    # The project whose `project`-visibility learnings are visible.
    visible: uuid.UUID | None
    # The preferred project (ranked a little higher).
    prefer: uuid.UUID | None
    # The projects the key may read, or None for every project of the team.
    readable: list[uuid.UUID] | None


async def _project_ids(session: AsyncSession, principal: Principal, q: Query) -> _Projects:
    wanted: set[str] | None = None
    if q.project is not None:
        wanted = {q.project}
    if q.projects is not None:
        wanted = set(q.projects) if wanted is None else wanted & set(q.projects)
    if principal.projects is not None:
        if wanted is not None and not wanted <= set(principal.projects):
            raise Forbidden("this API key is not allowed on some of the requested projects")
        wanted = set(principal.projects) if wanted is None else wanted
    slugs = {s for s in (wanted or set()) | {q.prefer_project or "", q.project or ""} if s}
    slugs |= set(principal.projects or ())
    ids: dict[str, uuid.UUID] = {}
    if slugs:
        rows = await session.execute(
            select(Project.slug, Project.id).where(
                Project.team_id == principal.team_id, Project.slug.in_(slugs)
            )
        )
        ids = {row.slug: row.id for row in rows}
    return _Projects(
        scope=[ids[s] for s in wanted if s in ids] if wanted is not None else None,
        visible=ids.get(q.project) if q.project else None,
        prefer=ids.get(q.prefer_project or q.project or ""),
        readable=(
            [ids[s] for s in principal.projects if s in ids]
            if principal.projects is not None
            else None
        ),
    )


@functools.lru_cache(maxsize=8)
def _text_array(items: tuple[str, ...]) -> str:
    """A text[] literal. The common terms (hundreds at 100k learnings) go to every text
    search; sent as one string made once, not as a list psycopg would dump element by element
    on each request."""
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


_NAMED = re.compile(r"(?<!:):(\w+)")


@functools.lru_cache(maxsize=64)
def _inline(sql: str, constants: tuple[tuple[str, int | float], ...]) -> str:
    """Writes the result count, candidate count and ranking weights into the statement as
    literals, leaving only the query's own values as parameters. With them as parameters,
    PostgreSQL's generic plan (estimating `LIMIT $n` blind) was 6x slower than a custom plan;
    with them written in it is as good where it should be, and PostgreSQL may pick it (after
    five custom plans of a prepared statement, the generic one when it is not costlier). At
    100k learnings it kept custom plans (60 of 60 searches of one team on one connection), so
    each search still pays ~2 ms of planning on a warm connection. Forcing the generic plan was
    measured and dropped: a team newer than the table's statistics, or a small one among big
    ones, then got a plan made for the average team (a sequential scan: 80-100 ms, not 10).
    Cached: the substitution over the ~4 KB statement cost ~0.13 ms of the event loop per
    search, and a process sends only a handful of distinct statements."""
    values = dict(constants)

    def literal(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        if isinstance(value, int):
            return str(int(value))
        return f"CAST({float(value)!r} AS double precision)"

    return _NAMED.sub(literal, sql)


def _bound(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters the statement names (the driver refuses unused ones)."""
    return {k: v for k, v in params.items() if f":{k}" in sql}


def _filters(scope: list[uuid.UUID] | None, q: Query) -> str:
    clauses = ["l.team_id = :team", _visible("l")]
    if scope is not None:
        clauses.append("l.project_id = ANY(:scope)")
    if q.kinds:
        clauses.append("l.kind = ANY(:kinds)")
    if q.since is not None:
        clauses.append("l.created_at >= :since")
    return " AND ".join(clauses)


def _visible(alias: str) -> str:
    return f"({alias}.visibility = 'team' OR {alias}.project_id = :visible_project)"


def _clusters(restricted: bool, readable: bool) -> tuple[str, str]:
    """(the `top` CTE's clusters, with their shown learning, occurrences and latest sighting;
    the condition on a cluster's members `d` whose projects are listed).

    A cluster is a canonical learning and its near-duplicates, which may come from other
    projects. Unrestricted (every project, no project filter), the canonical learning stands
    for the cluster with its stored count. Otherwise only what the key may read counts, and the
    cluster is shown as its canonical learning when that is within the searched projects, else
    as its oldest copy that is: a key limited to p1, or a search of p1, never gets another
    project's text, handoff or name back through a near-duplicate link."""
    if not restricted:
        return (
            """
              FROM rel r
              JOIN learnings l ON l.team_id = r.team_id AND l.id = r.cluster
              -- A learning seen again recently is as fresh as its latest occurrence.
             CROSS JOIN LATERAL (
                   SELECT l.occurrences AS n, greatest(l.created_at, (
                              SELECT max(d.created_at) FROM learnings d
                               WHERE d.team_id = l.team_id AND d.canonical_id = l.id)) AS at) seen
            """,
            "TRUE",
        )
    access = _visible("d") + (" AND d.project_id = ANY(:readable)" if readable else "")
    return (
        f"""
              FROM rel r
             CROSS JOIN LATERAL (
                   SELECT count(*) AS n, max(d.created_at) AS at,
                          (array_agg(d.id ORDER BY d.canonical_id IS NOT NULL, d.created_at, d.id)
                             FILTER (WHERE d.project_id = ANY(:scope)))[1] AS shown
                     FROM learnings d
                    WHERE d.team_id = r.team_id
                      AND (d.id = r.cluster OR d.canonical_id = r.cluster) AND {access}) seen
              JOIN learnings l ON l.team_id = r.team_id AND l.id = seen.shown
        """,
        access,
    )


async def search(
    session: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    q: Query,
    ranking: Ranking = DEFAULT_RANKING,
    *,
    query_vector: Any = None,
    timeout_ms: int | None = None,
    stats: SearchStats | None = None,
) -> list[SearchResult]:
    """`query_vector` skips embedding `q.text` (benchmarks and index tests bring their own);
    `stats` is the process's cache of table statistics (None: read them now)."""
    try:
        return await _search(
            session, embedder, principal, q, ranking, query_vector, stats, timeout_ms
        )
    except DBAPIError as exc:
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            raise ServiceUnavailable(
                f"the search took longer than {timeout_ms} ms and was cancelled; "
                "narrow it with `project` or `kinds`",
                code="search_timeout",
            ) from exc
        raise


async def _search(
    session: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    q: Query,
    ranking: Ranking,
    query_vector: Any,
    stats: SearchStats | None,
    timeout_ms: int | None,
) -> list[SearchResult]:
    use_vector = q.mode in ("hybrid", "vector")
    use_text = q.mode in ("hybrid", "text")
    if query_vector is None:
        # Before the first statement: the request's connection is taken only after the model ran.
        query_vector = await embedder.aencode_query(q.text)
    # Transaction-local settings, before anything else (with the team's, in one round trip).
    local: dict[str, str] = {}
    if timeout_ms is not None:
        # A runaway search is cancelled by PostgreSQL instead of holding a connection.
        local["statement_timeout"] = str(timeout_ms)
    if use_vector:
        # For HNSW scans only (the exact path below does not use the index). The scan filters
        # after the fact; iterative scanning keeps going until enough rows pass the filters
        # instead of returning a handful.
        local["hnsw.ef_search"] = str(HNSW_EF_SEARCH)
        local["hnsw.iterative_scan"] = HNSW_ITERATIVE_SCAN
    await set_local(session, local)
    projects = await _project_ids(session, principal, q)
    scope = projects.scope
    if scope == []:
        return []
    where = _filters(scope, q)
    params: dict[str, Any] = {
        "team": principal.team_id,
        "visible_project": projects.visible,
        "scope": scope,
        "readable": projects.readable,
        "kinds": q.kinds,
        "since": q.since,
        # As learnings are stored: the parser reads it in linear time, and a long word is cut
        # where the stored copy was (memory_service/handoffs/textsearch.py).
        "query": for_text_search(q.text),
    }
    # Numbers of our own, written into the statement (see `_inline`).
    constants: dict[str, int | float] = {
        "k": q.k,
        "n": max(q.k * ranking.candidates_per_result, ranking.min_candidates),
        "wv": ranking.vector_weight,
        "wt": ranking.text_weight,
        "recency_floor": ranking.recency_floor,
        "wo": ranking.occurrences_weight,
        "own_boost": ranking.own_project_boost,
        "min_sim": ranking.min_similarity,
        "cov_power": ranking.coverage_power,
        "min_cov": ranking.min_coverage,
        "rel_floor": ranking.relative_floor,
        "gate": ranking.query_gate,
    }
    params["qvec"] = as_param(query_vector)  # sent binary (memory_service.vectors)
    params["prefer"] = projects.prefer

    stats = stats or SearchStats(ttl_s=0)
    common: list[str] = []
    if use_text:
        share, min_rows = (
            (HYBRID_COMMON_TERM_SHARE, HYBRID_COMMON_TERM_ROWS)
            if q.mode == "hybrid"
            else (COMMON_TERM_SHARE, COMMON_TERM_ROWS)
        )
        common = await stats.common_terms(session, share, min_rows)
    params["common"] = _text_array(tuple(common))
    vec_order = hnsw_order("l.embedding", ":qvec")
    if use_vector:
        behind = await stats.rows(session, principal.team_id, scope, q.kinds)
        table = max(await stats.table_rows(session), behind)
        if exact_scan_is_cheaper(behind, table):
            # Full precision, and "+ 0" hides the operator from any index: the btree filter
            # plus an exact sort.
            vec_order = "(l.embedding <=> CAST(:qvec AS vector)) + 0"

    legs = []
    if use_vector:
        legs.append(
            f"(SELECT l.team_id, l.id FROM learnings l WHERE {where} ORDER BY {vec_order} LIMIT :n)"
        )
    if use_text:
        # Through the owner's function (migration 0003): under row-level security the GIN
        # index cannot serve `tsv @@ q` in a statement of ours.
        legs.append(
            "(SELECT CAST(:team AS uuid), t.id FROM tq, "
            "memory_text_candidates(tq.q_leg, tq.q_fill, :n, "
            "CAST(:visible_project AS uuid), CAST(:scope AS uuid[]), CAST(:kinds AS text[]), "
            "CAST(:since AS timestamptz)) t)"
        )
    relevance = {
        "vector": "c.sim",
        "text": "c.tr",
        "hybrid": ":wv * c.sim + :wt * "
        + ("power(c.cov, :cov_power)" if ranking.text_signal == "coverage" else "c.tr"),
    }[q.mode]
    floor = (
        "TRUE"
        if q.mode == "text"
        else "((r.best >= :gate AND r.sim >= greatest(:min_sim, :rel_floor * r.best))"
        " OR r.cov >= :min_cov)"
    )
    clusters, members = _clusters(scope is not None, projects.readable is not None)
    half_lives = ", ".join(
        f"('{kind}', {float(days)})" for kind, days in ranking.half_life_days.items()
    )
    sql = f"""
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
            -- recall/stats.py). Only common terms: all of them, AND-ed.
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
        -- MATERIALIZED: each candidate's scores computed once (`cov` is read twice below).
        cand AS MATERIALIZED (
            SELECT l.team_id, l.id, l.project_id, coalesce(l.canonical_id, l.id) AS cluster,
                   1 - (l.embedding <=> CAST(:qvec AS vector)) AS sim,
                   CASE WHEN d.tsv @@ tq.q THEN ts_rank_cd(d.tsv, tq.q, 32) ELSE 0 END AS tr,
                   CASE WHEN d.tsv @@ tq.q THEN
                       (SELECT count(*) FROM unnest(tq.term_queries) x WHERE d.tsv @@ x)::float8
                       / greatest(tq.terms, 1)
                   ELSE 0 END AS cov
              FROM ({" UNION ".join(legs)}) AS picked(team_id, id)
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
            SELECT c.team_id, c.cluster, max({relevance}) AS relevance, max(c.sim) AS sim,
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
                     * CASE WHEN r.own THEN :own_boost ELSE 1 END AS score
              {clusters}
              JOIN (VALUES {half_lives}) AS hl(kind, days) ON hl.kind = l.kind
             WHERE {floor}
             ORDER BY score DESC, l.id
             LIMIT :k
        )
        SELECT l.id, l.kind, l.text, l.section, l.handoff_id, l.created_at, t.occurrences,
               l.flagged, l.flag_reason, p.slug AS project, seen.projects, t.last_seen_at,
               t.score
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
                   AND {members}) AS seen
         ORDER BY t.score DESC, l.id
    """
    sql = _inline(sql, tuple(constants.items()))
    rows = (await session.execute(statement(sql), _bound(sql, params))).mappings().all()
    return [
        SearchResult(
            id=row["id"],
            kind=row["kind"],
            text=row["text"],
            score=round(float(row["score"]), 6),
            project=row["project"],
            handoff_id=row["handoff_id"],
            section=row["section"],
            created_at=row["created_at"],
            occurrences=row["occurrences"],
            projects=list(row["projects"] or [row["project"]]),
            last_seen_at=row["last_seen_at"],
            flagged=row["flagged"],
            flag_reason=row["flag_reason"],
        )
        for row in rows
    ]
