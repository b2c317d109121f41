"""Bad input to the console, swept over EVERY route the app registers under /console (pages
added later included): forged or missing CSRF tokens and cross-site posts (403), an expired
session (401), another team's ids (404), malformed ids (404 or 422), oversized query strings
(414) and unknown query values. Each answer is an HTML error page with its status, and a
refused request changes no row of any table."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.console.deps import MAX_QUERY_STRING
from memory_service.embeddings import Embedder
from tests.console_world import (
    PUBLIC,
    Team,
    build_team,
    console_routes,
    fill,
    has_params,
    missing_statuses,
    query_params,
    rows,
    snapshot,
)
from tests.helpers import MakeKey, console_sign_in

COOKIE = "memory_console"
MALFORMED = ("nope", "1' OR '1'='1", "..%2F..%2Fetc", "x" * 300, "-1", "0" * 40)
UNKNOWN = "00000000-0000-0000-0000-000000000000"
# Form fields a console form might read: a refused post must be refused whatever it carries.
FIELDS = {
    "name": "sweep",
    "scopes": "read",
    "projects": "",
    "note": "sweep",
    "value": "outdated",
    "reason": "sweep",
    "by": UNKNOWN,
}


@pytest.fixture
async def quiet_app(settings: Settings, embedder: Embedder) -> AsyncIterator[FastAPI]:
    # No rate limit: a sweep makes hundreds of requests with one key.
    application = create_app(
        settings.model_copy(update={"rate_limit_per_minute": 0}), embedder=embedder
    )
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def http(quiet_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=quiet_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _teams(http: httpx.AsyncClient, make_key: MakeKey, db: str) -> tuple[Team, Team, str]:
    # No searches: the use counts they note are flushed in the background, and would change
    # the learnings table under the snapshots.
    alpha = await build_team(
        http, make_key, db, "alpha", [("github.com/alpha/orchid", "zirconium", "quetzal")],
        search=False,
    )  # fmt: skip
    beta = await build_team(
        http, make_key, db, "beta", [("github.com/beta/heron", "lanthanum", "pangolin")],
        search=False,
    )  # fmt: skip
    spare = await make_key(team="alpha", scopes="read")
    spare_id = str(rows(db, "SELECT id FROM api_keys WHERE prefix = %s", spare.split("_")[1])[0][0])
    return alpha, beta, spare_id


def _ids(team: Team, spare_key: str | None = None) -> list[str]:
    project = team.projects[0]
    found = [project.handoffs[0], project.learnings[0], project.ids()[-1]]
    return [*found, spare_key] if spare_key else [*found, team.admin_id]


def _is_page(response: httpx.Response, status: int | tuple[int, ...]) -> bool:
    wanted = status if isinstance(status, tuple) else (status,)
    return response.status_code in wanted and "text/html" in response.headers["content-type"]


async def test_forged_missing_or_cross_site_csrf_changes_nothing_on_any_post(
    quiet_app: FastAPI, http: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    alpha, _beta, spare = await _teams(http, make_key, clean_db)
    csrf = await console_sign_in(http, alpha.admin)
    posts = console_routes(quiet_app, "POST")
    assert {"/console/sign-out", "/console/keys"} <= set(posts)
    before = snapshot(clean_db)
    tried = 0
    for path in posts:
        for value in _ids(alpha, spare) if has_params(path) else [""]:
            url = fill(path, value)
            for token, headers in (
                (None, {}),
                ("f" * 64, {}),
                ("", {}),
                (csrf, {"Sec-Fetch-Site": "cross-site"}),
                (csrf, {"Origin": "https://evil.example"}),
                (csrf, {"Origin": "null"}),
            ):
                data = dict(FIELDS, **({"csrf": token} if token is not None else {}))
                refused = await http.post(url, data=data, headers=headers)
                assert _is_page(refused, 403), (url, token, headers, refused.status_code)
                tried += 1
    assert snapshot(clean_db) == before
    assert tried >= 6 * 5
    # Control: the same post with the session's own token does change something.
    done = await http.post(f"/console/keys/{spare}/revoke", data={"csrf": csrf})
    assert done.status_code in (200, 303)
    assert snapshot(clean_db) != before


async def test_an_expired_session_gets_the_401_page_on_every_route(
    quiet_app: FastAPI, http: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    alpha, _beta, spare = await _teams(http, make_key, clean_db)
    csrf = await console_sign_in(http, alpha.admin)
    token = http.cookies.get(COOKIE)
    assert token is not None
    rows(clean_db, "UPDATE console_sessions SET expires_at = now() - interval '1 s' RETURNING 1")
    before = snapshot(clean_db)
    for method in ("GET", "POST"):
        for path in console_routes(quiet_app, method):
            if path in PUBLIC:
                continue
            for value in _ids(alpha, spare) if has_params(path) else [""]:
                http.cookies.clear()
                http.cookies.set(COOKIE, token, path="/console")
                url = fill(path, value)
                if method == "GET":
                    ended = await http.get(url)
                else:
                    ended = await http.post(url, data=dict(FIELDS, csrf=csrf))
                assert _is_page(ended, 401), (method, url, ended.status_code)
                assert "Sign in" in ended.text
                # The ended session's cookie is cleared.
                assert f"{COOKIE}=" in ended.headers.get("set-cookie", ""), url
    assert snapshot(clean_db) == before


async def test_other_teams_malformed_and_unknown_ids_are_404_and_change_nothing(
    quiet_app: FastAPI, http: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    alpha, beta, _spare = await _teams(http, make_key, clean_db)
    csrf = await console_sign_in(http, alpha.admin)
    before = snapshot(clean_db)
    swept = 0
    for method in ("GET", "POST"):
        for path in console_routes(quiet_app, method):
            if not has_params(path):
                continue
            for value, allowed in [
                *((v, missing_statuses(v)) for v in [*_ids(beta), UNKNOWN]),
                *((v, (404, 422)) for v in MALFORMED),
            ]:
                url = fill(path, value)
                if method == "GET":
                    answer = await http.get(url)
                else:
                    answer = await http.post(url, data=dict(FIELDS, csrf=csrf))
                assert _is_page(answer, allowed), (method, url, answer.status_code)
                assert "pangolin" not in answer.text and "heron" not in answer.text
                swept += 1
    assert snapshot(clean_db) == before
    assert swept >= 2 * (4 + 1 + len(MALFORMED))  # rotate and revoke at least


async def test_oversized_query_strings_are_414_on_every_route(
    quiet_app: FastAPI, http: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    alpha, _beta, spare = await _teams(http, make_key, clean_db)
    csrf = await console_sign_in(http, alpha.admin)
    before = snapshot(clean_db)
    huge = {"q": "x" * (MAX_QUERY_STRING + 1)}
    for method in ("GET", "POST"):
        for path in console_routes(quiet_app, method):
            url = fill(path, spare)
            if method == "GET":
                answer = await http.get(url, params=huge)
            else:
                answer = await http.post(url, params=huge, data=dict(FIELDS, csrf=csrf))
            assert _is_page(answer, 414), (method, url, answer.status_code)
    assert snapshot(clean_db) == before
    assert (await http.get("/console")).status_code == 200  # still signed in


async def test_unknown_query_values_get_a_page_never_a_crash(
    quiet_app: FastAPI, http: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    alpha, _beta, spare = await _teams(http, make_key, clean_db)
    await console_sign_in(http, alpha.admin)
    values = ("zz-unknown", "-1", "9" * 30, "a\x00b", "\u202eevil", "2026-99-99", "<script>")
    checked = 0
    for path in console_routes(quiet_app, "GET"):
        if path in PUBLIC:
            continue
        url = fill(path, _ids(alpha, spare)[0])
        names = query_params(quiet_app, path) or ["unknown"]
        for name in names:
            for value in values:
                answer = await http.get(url, params={name: value})
                assert _is_page(answer, (200, 400, 404, 422)), (url, name, value)
                assert "<script>" not in answer.text.split("</head>", 1)[1].replace(
                    "&lt;script&gt;", ""
                ), (url, name)
                checked += 1
    assert checked > 0
    # The audit page's own: each refused with the status the API gives.
    assert (await http.get("/console/audit", params={"since": "zz"})).status_code == 422
    assert (await http.get("/console/audit", params={"before": "zz"})).status_code == 400
    assert (await http.get("/console/keys", params={"offset": "-1"})).status_code == 422
    assert (await http.get("/console/keys", params={"offset": "zz"})).status_code == 422
