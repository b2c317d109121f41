"""Plain helpers the test modules share (fixtures stay in conftest.py): the key type and its
header, a free port, an app served in-process, and writing a handoff over HTTP with sensible
defaults."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from memory_service.config import Settings

MakeKey = Callable[..., Awaitable[str]]
"""The `make_key` fixture: `await make_key(team="alpha", scopes="read,write", projects=None)`
returns a new key's plaintext."""

PROJECT = "github.com/acme/widgets"
RECIPIENT = "widgets"
BODY = "## Decisions\n- Cache prices for 5 minutes; longer TTLs served stale prices.\n"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unreachable_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a server whose database never answers (nothing listens on port 1)."""
    return Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
        data_dir=data_dir,
        migrate_on_start=False,
        bootstrap_admin_key=False,
        **overrides,
    )


def service_cli(
    settings: Settings, *args: str, stdin: str | None = None, timeout: float = 180, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m memory_service ARGS`, the operator's CLI, on the test database (`env`: more
    variables); never raises on a failing exit code, the test looks at it."""
    return subprocess.run(
        [sys.executable, "-m", "memory_service", *args],
        env={**os.environ, "MEMORY_DATABASE_URL": str(settings.database_url), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_ready(
    url: str,
    deadline: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Polls the server at `url` until /readyz answers 200; fails the test at `deadline` (a
    `time.monotonic()` value) or as soon as `proc` has exited, with the tail of `log`."""
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            pytest.fail(f"server at {url} did not start:\n{tail}")
        time.sleep(0.2)


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`app` started (its lifespan run) behind an httpx client, for a test that needs an app
    of its own (other settings, another embedder) besides the `client` fixture's."""
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def post_handoff(
    client: httpx.AsyncClient,
    key: str,
    project: str = PROJECT,
    body: str = BODY,
    *,
    recipient: str | None = RECIPIENT,
    idempotency_key: str | None = None,
    **fields: Any,
) -> httpx.Response:
    """POST /v1/handoffs as JSON and return the response as it is. `recipient=None` leaves the
    recipient out (the server then takes it from the front matter or the sender); any other
    keyword is one more field of the request body."""
    payload: dict[str, Any] = {"project": project, "body": body, **fields}
    if recipient is not None:
        payload["recipient"] = recipient
    headers = auth(key)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return await client.post("/v1/handoffs", json=payload, headers=headers)


async def write_handoff(
    client: httpx.AsyncClient,
    key: str,
    project: str = PROJECT,
    body: str = BODY,
    *,
    expect: int = 201,
    **fields: Any,
) -> dict[str, Any]:
    """`post_handoff`, asserting the status is `expect` (201, stored, unless told); returns
    the response's JSON."""
    response = await post_handoff(client, key, project, body, **fields)
    assert response.status_code == expect, response.text[:1000]
    result: dict[str, Any] = response.json()
    return result
