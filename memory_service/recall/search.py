"""Search over learnings: pgvector nearest neighbours and Postgres full-text search fused in
one SQL statement, then near-duplicates collapsed to their canonical learning and the fused
relevance weighted by recency, occurrences and the caller's own project.

A search is three steps: **plan** (recall/plan.py: the projects searched, exact scan or HNSW,
the common terms, the transaction's settings), **build** (recall/statement.py, without the
database: the statement from the parts in recall/sql.py and its parameters) and **run** (here:
execute it and map the rows). Before them the query is read (recall/intent.py): its intent
weighs the kinds of learning, and its focus (the query without the words that only say what
kind of answer is wanted) is what gets embedded and text-searched; a task statement's results
are reordered around the handoff of its best match (recall/rerank.py). Its numbers are in
recall/ranking.py."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal
from memory_service.db import statement
from memory_service.embeddings import Embedder
from memory_service.errors import ServiceUnavailable
from memory_service.recall.intent import ReadQuery, read_query
from memory_service.recall.plan import Query, plan_search
from memory_service.recall.ranking import DEFAULT_RANKING, RERANK_DEPTH, Ranking
from memory_service.recall.rerank import focus_on_handoff
from memory_service.recall.schemas import SearchResult
from memory_service.recall.statement import Built, build
from memory_service.recall.stats import SearchStats
from memory_service.vocabulary import Intent, Kind

__all__ = ["Query", "SearchOutcome", "search", "search_outcome"]


@dataclass(frozen=True)
class SearchOutcome:
    results: list[SearchResult]
    # What the query asked for (recall/intent.py).
    intent: str
    # Nothing cleared the relevance floor: the query is about nothing stored (or nothing the
    # filters leave).
    abstained: bool


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
    reading: ReadQuery | None = None,
) -> list[SearchResult]:
    """The ranked results of `search_outcome`."""
    outcome = await search_outcome(
        session,
        embedder,
        principal,
        q,
        ranking,
        query_vector=query_vector,
        timeout_ms=timeout_ms,
        stats=stats,
        reading=reading,
    )
    return outcome.results


async def search_outcome(
    session: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    q: Query,
    ranking: Ranking = DEFAULT_RANKING,
    *,
    query_vector: Any = None,
    timeout_ms: int | None = None,
    stats: SearchStats | None = None,
    reading: ReadQuery | None = None,
) -> SearchOutcome:
    """`query_vector` skips embedding the query (benchmarks and index tests bring their own);
    `stats` is the process's cache of table statistics (None: read them now); `reading` is
    the query's intent and focus when the caller read it already (None: read `q.text`)."""
    reading = reading or read_query(q.text)
    # Text mode finds the words as typed and shows every match: neither cut nor re-weighted
    # (both cost the second evaluation set's start-up questions there).
    weigh_by = reading.intent if q.uses_vector else Intent.general
    focused = dataclasses.replace(q, text=reading.focus if q.uses_vector else q.text)
    if query_vector is None:
        # Before the first statement: the request's connection is taken only after the model ran.
        query_vector = await embedder.aencode_query(focused.text)
    # A task statement's results are reordered (recall/rerank.py) among more of them, found
    # among the same candidates.
    focus = ranking.handoff_focus.get(weigh_by)
    if focus is not None:
        k = focused.k
        ranking = dataclasses.replace(
            ranking,
            candidates_per_result=0,
            min_candidates=max(k * ranking.candidates_per_result, ranking.min_candidates),
        )
        focused = dataclasses.replace(focused, k=max(k, RERANK_DEPTH))
    try:
        plan = await plan_search(session, principal, focused, stats, timeout_ms)
        results = (
            []
            if plan is None
            else await _run(session, build(plan, ranking, query_vector, weigh_by, reading.names))
        )
        if focus is not None:
            repeat = ranking.kind_repeat.get(weigh_by, 1.0)
            done = ranking.done_work_weight.get(weigh_by)
            status = ranking.kind_weights(weigh_by)[Kind.status]
            finished = 1.0 if done is None or status <= 0 else done / status
            # Reordered around one handoff, a replaced learning could pass its successor again.
            results = after_successors(focus_on_handoff(results, focus, repeat, k, finished))
        return SearchOutcome(results, reading.intent.value, abstained=not results)
    except DBAPIError as exc:
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            raise ServiceUnavailable(
                f"the search took longer than {timeout_ms} ms and was cancelled; "
                "narrow it with `project` or `kinds`",
                code="search_timeout",
            ) from exc
        raise


async def _run(session: AsyncSession, built: Built) -> list[SearchResult]:
    rows = (await session.execute(statement(built.sql), built.params)).mappings().all()
    results = [
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
            superseded_by=row["superseded_by"],
            newer_id=row["newer_id"],
            done=row["done_at"] is not None,
            uses=row["uses"],
            last_used_at=row["last_used_at"],
            helpful=row["helpful"],
            wrong=row["wrong"],
            outdated=row["outdated"],
        )
        for row in rows
    ]
    return after_successors(results)


def after_successors(results: list[SearchResult]) -> list[SearchResult]:
    """A superseded learning never ranks above its successor: one found above it moves to
    just below it (its score capped at the successor's); chains (a replaced by b replaced by
    c) end in their order. The rest keeps its ranking."""
    position = {r.id: i for i, r in enumerate(results)}

    def above_successor(r: SearchResult) -> bool:
        return r.superseded_by is not None and position.get(r.superseded_by, -1) > position[r.id]

    if not any(map(above_successor, results)):
        return results
    moved: dict[uuid.UUID, list[SearchResult]] = {}
    kept: list[SearchResult] = []
    for r in results:
        if r.superseded_by is not None and above_successor(r):
            moved.setdefault(r.superseded_by, []).append(r)
        else:
            kept.append(r)
    ordered: list[SearchResult] = []

    def place(r: SearchResult, cap: float | None) -> None:
        shown = r if cap is None or r.score <= cap else r.model_copy(update={"score": cap})
        ordered.append(shown)
        for older in moved.pop(r.id, []):
            place(older, shown.score)

    for r in kept:
        place(r, None)
    for rest in list(moved.values()):  # only a cycle, which writes refuse, is left
        ordered.extend(rest)
    return ordered
