"""/v1/search and /v1/brief."""

from __future__ import annotations

from fastapi import APIRouter

from memory_service.audit.service import quoted_query, record
from memory_service.deps import EmbedderDep, Reader, ReadSessionDep, SessionDep, StateDep
from memory_service.errors import InvalidInput
from memory_service.recall import search as search_service
from memory_service.recall.brief import build_brief
from memory_service.recall.schemas import Brief, BriefRequest, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["recall"])


@router.post("/search", response_model=SearchResponse)
async def search(
    body: SearchRequest,
    session: SessionDep,
    replica: ReadSessionDep,
    embedder: EmbedderDep,
    principal: Reader,
    state: StateDep,
) -> SearchResponse:
    """Past learnings most relevant to `query`, across every project the key may read unless
    `project`/`projects` narrow it. Near-duplicates come back once, with `occurrences` and the
    `projects` they were seen in."""
    settings = state.settings
    if len(body.query) > settings.max_query_chars:
        raise InvalidInput(f"query is longer than {settings.max_query_chars} characters")
    if body.k > settings.max_k:
        raise InvalidInput(f"k may be at most {settings.max_k}")
    results = await search_service.search(
        replica,
        embedder,
        principal,
        search_service.Query(
            text=body.query,
            k=body.k,
            project=body.project,
            projects=body.projects,
            prefer_project=body.prefer_project,
            kinds=list(body.kinds) if body.kinds else None,
            since=body.since,
            mode=body.mode,
        ),
        timeout_ms=settings.search_timeout_ms,
        stats=state.search_stats,
    )
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
            "results": len(results),
        },
    )
    return SearchResponse(results=results)


@router.post("/brief", response_model=Brief)
async def brief(
    body: BriefRequest,
    session: SessionDep,
    embedder: EmbedderDep,
    principal: Reader,
    state: StateDep,
) -> Brief:
    """What a session should see at start-up, inside `token_budget` tokens: this worktree's
    unread handoffs (claimed, as `/v1/inbox/claim`, with sentinels and drift warnings) and the
    past mistakes, decisions and patterns most relevant to `task`. Printed by the SessionStart
    hook."""
    brief = await build_brief(session, embedder, principal, body, stats=state.search_stats)
    await record(
        session,
        principal,
        "brief",
        target_type="worktree",
        target_id=f"{body.project}:{body.worktree}",
        details={
            "handoffs": [str(d.id) for d in brief.handoffs],
            "learnings": len(brief.learnings),
            "task": quoted_query(body.task) if body.task else None,
            "session_id": body.session_id,
        },
    )
    return brief
