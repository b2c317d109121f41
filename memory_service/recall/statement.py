"""The search statement, built from a plan without the database: its text, put together from
the parts in recall/sql.py once per shape of search (cached), and its parameters."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from memory_service.hygiene.textsearch import for_text_search
from memory_service.recall import sql
from memory_service.recall.plan import SearchPlan
from memory_service.recall.ranking import Ranking
from memory_service.vectors import as_param
from memory_service.vocabulary import Intent, SearchMode

# Every parameter a statement may name; each statement binds only those it names (the driver
# refuses unused ones).
PARAMETERS = (
    "team",
    "visible_project",
    "scope",
    "readable",
    "kinds",
    "since",
    "query",
    "qvec",
    "prefer",
    "common",
    "names",
)


@dataclass(frozen=True)
class Built:
    sql: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Shape:
    """What the statement's text depends on, besides the numbers written into it."""

    mode: str
    # The vector leg scans exactly (else through the HNSW index).
    exact: bool
    # Some projects only (a project filter, or a key limited to some).
    restricted: bool
    # A key limited to some projects.
    limited_key: bool
    kinds: bool
    since: bool
    # Learnings a writer reported wrong are shown too.
    include_wrong: bool
    text_signal: str
    # Per kind: its half-life and its weight for the query's intent.
    kinds_table: tuple[tuple[str, float, float], ...]


def build(
    plan: SearchPlan,
    ranking: Ranking,
    query_vector: Any,
    intent: str = Intent.general,
    named: tuple[str, ...] = (),
) -> Built:
    """`intent` (recall/intent.py) picks the kinds' weights, `named` are what the query names
    (checked against the relevance floor's `named_gate`); the plan's query text is the one
    text-searched (the caller's focus)."""
    q, projects = plan.query, plan.projects
    weights = ranking.kind_weights(intent)
    shape = Shape(
        mode=q.mode,
        exact=plan.exact,
        restricted=projects.scope is not None,
        limited_key=projects.readable is not None,
        kinds=bool(q.kinds),
        since=q.since is not None,
        include_wrong=q.include_wrong,
        text_signal=ranking.text_signal,
        kinds_table=tuple(
            (kind, days, weights[kind]) for kind, days in ranking.half_life_days.items()
        ),
    )
    # Numbers of our own, written into the statement (see `_inline`).
    constants: dict[str, int | float] = {
        "k": q.k,
        "n": max(q.k * ranking.candidates_per_result, ranking.min_candidates),
        "wv": ranking.vector_weight,
        "wt": ranking.text_weight,
        "recency_floor": ranking.recency_floor,
        "wo": ranking.occurrences_weight,
        "own_boost": ranking.own_project_boost,
        "superseded_factor": ranking.superseded_factor,
        "done_factor": ranking.done_factor,
        "min_sim": ranking.min_similarity,
        "cov_power": ranking.coverage_power,
        "min_cov": ranking.min_coverage,
        "rel_floor": ranking.relative_floor,
        "gate": ranking.query_gate,
        "named_gate": ranking.named_gate_for(intent),
        "outdated_factor": ranking.outdated_factor,
        "helpful_gain": ranking.helpful_gain,
        "helpful_cap": ranking.helpful_cap,
    }
    text, names = statement_text(shape, tuple(constants.items()))
    values: dict[str, Any] = {
        "team": plan.team,
        "visible_project": projects.visible,
        "scope": projects.scope,
        "readable": projects.readable,
        "kinds": q.kinds,
        "since": q.since,
        # As learnings are stored: the parser reads it in linear time, and a long word is cut
        # where the stored copy was (memory_service/hygiene/textsearch.py).
        "query": for_text_search(q.text),
        "qvec": as_param(query_vector),  # sent binary (memory_service.vectors)
        "prefer": projects.prefer,
        "common": _text_array(plan.common),
        # Only where a floor applies (text mode shows every match).
        "names": _text_array(named if q.mode != SearchMode.text else ()),
    }
    return Built(text, {name: values[name] for name in names})


# A process sends a handful of shapes, times the five intents' weights.
@functools.lru_cache(maxsize=256)
def statement_text(
    shape: Shape, constants: tuple[tuple[str, int | float], ...]
) -> tuple[str, tuple[str, ...]]:
    """The statement's text for a shape, with `constants` written in, and the parameters it
    names. Cached: the substitution over the ~4 KB statement cost ~0.13 ms of the event loop
    per search, and a process sends only a handful of distinct statements (per intent)."""
    mode = SearchMode(shape.mode)
    legs = []
    if mode.uses_vector:
        order = sql.EXACT_ORDER if shape.exact else sql.HNSW_ORDER
        legs.append(sql.VECTOR_LEG.format(where=_filters(shape), order=order))
    if mode.uses_text:
        legs.append(sql.TEXT_LEG)
    signal = sql.COVERAGE_SIGNAL if shape.text_signal == "coverage" else sql.RANK_SIGNAL
    relevance = {
        SearchMode.vector: sql.VECTOR_RELEVANCE,
        SearchMode.text: sql.TEXT_RELEVANCE,
        SearchMode.hybrid: sql.HYBRID_RELEVANCE.format(text_signal=signal),
    }[mode]
    if shape.restricted:
        access = sql.VISIBLE.format(alias="d")
        if shape.limited_key:
            access += " AND " + sql.READABLE_FILTER
        clusters, members = sql.SCOPED_CLUSTERS.format(access=access), access
    else:
        clusters, members = sql.CANONICAL_CLUSTERS, sql.ALL_MEMBERS
    text = sql.SEARCH.format(
        legs=sql.LEG_UNION.join(legs),
        relevance=relevance,
        clusters=clusters,
        kinds_table=", ".join(
            sql.HALF_LIFE.format(kind=kind, days=float(days), weight=float(weight))
            for kind, days, weight in shape.kinds_table
        ),
        floor=sql.NO_FLOOR if mode is SearchMode.text else sql.RELEVANCE_FLOOR,
        members=members,
        feedback=sql.FEEDBACK_FACTOR,
        wrong=sql.NO_FLOOR if shape.include_wrong else sql.NOT_WRONG,
    )
    text = _inline(text, dict(constants))
    return text, tuple(name for name in PARAMETERS if f":{name}" in text)


def _filters(shape: Shape) -> str:
    """The vector leg's WHERE."""
    clauses = [sql.TEAM_FILTER, sql.VISIBLE.format(alias="l")]
    if shape.restricted:
        clauses.append(sql.SCOPE_FILTER)
    if shape.kinds:
        clauses.append(sql.KINDS_FILTER)
    if shape.since:
        clauses.append(sql.SINCE_FILTER)
    return " AND ".join(clauses)


_NAMED = re.compile(r"(?<!:):(\w+)")


def _inline(text: str, values: dict[str, int | float]) -> str:
    """Writes the result count, candidate count and ranking weights into the statement as
    literals, leaving only the query's own values as parameters. With them as parameters,
    PostgreSQL's generic plan (estimating `LIMIT $n` blind) was 6x slower than a custom plan;
    with them written in it is as good where it should be, and PostgreSQL may pick it (after
    five custom plans of a prepared statement, the generic one when it is not costlier). At
    100k learnings it kept custom plans (60 of 60 searches of one team on one connection), so
    each search still pays ~2 ms of planning on a warm connection. Forcing the generic plan was
    measured and dropped: a team newer than the table's statistics, or a small one among big
    ones, then got a plan made for the average team (a sequential scan: 80-100 ms, not 10)."""

    def literal(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        if isinstance(value, int):
            return str(int(value))
        return f"CAST({float(value)!r} AS double precision)"

    return _NAMED.sub(literal, text)


@functools.lru_cache(maxsize=8)
def _text_array(items: tuple[str, ...]) -> str:
    """A text[] literal. The common terms (hundreds at 100k learnings) go to every text
    search; sent as one string made once, not as a list psycopg would dump element by element
    on each request."""
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"
