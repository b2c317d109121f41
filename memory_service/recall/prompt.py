"""Prompt-time recall (`POST /v1/recall`): the past learnings worth putting in front of an
agent, unasked, when the person has just typed a prompt. Run on every prompt of a session, so
it says nothing unless it is sure:

1. **Is the prompt about work at all?** Small talk, replies ("yes go ahead", "continue",
   "thanks!"), slash commands and prompts of a few words abstain before any search.
2. **Does anything stored clear this moment's floor?** The hybrid search (recall/search.py) with
   `PROMPT_RANKING`: a stricter cosine gate and floor than a search asked for on purpose
   (recall/ranking.py says how they were measured). Nothing clears it: abstain.
3. **What may be said?** Learnings that read like an instruction to an agent are never given
   unasked (checked again: older rows were stored under older rules), nor anything this
   session was already given (`recall_injections`, expiring; recorded race-safely, so two
   prompts of one session at once never both get the same learning). At most `k`.

Abstaining is a normal answer: `abstained: true` with the reason, and no results."""

from __future__ import annotations

import asyncio
import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import quoted_query, record
from memory_service.auth.service import Principal
from memory_service.embeddings import Embedder
from memory_service.errors import Forbidden
from memory_service.recall import freshness, queries
from memory_service.recall.brief import as_shown
from memory_service.recall.ranking import (
    PROMPT_CANDIDATES,
    PROMPT_EXPIRED_BATCH,
    PROMPT_MIN_WORDS,
    PROMPT_RANKING,
    PROMPT_SESSION_TTL_S,
)
from memory_service.recall.schemas import RecallRequest, RecallResponse, SearchResult
from memory_service.recall.search import Query, search
from memory_service.recall.stats import SearchStats

# The reasons given with `abstained: true`.
SMALL_TALK = "small talk or a reply, not a task"
TOO_SHORT = f"fewer than {PROMPT_MIN_WORDS} words: too short to say what the work is"
COMMAND = "a slash command"
NOTHING_RELEVANT = "nothing stored is relevant enough to say unasked"
ALREADY_GIVEN = "what is relevant was already given to this session"
ONLY_FLAGGED = "only learnings that read like instructions to an agent matched"

_COMMAND = re.compile(r"/[\w:-]+(?:\s|$)")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
# Words of replies and pleasantries: a prompt made only of these asks for no knowledge.
_CHATTER = frozenset(
    re.findall(
        r"\S+",
        """
    a about again agree agreed ahead alright also amazing and anyway appreciate are awesome
    bad be bye carry cheers continue cool correct could did do doing done exactly excellent
    fantastic fine for from go going good got great ha haha hello help hey hi hmm how i i'm
    im is it it's just k keep kind let let's lets lgtm like lol looks lovely many me more
    morning much my nice night no nope now of oh ok okay on once one please perfect proceed
    right same see so sorry sounds sure super thank thanks that that's the them then there
    this thx to too ty very wait was we well what what's whats why with wonderful works wow
    yeah yep yes you you're your yup
    """,
    )
)


def not_about_work(text: str) -> str | None:
    """Why `text` is not a prompt about work worth a lookup, or None when it may be."""
    stripped = text.strip()
    if _COMMAND.match(stripped):
        return COMMAND
    words = [w.lower().replace("’", "'") for w in _WORD.findall(stripped)]
    if words and all(w in _CHATTER for w in words):
        return SMALL_TALK
    if len(words) < PROMPT_MIN_WORDS:
        return TOO_SHORT
    return None


async def recall(
    session: AsyncSession,
    replica: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    body: RecallRequest,
    *,
    timeout_ms: int | None = None,
    stats: SearchStats | None = None,
) -> RecallResponse:
    """The learnings to give the session now (search on `replica`, the session's record on
    `session`, the primary), with its audit row."""
    if body.project is not None and not principal.may_access(body.project):
        raise Forbidden("this API key is not allowed on that project")
    reason = not_about_work(body.text)
    results: list[SearchResult] = []
    if reason is None:
        results, reason = await _lookup(
            session, replica, embedder, principal, body, timeout_ms, stats
        )
    await record(
        session,
        principal,
        "recall",
        details={
            "query": quoted_query(body.text),
            "project": body.project,
            "session_id": body.session_id,
            "results": [str(r.id) for r in results],
            "abstained": not results,
            "reason": reason,
        },
    )
    results = await freshness.label(replica, principal.team_id, results, body.checkout)
    return RecallResponse(results=results, abstained=not results, reason=reason)


async def _lookup(
    session: AsyncSession,
    replica: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    body: RecallRequest,
    timeout_ms: int | None,
    stats: SearchStats | None,
) -> tuple[list[SearchResult], str | None]:
    found = await search(
        replica,
        embedder,
        principal,
        Query(text=body.text, k=PROMPT_CANDIDATES, prefer_project=body.project),
        PROMPT_RANKING,
        timeout_ms=timeout_ms,
        stats=stats,
    )
    if not found:
        return [], NOTHING_RELEVANT
    # Without hidden markup, and never an instruction-like learning (checked again, in a
    # thread: the check costs ~0.4 ms a learning).
    shown = await asyncio.to_thread(lambda: [as_shown(r) for r in found])
    candidates = [r for r in shown if not r.flagged and r.text.strip()]
    if not candidates:
        return [], ONLY_FLAGGED
    if body.session_id is None:
        return candidates[: body.k], None
    team, key = principal.team_id, body.session_id
    given = await queries.injected(
        session,
        team,
        key,
        [r.id for r in candidates],
        PROMPT_SESSION_TTL_S,
        PROMPT_EXPIRED_BATCH,
    )
    fresh = [r for r in candidates if r.id not in given][: body.k]
    if not fresh:
        return [], ALREADY_GIVEN
    recorded: set[uuid.UUID] = await queries.record_injections(
        session, team, key, [r.id for r in fresh], PROMPT_SESSION_TTL_S
    )
    # Only what this request recorded: a concurrent prompt of the session got the rest.
    mine = [r for r in fresh if r.id in recorded]
    return mine, None if mine else ALREADY_GIVEN
