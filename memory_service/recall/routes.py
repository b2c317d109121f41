"""/v1/search, /v1/brief, /v1/recall and /v1/check."""

from __future__ import annotations

from fastapi import APIRouter

from memory_service.deps import EmbedderDep, Reader, ReadSessionDep, SessionDep, StateDep
from memory_service.errors import InvalidInput
from memory_service.recall import command, prompt, service
from memory_service.recall.schemas import (
    Brief,
    BriefRequest,
    CheckRequest,
    CheckResponse,
    RecallRequest,
    RecallResponse,
    SearchRequest,
    SearchResponse,
)

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
    `projects` they were seen in. The query's `intent` (what it asks for, read from its
    phrasing) weighs the kinds of learning; `abstained` says nothing cleared the relevance
    floor."""
    settings = state.settings
    if len(body.query) > settings.max_query_chars:
        raise InvalidInput(f"query is longer than {settings.max_query_chars} characters")
    if body.k > settings.max_k:
        raise InvalidInput(f"k may be at most {settings.max_k}")
    found = await service.search_and_record(
        session,
        replica,
        embedder,
        principal,
        body,
        timeout_ms=settings.search_timeout_ms,
        stats=state.search_stats,
    )
    state.usage.note(principal.team_id, (r.id for r in found.results))
    return found


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
    made = await service.brief_and_record(
        session, embedder, principal, body, stats=state.search_stats
    )
    state.usage.note(principal.team_id, (r.id for r in made.learnings))
    return made


@router.post("/recall", response_model=RecallResponse)
async def recall(
    body: RecallRequest,
    session: SessionDep,
    replica: ReadSessionDep,
    embedder: EmbedderDep,
    principal: Reader,
    state: StateDep,
) -> RecallResponse:
    """Prompt-time recall: at most `k` past learnings clearly relevant to what the person just
    asked (`text`), never one this `session_id` was already given, never an instruction-like
    one; `abstained: true` with a `reason` when nothing clears the strict floor (small talk,
    a reply, nothing stored about it). Called by the Claude Code UserPromptSubmit hook."""
    if len(body.text) > state.settings.max_query_chars:
        raise InvalidInput(f"text is longer than {state.settings.max_query_chars} characters")
    recalled = await prompt.recall(
        session,
        replica,
        embedder,
        principal,
        body,
        timeout_ms=state.settings.search_timeout_ms,
        stats=state.search_stats,
    )
    state.usage.note(principal.team_id, (r.id for r in recalled.results))
    return recalled


@router.post("/check", response_model=CheckResponse)
async def check(
    body: CheckRequest,
    session: SessionDep,
    replica: ReadSessionDep,
    embedder: EmbedderDep,
    principal: Reader,
    state: StateDep,
) -> CheckResponse:
    """Before a shell command runs: the past mistakes it closely matches (its program and
    subcommand or a distinctive identifier literally in the mistake, and semantically close),
    at most `k`; `abstained: true` and no results for everyday commands and anything not close
    enough. Asked by the Claude Code PreToolUse hook, `memory check -- CMD` and the MCP tool
    `check_command`."""
    warned = await command.check_command(
        session,
        replica,
        embedder,
        principal,
        body,
        timeout_ms=state.settings.search_timeout_ms,
        stats=state.search_stats,
    )
    state.usage.note(principal.team_id, (r.id for r in warned.results))
    return warned
