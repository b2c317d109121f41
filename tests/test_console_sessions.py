"""The console's sign-in sessions over the real HTTP stack: the cookie and its flags, CSRF on
every form, sessions that end (sign-out, expiry, key revoked), the headers of every page, and
bad input answered with an error page that changes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.console.security import CONTENT_SECURITY_POLICY
from memory_service.db import libpq_url
from memory_service.embeddings import Embedder
from tests.helpers import MakeKey, auth, console_sign_in, csrf_of, serve, write_handoff


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


async def test_unsigned_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    form = await client.get("/console/sign-in")
    assert form.status_code == 200
    assert 'type="password"' in form.text
    assert form.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_sign_in_keeps_only_a_session_cookie(
    client: httpx.AsyncClient, key: str, clean_db: str
) -> None:
    await write_handoff(client, key)
    form = await client.get("/console/sign-in")
    done = await client.post(
        "/console/sign-in", data={"key": key, "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/console"
    cookie = next(v for k, v in done.headers.multi_items() if k == "set-cookie"
                  and v.startswith("memory_console="))  # fmt: skip
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags  # plain HTTP here; see the test of the Secure flag
    token = cookie.split(";")[0].split("=", 1)[1]
    assert key not in cookie and token not in key
    page = await client.get("/console")
    assert page.status_code == 200
    assert "github.com/acme/widgets" in page.text
    assert key not in page.text
    for header in ("x-frame-options", "referrer-policy", "x-content-type-options"):
        assert header in page.headers
    assert page.headers["cache-control"] == "no-store"
    # Only a hash of the token is stored, and the sign-in is in the audit trail.
    stored = _rows(clean_db, "SELECT token_hash FROM console_sessions")
    assert len(stored) == 1 and stored[0][0] != token
    assert _rows(clean_db, "SELECT count(*) FROM audit_events WHERE action='console.sign_in'") == [
        (1,)
    ]


async def test_secure_flag_when_configured(
    settings: Settings, embedder: Embedder, make_key: MakeKey
) -> None:
    key = await make_key()
    app = create_app(settings.model_copy(update={"console_secure_cookie": True}), embedder=embedder)
    async with serve(app) as plain:
        # Over plain HTTP a Secure cookie is not sent back: the sign-in form is refused.
        form = await plain.get("/console/sign-in")
        assert "; secure" in form.headers["set-cookie"].lower()
        refused = await plain.post(
            "/console/sign-in", data={"key": key, "csrf": csrf_of(form.text)}
        )
        assert refused.status_code == 403
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="https://console.test") as client,
    ):
        form = await client.get("/console/sign-in")
        done = await client.post(
            "/console/sign-in",
            data={"key": key, "csrf": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert "; secure" in done.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    "case", ["wrong key", "no form token", "forged form token", "other origin", "huge key"]
)
async def test_refused_sign_ins_create_no_session(
    client: httpx.AsyncClient, key: str, clean_db: str, case: str
) -> None:
    form = await client.get("/console/sign-in")
    data = {"key": key, "csrf": csrf_of(form.text)}
    headers = {}
    expected = 403
    if case == "wrong key":
        data["key"] = key[:-4] + "AAAA"
        expected = 401
    elif case == "no form token":
        del data["csrf"]
    elif case == "forged form token":
        data["csrf"] = "x" * 43
    elif case == "other origin":
        headers["Origin"] = "https://evil.example"
    else:
        data["key"] = key + "A" * 500
        expected = 422
    response = await client.post(
        "/console/sign-in", data=data, headers=headers, follow_redirects=False
    )
    assert response.status_code == expected, response.text[:300]
    assert "text/html" in response.headers["content-type"]
    assert data["key"] not in response.text
    assert _rows(clean_db, "SELECT count(*) FROM console_sessions") == [(0,)]
    assert (await client.get("/console", follow_redirects=False)).status_code == 303


async def test_a_key_without_read_scope_cannot_sign_in(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    writer_only = await make_key(scopes="write")
    form = await client.get("/console/sign-in")
    response = await client.post(
        "/console/sign-in", data={"key": writer_only, "csrf": csrf_of(form.text)}
    )
    assert response.status_code == 403
    assert "read" in response.text


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    client: httpx.AsyncClient, key: str, clean_db: str
) -> None:
    csrf = await console_sign_in(client, key)
    forged = await client.post("/console/sign-out", data={"csrf": "nope"})
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    assert (await client.get("/console")).status_code == 200  # still signed in
    cross = await client.post(
        "/console/sign-out", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    token = client.cookies.get("memory_console")
    out = await client.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
    assert _rows(clean_db, "SELECT count(*) FROM console_sessions") == [(0,)]
    # The old cookie, replayed, signs nobody in.
    assert token is not None
    client.cookies.set("memory_console", token, path="/console")
    replay = await client.get("/console")
    assert replay.status_code == 401
    assert "Sign in" in replay.text


async def test_revoking_the_key_ends_its_sessions(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    admin = await make_key(scopes="read,write,admin")
    console_key = await make_key()
    await console_sign_in(client, console_key)
    keys = (await client.get("/v1/admin/keys", headers=auth(admin))).json()["keys"]
    prefix = console_key.split("_")[1]
    key_id = next(k["id"] for k in keys if k["prefix"] == prefix)
    assert (await client.delete(f"/v1/admin/keys/{key_id}", headers=auth(admin))).status_code == 204
    ended = await client.get("/console")
    assert ended.status_code == 401
    assert "revoked" in ended.text


async def test_an_expired_session_is_refused(
    client: httpx.AsyncClient, key: str, clean_db: str
) -> None:
    await console_sign_in(client, key)
    _rows(
        clean_db, "UPDATE console_sessions SET expires_at = now() - interval '1 second' RETURNING 1"
    )
    expired = await client.get("/console")
    assert expired.status_code == 401
    assert "expired" in expired.text
    # The cookie is cleared with it.
    assert "memory_console=" in expired.headers.get("set-cookie", "")


async def test_oversized_query_string_and_unknown_pages(
    client: httpx.AsyncClient, key: str
) -> None:
    await console_sign_in(client, key)
    long = await client.get("/console", params={"q": "x" * 5000})
    assert long.status_code == 414
    assert "text/html" in long.headers["content-type"]
    missing = await client.get("/console/no-such-page")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert missing.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # The API keeps its JSON errors.
    api = await client.get("/v1/no-such-thing", headers=auth(key))
    assert api.headers["content-type"].startswith("application/json")


async def test_each_team_sees_only_its_own_counts(
    app: FastAPI, client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    alpha = await make_key(team="alpha")
    beta = await make_key(team="beta")
    await write_handoff(client, alpha, project="github.com/alpha/secret-project")
    await console_sign_in(client, beta)
    page = await client.get("/console")
    assert "secret-project" not in page.text
    assert "Nothing yet" in page.text


async def test_the_console_can_be_turned_off(settings: Settings, embedder: Embedder) -> None:
    app = create_app(settings.model_copy(update={"console": False}), embedder=embedder)
    async with serve(app) as client:
        response = await client.get("/console/sign-in")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")


def test_static_assets_are_packaged() -> None:
    root = Path(__file__).resolve().parents[1] / "memory_service" / "console"
    assert (root / "static" / "console.css").is_file()
    assert (root / "templates" / "base.html").is_file()
