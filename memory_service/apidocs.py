"""The pages that explain the API to a person with a browser: `GET /` (where to go), and,
with MEMORY_DOCS_PUBLIC, `/docs` (Swagger UI) and `/redoc` (ReDoc) over `/openapi.json`.

Their scripts, styles and icon are served from the installed `fastapi-offline` package under
`/docs/assets/`, never from a CDN: the pages work on a machine without internet, and a
browser that opens them sends nothing to a third party."""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from memory_service.config import Settings
from memory_service.errors import NotFound

ASSETS_PREFIX = "/docs/assets"
# What the pages load, by the name they load it under: nothing else in the folder is served.
_ASSET_DIR = Path(fastapi_offline.__file__).parent / "static"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
# Assets change only with the package's version, which the URL does not carry: a day.
_ASSET_CACHE = "public, max-age=86400"


def _home_page(settings: Settings) -> str:
    links = []
    if settings.docs_public:
        links.append(
            '<li><a href="/docs">/docs</a>: the REST API, interactive (Authorize with an API '
            "key to try calls)</li>"
        )
        links.append('<li><a href="/redoc">/redoc</a>: the same reference, to read</li>')
        links.append('<li><a href="/openapi.json">/openapi.json</a>: the OpenAPI schema</li>')
    else:
        links.append(
            "<li>The API docs are off on this server (MEMORY_DOCS_PUBLIC=false); "
            "<code>/openapi.json</code> answers to an API key.</li>"
        )
    if settings.console:
        links.append(
            '<li><a href="/console">/console</a>: the web console (sign in with an API key)</li>'
        )
    links.append(
        '<li><a href="/readyz">/readyz</a>: whether the database and the model are ready</li>'
    )
    items = "\n      ".join(links)
    title = escape("memory-service")
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>{title}</title>
    <link rel="icon" href="{ASSETS_PREFIX}/favicon.png">
  </head>
  <body>
    <h1>{title}</h1>
    <p>Handoff delivery and shared, searchable learnings for coding agents. Every
      <code>/v1</code> call needs <code>Authorization: Bearer &lt;key&gt;</code>.</p>
    <ul>
      {items}
    </ul>
  </body>
</html>
"""


def install(app: FastAPI, settings: Settings) -> None:
    """Adds `/`, and with MEMORY_DOCS_PUBLIC `/docs`, `/redoc` and their assets, to `app`
    (created with `docs_url=None, redoc_url=None`, so FastAPI's CDN pages are not there)."""
    router = APIRouter(include_in_schema=False)
    home = _home_page(settings)

    @router.get("/")
    async def root() -> HTMLResponse:
        return HTMLResponse(home)

    if settings.docs_public:
        openapi_url = app.openapi_url or "/openapi.json"

        @router.get("/docs")
        async def swagger_ui() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url=openapi_url,
                title="memory-service API",
                swagger_js_url=f"{ASSETS_PREFIX}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_PREFIX}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
            )

        @router.get("/redoc")
        async def redoc() -> HTMLResponse:
            return get_redoc_html(
                openapi_url=openapi_url,
                title="memory-service API",
                redoc_js_url=f"{ASSETS_PREFIX}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
                with_google_fonts=False,
            )

        @router.get(ASSETS_PREFIX + "/{name}")
        async def asset(name: str) -> FileResponse:
            media_type = _ASSETS.get(name)
            if media_type is None:
                raise NotFound(f"no such asset: {name}")
            return FileResponse(
                _ASSET_DIR / name, media_type=media_type, headers={"Cache-Control": _ASSET_CACHE}
            )

    app.include_router(router)
