"""Search: the API's search (`POST /v1/search`, the same service, so ranking, flags,
supersession and project limits are the API's), from a GET form a person can bookmark."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from memory_service.console.deps import ReadSession, Viewing
from memory_service.console.rendering import render
from memory_service.deps import EmbedderDep, SessionDep, StateDep
from memory_service.errors import InvalidInput
from memory_service.insights import service as insights
from memory_service.recall import service as recall
from memory_service.recall.schemas import SearchRequest, SearchResult
from memory_service.vocabulary import Kind, SearchMode

router = APIRouter()

K_CHOICES = (5, 10, 20, 50)
# The search has a `since` but no `until`: with one, this many results are asked for, those
# written after the day are dropped, and the first k kept.
UNTIL_POOL = 100


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def _day(name: str, value: str) -> date | None:
    """A date field of the form: empty (not given) or YYYY-MM-DD."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name}: a date is written YYYY-MM-DD") from None


@router.get("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    viewer: Viewing,
    session: SessionDep,
    replica: ReadSession,
    embedder: EmbedderDep,
    state: StateDep,
    q: Annotated[str, Query(max_length=4000)] = "",
    mode: SearchMode = SearchMode.hybrid,
    project: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006 - FastAPI's way
    kind: Annotated[list[Kind], Query(max_length=8)] = [],  # noqa: B006
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    wrong: bool = False,
) -> HTMLResponse:
    settings = state.settings
    query = q.strip()
    since_day, until_day = _day("since", since), _day("until", until)
    if len(query) > settings.max_query_chars:
        raise InvalidInput(f"the query is longer than {settings.max_query_chars} characters")
    if k > settings.max_k:
        raise InvalidInput(f"k may be at most {settings.max_k}")
    if since_day is not None and until_day is not None and until_day < since_day:
        raise InvalidInput("`until` is before `since`")
    projects = await insights.projects(session, viewer.principal)
    results: list[SearchResult] | None = None
    intent = None
    abstained = False
    if query:
        try:
            body = SearchRequest(
                query=query,
                k=min(UNTIL_POOL, settings.max_k) if until_day is not None else k,
                projects=project or None,
                kinds=kind or None,
                since=_midnight(since_day),
                mode=mode,
                include_wrong=wrong,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "request"
            raise InvalidInput(f"{where}: {first['msg']}") from exc
        found = await recall.search_and_record(
            session,
            replica,
            embedder,
            viewer.principal,
            body,
            timeout_ms=settings.search_timeout_ms,
            stats=state.search_stats,
        )
        results = found.results
        if until_day is not None:
            end = _midnight(until_day + timedelta(days=1))
            results = [r for r in results if end is None or r.created_at < end][:k]
        intent, abstained = found.intent, found.abstained
    return render(
        request,
        "search.html",
        {
            "q": query,
            "mode": mode,
            "modes": list(SearchMode),
            "selected_projects": project,
            "projects": projects,
            "kinds": list(Kind),
            "selected_kinds": kind,
            "since": since_day,
            "until": until_day,
            "k": k,
            "k_choices": sorted({*K_CHOICES, k}),
            "wrong": wrong,
            "results": results,
            "intent": intent,
            "abstained": abstained,
            "pool": UNTIL_POOL,
        },
    )
