"""No console page shows one team's data to another, nor a project-limited key's other
projects: swept over EVERY GET route the app registers under /console (pages added later
included), with path parameters filled with the hidden rows' real ids (by-id pages are a 404)
and list pages asked for the hidden project by name."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.embeddings import Embedder
from tests.console_world import (
    PUBLIC,
    Project,
    audit_event_ids,
    build_team,
    console_routes,
    fill,
    has_params,
    missing_statuses,
)
from tests.helpers import MakeKey, console_sign_in

ALPHA_A = ("github.com/alpha/orchid-project", "zirconium", "quetzalcoatl")
ALPHA_B = ("github.com/alpha/basalt-project", "tungstenite", "marmoset")
BETA = ("github.com/beta/heron-project", "lanthanum", "pangolin")


@pytest.fixture
async def quiet_app(settings: Settings, embedder: Embedder) -> FastAPI:
    # No rate limit: a sweep makes hundreds of requests with one key.
    application = create_app(
        settings.model_copy(update={"rate_limit_per_minute": 0}), embedder=embedder
    )
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def http(quiet_app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=quiet_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def _list_queries(hidden: Project) -> dict[str, str]:
    """What a list or search page might be asked for the hidden project by (echoed values
    excepted, nothing of it may come back)."""
    return {
        "project": hidden.slug,
        "projects": hidden.slug,
        "q": hidden.asked,
        "query": hidden.asked,
        "recipient": f"{hidden.asked}-tree",
        "worktree": f"{hidden.asked}-tree",
        "target": hidden.handoffs[0],
    }


def _unasked(markers: list[str], params: dict[str, str]) -> list[str]:
    return [m for m in markers if not any(m in value for value in params.values())]


def _leaks(text: str, markers: list[str]) -> list[str]:
    return [m for m in markers if m in text]


@dataclass
class Sweep:
    pages: int = 0
    by_id: int = 0


async def _sweep(
    app: FastAPI,
    http: httpx.AsyncClient,
    hidden: list[Project],
    extra_ids: list[str],
    path_only: list[str],
) -> Sweep:
    """Every GET page, as the signed-in client: nothing of `hidden` (nor `extra_ids`)
    anywhere; by-id pages of any of those ids, or of `path_only` (too short to look for in a
    page: audit event numbers), are a 404."""
    markers = [m for p in hidden for m in p.markers()] + extra_ids
    done = Sweep()
    for path in console_routes(app, "GET"):
        if path in PUBLIC:
            continue
        if not has_params(path):
            page = await http.get(path)
            assert page.status_code < 500, (path, page.status_code)
            assert _leaks(page.text, markers) == [], path
            for project in hidden:
                params = _list_queries(project)
                asked = await http.get(path, params=params)
                assert asked.status_code < 500, (path, asked.status_code)
                # What was asked for may be echoed in a filter's field; nothing else.
                unasked = _unasked(markers, params)
                assert _leaks(asked.text, unasked) == [], (path, "asked")
            done.pages += 1
            continue
        for value in [i for p in hidden for i in p.ids()] + extra_ids + path_only:
            page = await http.get(fill(path, value))
            assert page.status_code in missing_statuses(value), (path, value, page.status_code)
            assert "text/html" in page.headers["content-type"]
            assert _leaks(page.text, markers) == [], (path, value)
            done.by_id += 1
    return done


async def test_another_teams_key_sees_nothing_of_the_first_team_on_any_page(
    quiet_app: FastAPI, http: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    alpha = await build_team(http, make_key, clean_db, "alpha", [ALPHA_A, ALPHA_B])
    beta = await build_team(http, make_key, clean_db, "beta", [BETA])
    await make_key(team="alpha", scopes="read", projects=[ALPHA_A[0]])  # one more alpha key
    # Control: alpha's own admin does see its markers, so their absence below means something.
    await console_sign_in(http, alpha.admin)
    for path, marker in (("/console", "orchid-project"), ("/console/audit", ALPHA_A[1]),
                         ("/console/keys", alpha.key_prefixes[0])):  # fmt: skip
        page = await http.get(path)
        assert marker in page.text, path
    http.cookies.clear()

    await console_sign_in(http, beta.admin)
    assert BETA[0] in (await http.get("/console")).text  # beta sees its own
    alpha_keys = [i for i in alpha.key_ids] + [p for p in alpha.key_prefixes]
    swept = await _sweep(
        quiet_app, http, alpha.projects, alpha_keys, audit_event_ids(clean_db, "alpha")[-3:]
    )
    assert swept.pages >= 3  # overview, audit, keys at least
    # The keys page and the audit page of beta: only beta's keys.
    keys = (await http.get("/console/keys")).text
    assert beta.key_prefixes[0] in keys
    assert _leaks(keys, alpha.key_prefixes) == []


async def test_a_project_limited_key_sees_nothing_of_other_projects_on_any_page(
    quiet_app: FastAPI, http: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    alpha = await build_team(http, make_key, clean_db, "alpha", [ALPHA_A, ALPHA_B])
    shown, hidden = alpha.projects
    for scopes in ("read,write,admin", "read"):
        http.cookies.clear()
        limited = await make_key(team="alpha", scopes=scopes, projects=[shown.slug])
        await console_sign_in(http, limited)
        overview = (await http.get("/console")).text
        assert "orchid-project" in overview  # the project it may see is there
        markers = hidden.markers()
        for path in console_routes(quiet_app, "GET"):
            if path in PUBLIC:
                continue
            if not has_params(path):
                for params in ({}, _list_queries(hidden)):
                    page = await http.get(path, params=params)
                    assert page.status_code < 500, (path, page.status_code)
                    assert _leaks(page.text, _unasked(markers, params)) == [], path
                continue
            for value in hidden.ids():
                page = await http.get(fill(path, value))
                if page.status_code == 403:
                    # Refused for the page as a whole (an admin page), not for this row: the
                    # same page about a row the key may see is refused alike.
                    seen = await http.get(fill(path, shown.ids()[0]))
                    assert seen.status_code == 403, (path, value)
                else:
                    assert page.status_code in missing_statuses(value), (path, value)
                assert _leaks(page.text, markers) == [], (path, value)
