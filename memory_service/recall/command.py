"""Command-time warnings (`POST /v1/check`): before a shell command runs, the past mistakes it
closely matches, or nothing.

The command is read without running it (recall/shell.py): its program and subcommands and its
distinctive identifiers. An everyday command (`ls`, `git status`, `pytest -x`) has none and is
answered at once, without touching the database. Otherwise the terms are searched among
mistakes and discoveries (recall/search.py), and a result is a warning only when

- one of the command's terms is literally in it (`mix release`, `--upgrade`, `config/models.yaml`:
  the learning talks about this very thing, not about something that sounds alike), and
- its search score clears a strict floor (semantically close as well),

and it is not flagged as reading like an instruction (such text is never handed to an agent
as a warning). The numbers are in recall/ranking.py with how they were measured."""

from __future__ import annotations

import functools
import re

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import quoted_query, record
from memory_service.auth.service import Principal
from memory_service.embeddings import Embedder
from memory_service.recall import freshness, search
from memory_service.recall.ranking import CHECK_CANDIDATES, CHECK_MIN_SCORE
from memory_service.recall.schemas import CheckRequest, CheckResponse, SearchResult
from memory_service.recall.shell import CommandTerms, analyze
from memory_service.recall.stats import SearchStats
from memory_service.vocabulary import Kind

# What a warning may be: a mistake, or a discovery (which is how a failure's cause is written
# down: "What went wrong", "Root cause").
WARNING_KINDS = [Kind.mistake, Kind.discovery]
NO_TERMS = "no_terms"
NO_MATCH = "no_match"


@functools.lru_cache(maxsize=1024)
def _pattern(term: str) -> re.Pattern[str]:
    # The term as a whole token: not the inside of a longer word, path or dotted name
    # (`mix release` is not in `remix releases`, `httpx` is not in `httpx.AsyncClient`).
    # The flags written right after it are captured.
    return re.compile(
        rf"(?<![\w-])(?<![\w][./:]){re.escape(term)}(?![\w-])(?![./:]\w)"
        r"((?:\s+-{1,2}[A-Za-z][\w-]*)*)",
        re.IGNORECASE,
    )


def matched_terms(text: str, terms: CommandTerms) -> list[str]:
    """The command's terms literally in `text`. A phrase the text writes with flags
    (`uv lock --upgrade`) matches only a command that passes those flags too: the mistake is
    about that variant (`uv lock` alone is not it)."""
    found = []
    for term in terms.terms:
        for match in _pattern(term).finditer(text):
            if term not in terms.phrases or set(match.group(1).split()) <= terms.flags:
                found.append(term)
                break
    return found


def warnings(results: list[SearchResult], terms: CommandTerms, k: int) -> list[SearchResult]:
    """The results that clear the rule: a literal term, the score floor, not flagged."""
    kept = [
        r
        for r in results
        if not r.flagged and r.score >= CHECK_MIN_SCORE and matched_terms(r.text, terms)
    ]
    return kept[:k]


async def check_command(
    session: AsyncSession,
    replica: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    body: CheckRequest,
    *,
    timeout_ms: int,
    stats: SearchStats,
) -> CheckResponse:
    terms = analyze(body.command)
    if terms.empty:
        # Nothing distinctive: nothing read, so nothing to audit either.
        return CheckResponse(results=[], abstained=True, reason=NO_TERMS, terms=[])
    found = await search.search(
        replica,
        embedder,
        principal,
        search.Query(
            text=terms.query(),
            k=CHECK_CANDIDATES,
            project=body.project,
            kinds=list(WARNING_KINDS),
        ),
        timeout_ms=timeout_ms,
        stats=stats,
    )
    results = warnings(found, terms, body.k)
    results = await freshness.label(replica, principal.team_id, results, body.checkout)
    await record(
        session,
        principal,
        "check",
        details={
            "command": quoted_query(body.command),
            "project": body.project,
            "session_id": body.session_id,
            "terms": list(terms.terms),
            "results": len(results),
        },
    )
    return CheckResponse(
        results=results,
        abstained=not results,
        reason=None if results else NO_MATCH,
        terms=list(terms.terms),
    )
