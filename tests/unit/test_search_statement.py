"""What the search statement builder (recall/statement.py) makes of each shape of plan, without
a database: the legs, the filters, the clusters' access rule, the relevance and its floor, the
numbers written in and the parameters bound. What the statement returns is tested against
PostgreSQL in tests/test_recall.py."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest

from memory_service.db import statement
from memory_service.recall.plan import Query, SearchPlan, _Projects, local_settings
from memory_service.recall.ranking import DEFAULT_RANKING, Ranking
from memory_service.recall.statement import Built, build

TEAM = uuid.UUID(int=1)
P1 = uuid.UUID(int=11)
P2 = uuid.UUID(int=12)
VECTOR = np.zeros(384, dtype=np.float32)
SINCE = datetime(2024, 1, 1, tzinfo=UTC)

HNSW = "ORDER BY CAST(l.embedding AS halfvec(384)) <=> CAST(:qvec AS halfvec(384)) LIMIT 50)"
EXACT = "ORDER BY (l.embedding <=> CAST(:qvec AS vector)) + 0 LIMIT 50)"
VECTOR_LEG = "(SELECT l.team_id, l.id FROM learnings l WHERE l.team_id = :team AND "
TEXT_LEG = (
    "(SELECT CAST(:team AS uuid), t.id FROM tq, memory_text_candidates(CAST(:team AS uuid), "
    "tq.q_leg, tq.q_fill, 50, "
    "CAST(:visible_project AS uuid), CAST(:scope AS uuid[]), CAST(:kinds AS text[]), "
    "CAST(:since AS timestamptz)) t)"
)
VISIBLE_L = "(l.visibility = 'team' OR l.project_id = :visible_project)"
VISIBLE_D = "(d.visibility = 'team' OR d.project_id = :visible_project)"
HYBRID = (
    "max(CAST(1.0 AS double precision) * c.sim + CAST(0.3 AS double precision) * "
    "power(c.cov, CAST(1.0 AS double precision))) AS relevance"
)
FLOOR = (
    "WHERE ((r.best >= CAST(0.27 AS double precision) AND (u.n = 0 OR u.n < u.names OR r.best >= CAST(0.31 AS "
    "double precision)) AND r.sim >= greatest(CAST(0.15 AS double precision), CAST(0.4 AS "
    "double precision) * r.best)) OR r.cov >= CAST(0.5 AS double precision)) "
    "AND l.wrong_at IS NULL ORDER BY score DESC, l.id LIMIT 10 )"
)
CANONICAL = "FROM rel r JOIN learnings l ON l.team_id = r.team_id AND l.id = r.cluster"
SHOWN = "FILTER (WHERE d.project_id = ANY(:scope)))[1] AS shown"
SCOPED = f"AND (d.id = r.cluster OR d.canonical_id = r.cluster) AND {VISIBLE_D}) seen"
LIMITED = f"AND {VISIBLE_D} AND d.project_id = ANY(:readable)) seen"
ALL_MEMBERS = "(d.id = t.cluster OR d.canonical_id = t.cluster) AND TRUE) AS seen"
SCOPED_MEMBERS = f"(d.id = t.cluster OR d.canonical_id = t.cluster) AND {VISIBLE_D}) AS seen"
LIMITED_MEMBERS = f"AND {VISIBLE_D} AND d.project_id = ANY(:readable)) AS seen"
# Always bound: the query terms, the vector (scores), the common terms, the preferred project,
# and the names the query mentions with the projects they are looked up in.
ALWAYS = {"team", "visible_project", "query", "qvec", "prefer", "common", "names", "scope"}
TEXT_PARAMS = {"kinds", "since"}


def plan(
    mode: str = "hybrid",
    *,
    exact: bool = False,
    scope: list[uuid.UUID] | None = None,
    readable: list[uuid.UUID] | None = None,
    kinds: list[str] | None = None,
    since: datetime | None = None,
    k: int = 10,
    common: tuple[str, ...] = (),
) -> SearchPlan:
    return SearchPlan(
        Query("why does the cache miss", k=k, mode=mode, kinds=kinds, since=since),
        TEAM,
        _Projects(scope=scope, visible=P1, prefer=P2, readable=readable),
        exact=exact,
        common=common,
    )


def built(p: SearchPlan, ranking: Ranking = DEFAULT_RANKING) -> tuple[str, Built]:
    """The statement as sent (compacted), and what was built."""
    b = build(p, ranking, VECTOR)
    return statement(b.sql).text, b


# (plan, fragments the statement holds, fragments it must not hold, parameters bound)
SHAPES: dict[str, tuple[SearchPlan, list[str], list[str], set[str]]] = {
    "hybrid, HNSW, every project": (
        plan(),
        [
            f"FROM ({VECTOR_LEG}{VISIBLE_L} {HNSW} UNION {TEXT_LEG})",
            HYBRID,
            FLOOR,
            CANONICAL,
            ALL_MEMBERS,
        ],
        [EXACT, SHOWN, ":readable", "l.kind = ANY", "l.created_at >="],
        ALWAYS | TEXT_PARAMS,
    ),
    "hybrid, exact": (
        plan(exact=True),
        [f"{VECTOR_LEG}{VISIBLE_L} {EXACT} UNION {TEXT_LEG}"],
        ["halfvec"],
        ALWAYS | TEXT_PARAMS,
    ),
    "vector, HNSW": (
        plan("vector"),
        [f"FROM ({VECTOR_LEG}{VISIBLE_L} {HNSW}) AS picked", "max(c.sim) AS relevance", FLOOR],
        ["memory_text_candidates(CAST(:team AS uuid), tq.q_leg", EXACT],
        ALWAYS,
    ),
    "vector, exact, kinds and since": (
        plan("vector", exact=True, kinds=["decision"], since=SINCE),
        [
            f"{VECTOR_LEG}{VISIBLE_L} AND l.kind = ANY(:kinds) AND l.created_at >= :since "
            f"{EXACT}) AS picked"
        ],
        ["memory_text_candidates(CAST(:team AS uuid), tq.q_leg", "halfvec"],
        ALWAYS | {"kinds", "since"},
    ),
    "text": (
        plan("text"),
        [
            f"FROM ({TEXT_LEG}) AS picked",
            "max(c.tr) AS relevance",
            "WHERE TRUE AND l.wrong_at IS NULL ORDER BY score",
        ],
        [VECTOR_LEG, "r.best >=", "halfvec"],
        ALWAYS | TEXT_PARAMS,
    ),
    "hybrid, one project": (
        plan(scope=[P1]),
        [
            f"{VECTOR_LEG}{VISIBLE_L} AND l.project_id = ANY(:scope) {HNSW}",
            SHOWN,
            SCOPED,
            SCOPED_MEMBERS,
        ],
        [CANONICAL, ":readable"],
        ALWAYS | TEXT_PARAMS,
    ),
    "vector, key limited to some projects": (
        plan("vector", scope=[P1, P2], readable=[P1, P2]),
        [f"{VISIBLE_L} AND l.project_id = ANY(:scope) {HNSW}", SHOWN, LIMITED, LIMITED_MEMBERS],
        [CANONICAL],
        ALWAYS | {"scope", "readable"},
    ),
}


@pytest.mark.parametrize("name", SHAPES)
def test_each_shape_builds_its_statement(name: str) -> None:
    p, held, absent, params = SHAPES[name]
    sql, b = built(p)
    for fragment in held:
        assert fragment in sql, fragment
    for fragment in absent:
        assert fragment not in sql, fragment
    assert set(b.params) == params
    assert "{" not in sql.replace("'{}'", "")  # every part filled in


def test_parameters_carry_the_plan() -> None:
    _, b = built(plan(scope=[P1], kinds=["decision"], since=SINCE, common=("cach", 'a"b')))
    assert b.params["team"] == TEAM
    assert b.params["scope"] == [P1]
    assert (b.params["visible_project"], b.params["prefer"]) == (P1, P2)
    assert (b.params["kinds"], b.params["since"]) == (["decision"], SINCE)
    assert b.params["query"] == "why does the cache miss"
    assert b.params["common"] == '{"cach","a\\"b"}'
    assert b.params["qvec"].dtype == np.float32


def test_numbers_are_written_in() -> None:
    # k and the candidates per leg (k x 5, at least 50) as integers, weights as doubles.
    sql, _ = built(plan(k=20))
    assert "LIMIT 100)" in sql and "LIMIT 20 )" in sql
    assert not re.search(r":(k|n|wv|wt|gate)\b", sql)
    assert "memory_text_candidates(CAST(:team AS uuid), tq.q_leg, tq.q_fill, 100," in sql
    assert "* CASE WHEN r.own THEN CAST(1.1 AS double precision) ELSE 1 END" in sql
    assert "* hl.weight * CASE WHEN l.outdated_at IS NULL THEN 1" in sql
    # Feedback (memory_service/feedback): outdated demoted, helpful keys a bounded gain.
    assert "ELSE CAST(0.7 AS double precision) END" in sql
    assert "(1 + CAST(0.02 AS double precision) * least(l.helpful, 5)) AS score" in sql


def test_wrong_learnings_are_left_out_unless_asked_for() -> None:
    sql, _ = built(plan())
    assert "AND l.wrong_at IS NULL ORDER BY score" in sql
    asked = dataclasses.replace(plan(), query=dataclasses.replace(plan().query, include_wrong=True))
    sql, _ = built(asked)
    assert "l.wrong_at IS NULL" not in sql and "AND TRUE ORDER BY score" in sql


def test_rank_signal_and_half_lives_follow_the_ranking() -> None:
    ranking = Ranking(text_signal="rank", half_life_days={"decision": 10.0})
    sql, _ = built(plan(), ranking)
    assert "CAST(0.3 AS double precision) * c.tr) AS relevance" in sql
    assert "JOIN (VALUES ('decision', 10.0, 1.0)) AS hl(kind, days, weight)" in sql


def test_names_are_looked_up_where_a_floor_applies() -> None:
    hybrid = build(plan(), DEFAULT_RANKING, VECTOR, "general", ("Kafka", 'a"b'))
    assert hybrid.params["names"] == '{"Kafka","a\\"b"}'
    assert "(u.n = 0 OR u.n < u.names OR r.best >= CAST(0.31 AS double precision))" in hybrid.sql
    # The other intents' gate (recall/ranking.py).
    task = build(plan(), DEFAULT_RANKING, VECTOR, "task", ("Kafka",))
    assert "(u.n = 0 OR u.n < u.names OR r.best >= CAST(0.45 AS double precision))" in task.sql
    text = build(plan("text"), DEFAULT_RANKING, VECTOR, "general", ("Kafka",))
    assert text.params["names"] == "{}"


def test_the_intent_picks_the_kind_weights() -> None:
    ranking = Ranking(
        half_life_days={"decision": 10.0, "mistake": 20.0},
        intent_kind_weights={"pitfalls": {"mistake": 1.5}},
    )
    pitfalls = build(plan(), ranking, VECTOR, "pitfalls").sql
    assert "('decision', 10.0, 1.0), ('mistake', 20.0, 1.5)" in pitfalls
    general = build(plan(), ranking, VECTOR, "general").sql
    assert "('decision', 10.0, 1.0), ('mistake', 20.0, 1.0)" in general
    # Each intent's statement is built once and kept.
    assert build(plan(), ranking, VECTOR, "pitfalls").sql is pitfalls


def test_a_shape_is_built_once() -> None:
    first, _ = built(plan(scope=[P1]))
    again = build(plan(scope=[P2]), DEFAULT_RANKING, VECTOR)
    assert build(plan(scope=[P1]), DEFAULT_RANKING, VECTOR).sql is again.sql
    assert statement(again.sql).text == first
    assert build(plan(k=11), DEFAULT_RANKING, VECTOR).sql != again.sql


def test_local_settings_by_mode() -> None:
    hnsw = {
        "hnsw.ef_search": "100",
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.max_scan_tuples": "5000",
    }
    assert local_settings(Query("x", mode="hybrid"), None) == hnsw
    assert local_settings(Query("x", mode="vector"), 250) == {"statement_timeout": "250", **hnsw}
    assert local_settings(Query("x", mode="text"), None) == {}
