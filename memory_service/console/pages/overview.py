"""The overview: what the team's memory holds at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from memory_service.console.charts import KIND_COLOURS, stacked_weeks
from memory_service.console.deps import Viewing
from memory_service.console.rendering import render
from memory_service.deps import SessionDep
from memory_service.insights import service as insights

router = APIRouter()


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, viewer: Viewing, session: SessionDep) -> HTMLResponse:
    principal = viewer.principal
    counts = await insights.counts(session, principal)
    weekly = await insights.weekly(session, principal)
    mistakes = await insights.recurring_mistakes(session, principal)
    waiting = await insights.waiting(session, principal)
    return render(
        request,
        "overview.html",
        {
            "counts": counts,
            "weekly": weekly,
            "chart": stacked_weeks(weekly),
            "colours": KIND_COLOURS,
            "mistakes": mistakes,
            "waiting": waiting,
        },
    )
