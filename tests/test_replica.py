"""MEMORY_DATABASE_READ_URL: searches run on a streaming replica of the primary (made with
the bundled pg_basebackup), writes on the primary."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.db import libpq_url
from memory_service.embeddings import Embedder
from tests.helpers import MakeKey, auth


def _bin(name: str) -> str:
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)


def _as_pg_user(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; pgserver runs it as system user `pgserver`.
    if os.geteuid() == 0:
        return ["runuser", "-u", "pgserver", "--", *args]
    return args


@pytest.fixture
def replica_url(settings: Settings) -> Iterator[str]:
    primary = psycopg.conninfo.conninfo_to_dict(libpq_url(str(settings.database_url)))
    socket_dir = str(primary.get("host", ""))
    if not socket_dir.startswith("/"):
        pytest.skip("needs the embedded test PostgreSQL (a unix socket) to clone")
    tmp = Path(tempfile.mkdtemp(prefix="memory-replica-"))
    data = tmp / "standby"
    if os.geteuid() == 0:
        shutil.chown(tmp, "pgserver", "pgserver")
    subprocess.run(
        _as_pg_user(
            [
                _bin("pg_basebackup"),
                "-D",
                str(data),
                "-R",
                # A fast checkpoint: the default waits for a spread one, which on a busy
                # machine took past the timeout (CI, 2026-12-04).
                "--checkpoint=fast",
                "-X",
                "stream",
                "-h",
                socket_dir,
                "-U",
                "postgres",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        _as_pg_user(
            [
                _bin("pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(tmp / "log"),
                "-o",
                f"-h '' -k {tmp}",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield f"postgresql://postgres@/{primary['dbname']}?host={tmp}"
    finally:
        subprocess.run(
            _as_pg_user([_bin("pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(tmp, ignore_errors=True)


async def test_searches_go_to_the_read_replica(
    settings: Settings, embedder: Embedder, make_key: MakeKey, replica_url: str
) -> None:
    with psycopg.connect(libpq_url(replica_url)) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    key = await make_key()
    app = create_app(
        settings.model_copy(update={"database_read_url": replica_url}), embedder=embedder
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            written = await client.post(
                "/v1/handoffs",
                json={
                    "project": "github.com/acme/api",
                    "recipient": "api",
                    "body": "## Gotchas\n- The staging replica lags up to a second behind.",
                },
                headers=auth(key),
            )
            assert written.status_code == 201
            results: list[object] = []
            for _ in range(50):  # the replica replays the write within moments
                response = await client.post(
                    "/v1/search",
                    json={"query": "how far does the staging replica lag"},
                    headers=auth(key),
                )
                assert response.status_code == 200
                results = response.json()["results"]
                if results:
                    break
                await asyncio.sleep(0.1)
            assert results
            # The search ran on the standby: its statistics saw the query, the write path did
            # not go there (a standby refuses writes), and the audit row is on the primary.
    with psycopg.connect(libpq_url(replica_url)) as conn:
        scans = conn.execute(
            "SELECT coalesce(sum(idx_scan + seq_scan), 0) FROM pg_stat_user_tables "
            "WHERE relname = 'learnings'"
        ).fetchone()
    assert scans is not None and scans[0] > 0
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        assert (
            conn.execute("SELECT count(*) FROM audit_events WHERE action = 'search'").fetchone()[0]
            >= 1
        )  # type: ignore[index]
