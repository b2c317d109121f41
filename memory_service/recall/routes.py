"""/v1/search and /v1/brief."""

from __future__ import annotations

from fastapi import APIRouter

from memory_service.deps import EmbedderDep, Reader, SessionDep
from memory_service.recall import search as search_service
from memory_service.recall.brief import build_brief
from memory_service.recall.schemas import Brief, BriefRequest, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["recall"])


@router.post("/search", response_model=SearchResponse)
async def search(
    body: SearchRequest, session: SessionDep, embedder: EmbedderDep, principal: Reader
) -> SearchResponse:
    """Past learnings most relevant to `query`, across every project the key may read unless
    `project`/`projects` narrow it. Near-duplicates come back once, with `occurrences` and the
    `projects` they were seen in."""
    results = await search_service.search(
        session,
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
    )
    return SearchResponse(results=results)


@router.post("/brief", response_model=Brief)
async def brief(
    body: BriefRequest, session: SessionDep, embedder: EmbedderDep, principal: Reader
) -> Brief:
    """What a session should see at start-up, inside `token_budget` tokens: this worktree's
    unread handoffs (claimed, as `/v1/inbox/claim`, with sentinels and drift warnings) and the
    past mistakes, decisions and patterns most relevant to `task`. Printed by the SessionStart
    hook."""
    return await build_brief(session, embedder, principal, body)
