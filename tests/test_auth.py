"""API keys: 401 without a valid key, 403 without the scope, one team never sees another's
rows, the CLI creates keys, and the first start bootstraps an admin key."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.db import libpq_url
from memory_service.embeddings import Embedder
from tests.helpers import MakeKey, auth, service_cli

PROJECT = "github.com/acme/widgets"
HANDOFF = {"project": PROJECT, "recipient": "widgets", "body": "## Decisions\n- Use Postgres."}


async def test_missing_wrong_and_malformed_keys_are_401(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key()
    cases = [
        {},
        {"Authorization": "Bearer mem_deadbeef_not-a-real-secret"},
        {"Authorization": f"Bearer {key}x"},
        {"Authorization": f"Basic {key}"},
        {"Authorization": "Bearer"},
    ]
    for headers in cases:
        response = await client.get("/v1/handoffs", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/v1/handoffs", headers=auth(key))).status_code == 200


async def test_revoked_key_is_401(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    key = await make_key()
    assert (await client.get("/v1/handoffs", headers=auth(key))).status_code == 200
    assert settings.database_url
    with psycopg.connect(libpq_url(settings.database_url)) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now()")
    assert (await client.get("/v1/handoffs", headers=auth(key))).status_code == 401


async def test_last_used_is_refreshed_at_most_once_a_minute(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    key = await make_key()
    assert settings.database_url
    with psycopg.connect(libpq_url(settings.database_url), autocommit=True) as conn:
        assert conn.execute("SELECT last_used_at FROM api_keys").fetchone() == (None,)
        assert (await client.get("/v1/handoffs", headers=auth(key))).status_code == 200
        (first,) = conn.execute("SELECT last_used_at FROM api_keys").fetchone() or (None,)
        assert first is not None
        assert (await client.get("/v1/handoffs", headers=auth(key))).status_code == 200
        assert conn.execute("SELECT last_used_at FROM api_keys").fetchone() == (first,)
        # Older than the resolution: the next request refreshes it.
        conn.execute("UPDATE api_keys SET last_used_at = now() - interval '2 minutes'")
        assert (await client.get("/v1/handoffs", headers=auth(key))).status_code == 200
        (later,) = conn.execute("SELECT last_used_at FROM api_keys").fetchone() or (None,)
        assert later is not None and later > first
        # A wrong secret with the right prefix is refused and touches nothing.
        conn.execute("UPDATE api_keys SET last_used_at = NULL")
        assert (await client.get("/v1/handoffs", headers=auth(key + "x"))).status_code == 401
        assert conn.execute("SELECT last_used_at FROM api_keys").fetchone() == (None,)


async def test_missing_scope_is_403(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    reader = await make_key(scopes="read")
    writer = await make_key(scopes="write")
    denied = await client.post("/v1/handoffs", json=HANDOFF, headers=auth(reader))
    assert denied.status_code == 403
    assert denied.json()["error"] == {
        "code": "forbidden",
        "message": "this API key lacks the `write` scope",
        "details": {"scope": "write"},
    }
    created = await client.post("/v1/handoffs", json=HANDOFF, headers=auth(writer))
    assert created.status_code == 201
    assert (await client.get("/v1/handoffs", headers=auth(writer))).status_code == 403
    assert (await client.get("/v1/handoffs", headers=auth(reader))).status_code == 200


async def test_teams_never_see_each_other(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    alpha = await make_key(team="alpha")
    beta = await make_key(team="beta")
    created = (await client.post("/v1/handoffs", json=HANDOFF, headers=auth(alpha))).json()
    hid = created["id"]

    assert (await client.get(f"/v1/handoffs/{hid}", headers=auth(alpha))).status_code == 200
    assert (await client.get(f"/v1/handoffs/{hid}", headers=auth(beta))).status_code == 404
    assert (await client.delete(f"/v1/handoffs/{hid}", headers=auth(beta))).status_code == 404
    listing = (await client.get("/v1/handoffs", headers=auth(beta))).json()
    assert listing["items"] == []
    inbox = await client.get(
        "/v1/inbox", params={"project": PROJECT, "worktree": "widgets"}, headers=auth(beta)
    )
    assert inbox.json()["handoffs"] == []
    claim = await client.post(
        "/v1/inbox/claim", json={"project": PROJECT, "worktree": "widgets"}, headers=auth(beta)
    )
    assert claim.json()["handoffs"] == []
    # Beta's claim took nothing: alpha's handoff is still unread.
    peek = await client.get(
        "/v1/inbox", params={"project": PROJECT, "worktree": "widgets"}, headers=auth(alpha)
    )
    assert [h["id"] for h in peek.json()["handoffs"]] == [hid]


def test_cli_creates_a_key_printed_once(settings: Settings) -> None:
    result = service_cli(settings, "keys", "create", "--team", "cli-team", "--scopes", "read,write")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert key.startswith("mem_")
    assert "shown only this once" in result.stderr
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        row = conn.execute(
            "SELECT k.scopes, k.key_hash FROM api_keys k JOIN teams t ON t.id = k.team_id "
            "WHERE t.name = 'cli-team'"
        ).fetchone()
    assert row is not None
    assert row[0] == ["read", "write"]
    assert key not in row[1]  # only a hash is stored

    bad = service_cli(settings, "keys", "create", "--team", "x", "--scopes", "read,root")
    assert bad.returncode == 2
    assert "scopes must be" in bad.stderr


async def test_first_start_bootstraps_admin_key(
    settings: Settings, embedder: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boot = settings.model_copy(update={"bootstrap_admin_key": True, "data_dir": tmp_path / "d"})
    app = create_app(boot, embedder=embedder)
    async with LifespanManager(app):
        key_file = boot.data_dir / "admin_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        # stdout is not a terminal here (as under a supervisor or in a container): the key
        # stays out of the logs, the output says where it is.
        printed = capsys.readouterr().out
        assert key not in printed
        assert f"cat {key_file}" in printed
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/v1/handoffs", headers=auth(key))).status_code == 200
            assert (
                await client.post("/v1/handoffs", json=HANDOFF, headers=auth(key))
            ).status_code == 201
    # A second start on the same database creates nothing new.
    again = create_app(boot, embedder=embedder)
    async with LifespanManager(again):
        pass
    assert key_file.read_text().strip() == key
    with psycopg.connect(libpq_url(str(boot.database_url))) as conn:
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (1,)


async def test_admin_key_printed_once_to_a_terminal(
    settings: Settings,
    embedder: Embedder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    boot = settings.model_copy(update={"bootstrap_admin_key": True, "data_dir": tmp_path / "d"})
    async with LifespanManager(create_app(boot, embedder=embedder)):
        key = (boot.data_dir / "admin_key").read_text().strip()
    assert f"  {key}\n" in capsys.readouterr().out
