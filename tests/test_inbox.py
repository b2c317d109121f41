"""Inbox delivery: peek changes nothing, claim delivers each handoff exactly once (also under
concurrent claimers on separate connections and across two server processes), with drift."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memory_service.config import Settings
from memory_service.inbox.service import same_commit
from tests.helpers import MakeKey, auth, free_port, wait_ready, write_handoff

PROJECT = "gitlab.com/acme/chat"
SHA = "9e3b43ec0b66ab9c231122757aa573d80c0526a8"


async def _write(client: httpx.AsyncClient, key: str, n: int, worktree: str = "chat") -> list[str]:
    ids = []
    for i in range(n):
        body = f"## Next Steps\n- step {i}"
        created = await write_handoff(
            client, key, PROJECT, body, recipient=worktree, branch="feat/x", head=SHA
        )
        ids.append(created["id"])
    return ids


async def test_peek_then_claim_once(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    key = await make_key()
    ids = await _write(client, key, 3)
    await _write(client, key, 1, worktree="chat-other")
    params = {"project": PROJECT, "worktree": "chat"}
    for _ in range(2):
        peek = (await client.get("/v1/inbox", params=params, headers=auth(key))).json()
        assert [h["id"] for h in peek["handoffs"]] == ids
        assert all(h["drift"] is None for h in peek["handoffs"])
    claim = await client.post(
        "/v1/inbox/claim",
        json={**params, "branch": "feat/x", "head": SHA[:7], "session_id": "s-1"},
        headers=auth(key),
    )
    delivered = claim.json()["handoffs"]
    assert [h["id"] for h in delivered] == ids
    assert all(h["sentinel"] and h["body"].startswith("## Next Steps") for h in delivered)
    assert delivered[0]["drift"] == {
        "branch": False,
        "head": False,
        "handoff_branch": "feat/x",
        "claim_branch": "feat/x",
        "handoff_head": SHA,
        "claim_head": SHA[:7],
    }
    again = await client.post("/v1/inbox/claim", json=params, headers=auth(key))
    assert again.json()["handoffs"] == []
    assert (await client.get("/v1/inbox", params=params, headers=auth(key))).json()[
        "handoffs"
    ] == []
    stored = (await client.get(f"/v1/handoffs/{ids[0]}", headers=auth(key))).json()
    assert stored["status"] == "read"
    assert stored["claimed_by"] == "s-1"
    other = await client.get(
        "/v1/inbox", params={"project": PROJECT, "worktree": "chat-other"}, headers=auth(key)
    )
    assert len(other.json()["handoffs"]) == 1


async def test_drift_flags_moved_branch_and_head(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key()
    await _write(client, key, 1)
    claim = await client.post(
        "/v1/inbox/claim",
        json={"project": PROJECT, "worktree": "chat", "branch": "main", "head": "0123abcd"},
        headers=auth(key),
    )
    drift = claim.json()["handoffs"][0]["drift"]
    assert drift["branch"] is True and drift["head"] is True


def test_same_commit() -> None:
    assert same_commit(SHA, SHA[:7])
    assert same_commit(SHA[:12].upper(), SHA)
    assert not same_commit(SHA, SHA[:6])  # too short to mean one commit
    assert not same_commit(SHA, "1" + SHA[1:])
    assert not same_commit("main", "mai")


async def test_unknown_project_and_bad_names(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    key = await make_key()
    empty = await client.post(
        "/v1/inbox/claim",
        json={"project": "github.com/no/such", "worktree": "x"},
        headers=auth(key),
    )
    assert empty.status_code == 200 and empty.json()["handoffs"] == []
    bad = await client.post(
        "/v1/inbox/claim", json={"project": PROJECT, "worktree": "../x"}, headers=auth(key)
    )
    assert bad.status_code == 422
    missing = await client.get("/v1/inbox", params={"project": PROJECT}, headers=auth(key))
    assert missing.status_code == 422


async def test_concurrent_claimers_get_each_handoff_exactly_once(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key()
    ids = await _write(client, key, 20)
    body = {"project": PROJECT, "worktree": "chat"}

    async def claimer(i: int) -> list[str]:
        got: list[str] = []
        for _ in range(3):
            response = await client.post(
                "/v1/inbox/claim", json={**body, "session_id": f"c{i}"}, headers=auth(key)
            )
            got += [h["id"] for h in response.json()["handoffs"]]
        return got

    results = await asyncio.gather(*[claimer(i) for i in range(8)])
    delivered = Counter(h for r in results for h in r)
    assert sorted(delivered) == sorted(ids)
    assert set(delivered.values()) == {1}


@pytest.fixture
def two_servers(settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    """Two real server processes (uvicorn) on the one test database."""
    procs = []
    urls = []
    for i in range(2):
        port = free_port()
        env = {
            **os.environ,
            "MEMORY_DATABASE_URL": str(settings.database_url),
            "MEMORY_PORT": str(port),
            "MEMORY_DATA_DIR": str(tmp_path / f"server{i}"),
            "MEMORY_BOOTSTRAP_ADMIN_KEY": "false",
            "MEMORY_LOG_LEVEL": "warning",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "memory_service", "run"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 180
        for url, proc in zip(urls, procs, strict=True):
            wait_ready(url, deadline, proc)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


@pytest.mark.slow
async def test_writes_and_claims_across_two_server_processes(
    client: httpx.AsyncClient, make_key: MakeKey, two_servers: list[str], settings: Settings
) -> None:
    key = await make_key()

    async def write(i: int, base: str) -> str:
        async with httpx.AsyncClient(base_url=base, timeout=60) as remote:
            body = f"## Next Steps\n- step {i}"
            created = await write_handoff(
                remote, key, PROJECT, body, recipient="chat", idempotency_key=f"write-{i}"
            )
            return str(created["id"])

    # Each handoff is sent to both processes at once with one Idempotency-Key, as a client
    # retrying against another replica would: one handoff each, never two.
    written = await asyncio.gather(*[write(i, base) for i in range(20) for base in two_servers])
    ids = sorted(set(written))
    assert len(ids) == 20
    import psycopg

    from memory_service.db import libpq_url

    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        assert conn.execute("SELECT count(*) FROM handoffs").fetchone() == (20,)
    body = {"project": PROJECT, "worktree": "chat"}

    async def claimer(i: int) -> list[str]:
        base = two_servers[i % 2]
        got: list[str] = []
        async with httpx.AsyncClient(base_url=base, timeout=30) as remote:
            for _ in range(3):
                response = await remote.post(
                    "/v1/inbox/claim", json={**body, "session_id": f"p{i}"}, headers=auth(key)
                )
                assert response.status_code == 200, response.text
                got += [h["id"] for h in response.json()["handoffs"]]
        return got

    results = await asyncio.gather(*[claimer(i) for i in range(8)])
    delivered = Counter(h for r in results for h in r)
    assert sorted(delivered) == ids
    assert set(delivered.values()) == {1}
