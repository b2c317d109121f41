"""The API explains itself: the schema declares the bearer key (the Authorize button of
/docs), /docs and /redoc load every script and style from this server (no CDN, so they work
without internet), and `GET /` points a person to the docs and the console."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.embeddings import Embedder
from tests.helpers import serve


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings(database_url="postgresql://unused@/unused")).openapi()


def test_the_schema_declares_the_bearer_key(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert len(schemes) == 1
    [(name, scheme)] = schemes.items()
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    operations = [
        (path, method, op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]
    keyed = [(p, m) for p, m, op in operations if op.get("security") == [{name: []}]]
    assert {p for p, _ in keyed} >= {p for p, _, _ in operations if p.startswith("/v1/")}
    assert all(p.startswith("/v1/") or p == "/metrics" for p, _ in keyed), keyed
    # Supervisors and load balancers call these without a key.
    assert "security" not in spec["paths"]["/healthz"]["get"]
    assert "security" not in spec["paths"]["/readyz"]["get"]


async def test_a_missing_or_malformed_key_keeps_the_error_envelope(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        refused = await client.get("/v1/handoffs", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["code"] == "unauthorized"


def _loaded(html: str) -> list[str]:
    """Every URL a page makes the browser load: scripts, styles, icons, fonts."""
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(
        r"""url\(["']?([^"')]+)""", html
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_everything_from_this_server(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    urls = _loaded(response.text)
    assert urls, response.text
    assert [u for u in urls if not u.startswith("/")] == []
    # Today's FastAPI pages load from cdn.jsdelivr.net (and ReDoc from Google Fonts).
    assert not re.search(r"(?:https?:)?//", response.text), response.text
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert "/openapi.json" in response.text


async def test_only_the_docs_assets_are_served(client: httpx.AsyncClient) -> None:
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in script.text
    for name in ("core.py", "__init__.py", "..%2Fcore.py", "nothing.js"):
        missing = await client.get(f"/docs/assets/{name}")
        assert missing.status_code == 404, name
        assert missing.json()["error"]["code"] == "not_found"


async def test_the_root_page_points_to_the_docs_and_the_console(
    client: httpx.AsyncClient, settings: Settings, embedder: Embedder
) -> None:
    home = await client.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    links = re.findall(r'href="([^"]+)"', home.text)
    assert {"/docs", "/redoc", "/openapi.json", "/console"} <= set(links)
    for link in ("/docs", "/console"):
        assert (await client.get(link, follow_redirects=True)).status_code == 200
    # Without public docs and without the console, the page names neither as a link.
    closed = settings.model_copy(update={"docs_public": False, "console": False})
    async with serve(create_app(closed, embedder=embedder)) as other:
        home = await other.get("/")
        assert home.status_code == 200
        links = re.findall(r'href="([^"]+)"', home.text)
        assert not {"/docs", "/redoc", "/console"} & set(links)
        assert "MEMORY_DOCS_PUBLIC=false" in home.text
        assert (await other.get("/docs/assets/swagger-ui.css")).status_code == 404
