"""The overview: what the team's memory holds at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from memory_service.console.deps import Viewing
from memory_service.console.rendering import render
from memory_service.deps import SessionDep
from memory_service.insights import service as insights

router = APIRouter()


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, viewer: Viewing, session: SessionDep) -> HTMLResponse:
    counts = await insights.counts(session, viewer.principal)
    return render(request, "overview.html", {"counts": counts})
