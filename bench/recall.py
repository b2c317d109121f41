"""HNSW recall@10 against exact search, in SQL on the service's database, and the service's own
/v1/search against exact search.

Exact top-k is `ORDER BY (embedding <=> q) + 0`: the `+ 0` hides the operator from the HNSW
index, so PostgreSQL sorts every row that passes the filter by its true distance."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import psycopg

from memory_service.db import libpq_url
from memory_service.vectors import hnsw_order

K = 10
# pgvector's defaults, to show what the service's settings buy.
PGVECTOR_DEFAULT_EF_SEARCH = 40


def service_hnsw_settings() -> dict[str, str]:
    """The settings the service applies before an HNSW scan (read from its code, so a tuning
    change there is measured here)."""
    from memory_service.recall import ranking

    ef = getattr(ranking, "HNSW_EF_SEARCH", PGVECTOR_DEFAULT_EF_SEARCH)
    scan = getattr(ranking, "HNSW_ITERATIVE_SCAN", "relaxed_order")
    settings = {"hnsw.ef_search": str(ef), "hnsw.iterative_scan": scan}
    limit = getattr(ranking, "HNSW_MAX_SCAN_TUPLES", None)
    if limit is not None:
        settings["hnsw.max_scan_tuples"] = str(limit)
    return settings


def vec(values: npt.NDArray[np.float32]) -> str:
    return "[" + ",".join(f"{float(v):.7g}" for v in values) + "]"


def _first_column(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> list[Any]:
    return [row[0] for row in conn.execute(sql, params).fetchall()]


def _plan(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> str:
    rows = conn.execute("EXPLAIN " + sql, params).fetchall()
    text = "\n".join(str(r[0]) for r in rows)
    return "hnsw" if "ix_learnings_embedding_hnsw" in text else "exact"


def _set(conn: psycopg.Connection[Any], settings: dict[str, str]) -> None:
    for name, value in settings.items():
        conn.execute(f"SET {name} = '{value}'")


def _reset(conn: psycopg.Connection[Any]) -> None:
    conn.execute("RESET ALL")


def _recall_by_distance(found: Sequence[float], exact: Sequence[float]) -> float:
    """Share of the exact top k the index found, counted by distance rather than by id:
    identical texts have identical vectors, and which of several tied rows an exact sort puts
    at rank 10 is arbitrary (counting ids scored a correct HNSW answer 0.0 on a corpus with
    repeated bullets)."""
    if not exact:
        return 1.0
    cutoff = max(exact) + 1e-6
    return min(len(exact), sum(1 for d in found if d <= cutoff)) / len(exact)


def _recall(found: Sequence[Any], exact: Sequence[Any]) -> float:
    return len(set(found) & set(exact)) / len(exact) if exact else 1.0


def sql_recall(
    uri: str,
    queries: npt.NDArray[np.float32],
    *,
    project_ids: Sequence[uuid.UUID],
    kind: str = "mistake",
) -> dict[str, Any]:
    """Recall@10 of the index's `ORDER BY ... <=> q LIMIT 10` against the exact top 10, per case:
    no filter (pgvector defaults, then the service's settings), one project (the planner's own
    choice, then HNSW forced), and one kind (a filter too wide for the service's exact path)."""
    service = service_hnsw_settings()
    distance = "embedding <=> %(q)s::vector"
    # Ordered by what the HNSW index holds (half-precision copies, migration 0004); the
    # distance counted is the full-precision one, as the exact reference's.
    index_order = hnsw_order("embedding", "%(q)s::vector")
    ann = f"SELECT {distance} FROM learnings {{where}} ORDER BY {index_order} LIMIT 10"
    exact = f"SELECT {distance} FROM learnings {{where}} ORDER BY ({distance}) + 0 LIMIT 10"
    cases: list[tuple[str, str, dict[str, str]]] = [
        ("no filter, pgvector defaults", "", {"hnsw.ef_search": str(PGVECTOR_DEFAULT_EF_SEARCH)}),
        ("no filter, service settings", "", service),
        ("one project, service settings", "WHERE project_id = %(p)s", service),
        # enable_sort = off leaves the HNSW index scan as the only plan without a sort.
        (
            "one project, HNSW forced",
            "WHERE project_id = %(p)s",
            {**service, "enable_sort": "off"},
        ),
        (f"kind = {kind}, service settings", "WHERE kind = %(kind)s", service),
    ]
    out: dict[str, Any] = {"k": K, "queries": len(queries), "service_settings": service}
    with psycopg.connect(libpq_url(uri), autocommit=True) as conn:
        total = conn.execute("SELECT count(*) FROM learnings").fetchone()
        per_project = conn.execute(
            "SELECT avg(n) FROM (SELECT count(*) AS n FROM learnings GROUP BY project_id) s"
        ).fetchone()
        per_kind = conn.execute(
            "SELECT count(*) FROM learnings WHERE kind = %s", (kind,)
        ).fetchone()
        out["rows"] = {
            "total": int(total[0]) if total else 0,
            "per_project_mean": float(per_project[0]) if per_project and per_project[0] else 0,
            f"kind_{kind}": int(per_kind[0]) if per_kind else 0,
        }
        results: dict[str, Any] = {}
        for name, where, settings in cases:
            recalls: list[float] = []
            ann_s: list[float] = []
            exact_s: list[float] = []
            plan = ""
            for i, query in enumerate(queries):
                params = {"q": vec(query), "p": project_ids[i % len(project_ids)], "kind": kind}
                _reset(conn)
                t = time.perf_counter()
                truth = _first_column(conn, exact.format(where=where), params)
                exact_s.append(time.perf_counter() - t)
                _set(conn, settings)
                if i == 0:
                    plan = _plan(conn, ann.format(where=where), params)
                t = time.perf_counter()
                found = _first_column(conn, ann.format(where=where), params)
                ann_s.append(time.perf_counter() - t)
                recalls.append(_recall_by_distance(found, truth))
            _reset(conn)
            results[name] = {
                "recall@10": float(np.mean(recalls)),
                "min_recall": float(np.min(recalls)),
                "plan": plan,
                "settings": settings,
                "ann_ms_mean": 1000 * float(np.mean(ann_s)),
                "exact_ms_mean": 1000 * float(np.mean(exact_s)),
            }
        out["cases"] = results
    return out


def service_similarity_floor() -> float:
    """The cosine under which the service drops a vector result (0 if it has none)."""
    from memory_service.recall import ranking

    default = getattr(ranking, "DEFAULT_RANKING", None)
    return float(getattr(default, "min_similarity", 0.0))


def _exact_clusters(
    conn: psycopg.Connection[Any],
    query: npt.NDArray[np.float32],
    where: str,
    params: dict[str, Any],
    floor: float,
) -> list[uuid.UUID]:
    """Exact top 10 as the service reports them: near-duplicates collapse to their canonical
    learning (what /v1/search returns), and nothing under the service's similarity floor,
    which the service drops by design (not an index miss)."""
    rows = conn.execute(
        "SELECT coalesce(canonical_id, id), 1 - (embedding <=> %(q)s::vector) "
        f"FROM learnings WHERE team_id = %(team)s AND visibility = 'team' {where} "
        "ORDER BY (embedding <=> %(q)s::vector) + 0 LIMIT 100",
        {**params, "q": vec(query)},
    ).fetchall()
    return list(dict.fromkeys(r[0] for r in rows if r[1] >= floor))[:K]


async def _service_ids(http: httpx.AsyncClient, body: dict[str, Any]) -> list[uuid.UUID]:
    response = await http.post("/v1/search", json=body)
    response.raise_for_status()
    return [uuid.UUID(r["id"]) for r in response.json()["results"]]


async def service_recall(
    http: httpx.AsyncClient,
    uri: str,
    queries: Sequence[str],
    vectors: npt.NDArray[np.float32],
    *,
    projects: Sequence[str],
    kind: str = "mistake",
) -> dict[str, Any]:
    """What /v1/search (mode=vector) returns against the exact cosine top 10 under the same
    filters (and the service's similarity floor). Two numbers per case:

    - `recall@10`: the service's top 10 against the exact top 10. The service multiplies
      similarity by recency and occurrence weights, so this also counts re-ranking swaps at
      the edge of the top 10, not only index misses;
    - `found@50`: the share of the exact top 10 that appears anywhere in the service's top 50,
      which re-ranking hardly moves: a shortfall there is retrieval (index) loss."""
    floor = service_similarity_floor()
    out: dict[str, Any] = {"similarity_floor": floor}
    with psycopg.connect(libpq_url(uri), autocommit=True) as conn:
        team_row = conn.execute("SELECT id FROM teams WHERE name = 'default'").fetchone()
        assert team_row is not None
        team = team_row[0]
        slugs: dict[str, uuid.UUID] = dict(
            conn.execute("SELECT slug, id FROM projects WHERE team_id = %s", (team,)).fetchall()
        )
        cases: list[tuple[str, dict[str, Any], str]] = [
            ("no filter", {}, ""),
            ("one project", {"project": None}, "AND project_id = %(p)s"),
            (f"kind = {kind}", {"kinds": [kind]}, "AND kind = %(kind)s"),
        ]
        for name, extra, where in cases:
            at10: list[float] = []
            at50: list[float] = []
            returned: list[int] = []
            for i, (text, vector) in enumerate(zip(queries, vectors, strict=True)):
                project = projects[i % len(projects)]
                body: dict[str, Any] = {"query": text, "mode": "vector", **extra}
                if "project" in body:
                    body["project"] = project
                truth = _exact_clusters(
                    conn, vector, where, {"team": team, "p": slugs[project], "kind": kind}, floor
                )
                if not truth:
                    continue
                top10 = await _service_ids(http, {**body, "k": K})
                top50 = await _service_ids(http, {**body, "k": 50})
                returned.append(len(top10))
                at10.append(_recall(top10, truth))
                at50.append(_recall(top50, truth))
            out[name] = {
                "queries": len(at10),
                "recall@10": float(np.mean(at10)) if at10 else None,
                "min_recall": float(min(at10)) if at10 else None,
                "found@50": float(np.mean(at50)) if at50 else None,
                "mean_results": float(np.mean(returned)) if returned else None,
            }
    return out
