"""Plain helpers the test modules share (fixtures stay in conftest.py): the key type and its
header, a free port, an app served in-process, and writing a handoff over HTTP with sensible
defaults."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
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


@contextmanager
def running_server(database_url: str, folder: Path, **env: str) -> Iterator[str]:
    """A real `memory-service run` (uvicorn, the real model) on the test database, for tests
    that need a URL another process can reach (a CLI, a hook, a browser); yields its URL."""
    port = free_port()
    log = folder / "server.log"
    environment = {
        **os.environ,
        "MEMORY_DATABASE_URL": database_url,
        "MEMORY_PORT": str(port),
        "MEMORY_DATA_DIR": str(folder / "data"),
        "MEMORY_BOOTSTRAP_ADMIN_KEY": "false",
        "MEMORY_MIGRATE_ON_START": "false",
        "MEMORY_LOG_LEVEL": "warning",
        **env,
    }
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memory_service", "run"], env=environment, stdout=out, stderr=out
        )
        try:
            wait_ready(url, time.monotonic() + 120, proc, log)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


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


_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_of(page: str) -> str:
    """The CSRF token in a console page's forms."""
    found = _CSRF_FIELD.search(page)
    assert found is not None, "no form with a CSRF token on the page"
    return found.group(1)


async def console_sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Signs `client` in to the console with `key` (its cookie jar keeps the session); returns
    the session's CSRF token, which every form post must carry."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200, form.text[:500]
    done = await client.post(
        "/console/sign-in", data={"key": key, "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text[:500]
    page = await client.get("/console")
    assert page.status_code == 200, page.text[:500]
    return csrf_of(page.text)
