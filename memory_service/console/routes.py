"""The console's routes under /console: every page module's router, the static assets, the
headers every response carries and the error page (`install`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from memory_service.console.errors import error_page
from memory_service.console.pages import (
    audit,
    handoffs,
    keys,
    learnings,
    overview,
    review,
    search,
    signin,
)
from memory_service.console.security import PREFIX, ConsoleHeadersMiddleware

__all__ = ["error_page", "install", "router"]

router = APIRouter(include_in_schema=False)
for page in (signin, overview, search, learnings, handoffs, review, audit, keys):
    router.include_router(page.router, prefix=PREFIX)

_STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serves the console from `app` (its error page is given to `install_error_handlers`)."""
    app.add_middleware(ConsoleHeadersMiddleware)
    app.mount(PREFIX + "/static", StaticFiles(directory=_STATIC), name="console-static")
    app.include_router(router)
