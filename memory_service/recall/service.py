"""`/v1/search` and `/v1/brief` as the API runs them: the search or brief, then its audit row
(in the request's primary session; a search itself may read from a replica). The search and
the brief themselves are memory_service/recall/search.py and brief.py."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import quoted_query, record
from memory_service.auth.service import Principal
from memory_service.embeddings import Embedder
from memory_service.recall import freshness, search
from memory_service.recall.brief import build_brief
from memory_service.recall.schemas import Brief, BriefRequest, SearchRequest, SearchResponse
from memory_service.recall.stats import SearchStats
from memory_service.vocabulary import Intent


async def search_and_record(
    session: AsyncSession,
    replica: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    body: SearchRequest,
    *,
    timeout_ms: int,
    stats: SearchStats,
) -> SearchResponse:
    outcome = await search.search_outcome(
        replica,
        embedder,
        principal,
        search.Query(
            text=body.query,
            k=body.k,
            project=body.project,
            projects=body.projects,
            prefer_project=body.prefer_project,
            kinds=list(body.kinds) if body.kinds else None,
            since=body.since,
            mode=body.mode,
            include_wrong=body.include_wrong,
        ),
        timeout_ms=timeout_ms,
        stats=stats,
    )
    results = await freshness.label(replica, principal.team_id, outcome.results, body.checkout)
    await record(
        session,
        principal,
        "search",
        details={
            "query": quoted_query(body.query),
            "mode": body.mode,
            "k": body.k,
            "project": body.project,
            "kinds": body.kinds,
            "results": len(outcome.results),
            "intent": outcome.intent,
        },
    )
    return SearchResponse(
        results=results, intent=Intent(outcome.intent), abstained=outcome.abstained
    )


async def brief_and_record(
    session: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    body: BriefRequest,
    *,
    stats: SearchStats,
) -> Brief:
    brief = await build_brief(session, embedder, principal, body, stats=stats)
    await record(
        session,
        principal,
        "brief",
        target=("worktree", f"{body.project}:{body.worktree}"),
        details={
            "handoffs": [str(d.id) for d in brief.handoffs],
            "learnings": len(brief.learnings),
            "task": quoted_query(body.task) if body.task else None,
            "basis": brief.basis,
            "abstained": brief.abstained,
            "session_id": body.session_id,
        },
    )
    return brief
