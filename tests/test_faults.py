"""Faults, each against a real server process: SIGKILL in the middle of concurrent writes
leaves no half-written handoff; PostgreSQL stopping and starting under a running server turns
/readyz to 503 and back, and requests after recovery succeed; PostgreSQL down for longer than
the liveness grace turns /healthz to 503 and back; a client's write retried after a read
timeout is stored once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from memory_client import MemoryClient, RetryPolicy

from memory_service import migrate
from memory_service.auth.service import create_key, get_or_create_team
from memory_service.config import Settings
from memory_service.db import create_engine, libpq_url, session_factory
from memory_service.handoffs.parsing import parse_handoff
from tests.helpers import MakeKey, auth, free_port, post_handoff, write_handoff

pytestmark = pytest.mark.slow

PROJECT = "github.com/acme/ledger"
STARTUP_TIMEOUT = 120.0


@dataclass
class Server:
    """`python -m memory_service run` on a database, its output kept in a log file."""

    database_url: str
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app_name(self) -> str:
        return f"memory-faults-{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"server-{self.port}.log"

    def start(self) -> None:
        env = {
            **os.environ,
            "MEMORY_DATABASE_URL": self.database_url,
            "MEMORY_PORT": str(self.port),
            "MEMORY_DATA_DIR": str(self.workdir / "data"),
            "MEMORY_BOOTSTRAP_ADMIN_KEY": "false",
            "MEMORY_RATE_LIMIT_PER_MINUTE": "0",
            "MEMORY_LOG_LEVEL": "warning",
            # libpq names every connection of this process: the test can tell its sessions
            # from any other client of the database.
            "PGAPPNAME": self.app_name,
            **self.env,
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "memory_service", "run"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        self.wait_readyz(200, timeout)

    def wait_readyz(self, status: int, timeout: float) -> httpx.Response:
        return self.wait_status("/readyz", status, timeout)

    def wait_status(self, path: str, status: int, timeout: float) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None and self.proc.poll() is None, self.output()
            try:
                response = httpx.get(f"{self.url}{path}", timeout=5)
                if response.status_code == status:
                    return response
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{path} never said {status}\n{self.output()}"
            time.sleep(0.2)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


StartServer = Callable[..., Awaitable[Server]]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """`await start_server(database_url, env={...})`: a server started and ready. Every server
    a test starts is stopped afterwards, whatever happened."""
    started: list[Server] = []

    async def start(database_url: str, env: dict[str, str] | None = None) -> Server:
        server = Server(database_url, tmp_path, env=env or {})
        started.append(server)
        server.start()
        await asyncio.to_thread(server.wait_ready)
        return server

    yield start
    for server in started:
        server.stop()


def _body(i: int) -> str:
    """Six learnings, one of them shared by every handoff (linked as near-duplicates)."""
    return f"""---
topic: ledger batch {i}
---
## Decisions
- Batch {i}: ledger entries are written in batches of {100 + i} rows per transaction.
- Batch {i}: balances are recomputed nightly from entries, never updated in place.

## What NOT to do
- Never run the ledger migrations by hand on production.
- Batch {i}: do not retry a failed settlement without its original idempotency key.

## Next Steps
- Batch {i}: reconcile account {i} against the bank statement.
- Batch {i}: add an alert when settlement {i} lags more than an hour.
"""


async def write_ledger(http: httpx.AsyncClient, key: str, i: int) -> dict[str, Any]:
    """Handoff `i` of the ledger batch, under its own Idempotency-Key (a retry of it is the
    same request)."""
    return await write_handoff(
        http, key, PROJECT, _body(i), recipient="ledger", idempotency_key=f"kill-{i}"
    )


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(url), autocommit=True)


def _rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with _connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _backends(url: str, server: Server, *, in_transaction: bool = False) -> int:
    """The server's open database sessions (only those inside a transaction, if asked)."""
    rows = _rows(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        + (" AND xact_start IS NOT NULL" if in_transaction else ""),
        server.app_name,
    )
    return int(rows[0][0])


def assert_every_handoff_whole(url: str) -> int:
    """Each stored handoff has exactly the learnings its body yields, no learning lacks its
    handoff, and each canonical learning counts exactly its stored near-duplicates."""
    handoffs = _rows(url, "SELECT id, body FROM handoffs")
    counts = dict(_rows(url, "SELECT handoff_id, count(*) FROM learnings GROUP BY handoff_id"))
    for handoff_id, body in handoffs:
        expected = len(parse_handoff(body).learnings)
        assert expected > 0
        assert counts.get(handoff_id, 0) == expected, f"handoff {handoff_id} is half-written"
    orphans = _rows(
        url,
        "SELECT count(*) FROM learnings l LEFT JOIN handoffs h "
        "ON h.team_id = l.team_id AND h.id = l.handoff_id WHERE h.id IS NULL",
    )
    assert orphans == [(0,)]
    miscounted = _rows(
        url,
        "SELECT c.id, c.occurrences, count(d.id) FROM learnings c "
        "LEFT JOIN learnings d ON d.team_id = c.team_id AND d.canonical_id = c.id "
        "WHERE c.canonical_id IS NULL GROUP BY c.id, c.occurrences "
        "HAVING c.occurrences <> 1 + count(d.id)",
    )
    assert miscounted == []
    return len(handoffs)


async def test_sigkill_mid_ingest_leaves_no_half_written_handoff(
    settings: Settings, make_key: MakeKey, start_server: StartServer
) -> None:
    url = str(settings.database_url)
    key = await make_key()
    server = await start_server(url)

    n = 32
    acknowledged: list[str] = []

    async def write(http: httpx.AsyncClient, i: int) -> None:
        created = await write_ledger(http, key, i)
        acknowledged.append(created["id"])

    async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
        writes = [asyncio.create_task(write(http, i)) for i in range(n)]
        # Kill once some writes are acknowledged and others are inside an open transaction.
        deadline = time.monotonic() + 60
        in_transaction = 0
        while time.monotonic() < deadline:
            in_transaction = await asyncio.to_thread(_backends, url, server, in_transaction=True)
            if (acknowledged and in_transaction) or all(w.done() for w in writes):
                break
            await asyncio.sleep(0.02)
        server.kill()
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert in_transaction > 0, "the kill did not land while a write transaction was open"
    assert acknowledged and lost, f"{len(acknowledged)} acknowledged, {len(lost)} cut off"
    assert all(isinstance(o, httpx.TransportError) for o in lost), lost[:3]

    # PostgreSQL rolls back what the dead process's connections left open.
    deadline = time.monotonic() + 30
    while await asyncio.to_thread(_backends, url, server):
        assert time.monotonic() < deadline, "the killed server's sessions never went away"
        await asyncio.sleep(0.1)
    stored = assert_every_handoff_whole(url)
    assert len(acknowledged) <= stored <= n
    ids = {str(row[0]) for row in _rows(url, "SELECT id FROM handoffs")}
    assert set(acknowledged) <= ids, "an acknowledged write was lost"

    # A restarted server serves, and clients retrying their cut-off writes with the same
    # Idempotency-Key end with every handoff stored exactly once.
    restarted = await start_server(url)
    async with httpx.AsyncClient(base_url=restarted.url, timeout=120) as http:
        for i in range(n):
            created = await write_ledger(http, key, i)
            assert created["duplicate"] == (created["id"] in ids)
        listing = await http.get(
            "/v1/handoffs", params={"project": PROJECT, "limit": 200}, headers=auth(key)
        )
        assert len(listing.json()["items"]) == n
        found = await http.post(
            "/v1/search", json={"query": "migrations by hand on production"}, headers=auth(key)
        )
        # Concurrent writers may each make the shared bullet canonical (neither sees the
        # other's row before commit); between them they count every occurrence once.
        shared = [
            r
            for r in found.json()["results"]
            if r["text"] == "Never run the ledger migrations by hand on production."
        ]
        assert shared and sum(r["occurrences"] for r in shared) == n
    assert assert_every_handoff_whole(url) == n


@dataclass
class OwnPostgres:
    """A PostgreSQL this test may stop and start: pgserver in a fresh folder."""

    root: Path
    server: Any
    url: str

    @property
    def pgdata(self) -> Path:
        return Path(self.server.pgdata)

    def pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        # As root, pgserver runs PostgreSQL as its own system user, who owns the data folder.
        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        self.pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        # The options pgserver itself starts it with: sockets only, in the same folder.
        socket_dir = self.server.get_postmaster_info().socket_dir
        self.pg_ctl(
            "-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.pgdata / "log"), "start"
        )


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    import pgserver

    # Not under pytest's tmp_path: that is private to root, and PostgreSQL runs as `pgserver`.
    root = Path(tempfile.mkdtemp(prefix="memory-faults-"))
    server = pgserver.get_server(root / "pgdata", cleanup_mode="delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE faults")
        url = server.get_uri("faults")
        migrate.upgrade(url)
        yield OwnPostgres(root, server, url)
    finally:
        # pgserver only stops the postmaster it started itself; after a restart that is gone,
        # so stop whatever runs now first, then let pgserver delete the folder.
        from pgserver._commands import pg_ctl

        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            pg_ctl(
                ["-w", "-m", "immediate", "stop"],
                pgdata=root / "pgdata",
                user=server.system_user,
                timeout=60,
            )
        # pgserver asks whether the first postmaster still runs and, if pg_ctl cannot stop it,
        # signals it: stopped by the test, it can pass the first check and be gone by the
        # signal (psutil.NoSuchProcess, seen once in CI). Gone is what this wants.
        import psutil

        with contextlib.suppress(psutil.NoSuchProcess):
            server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


async def _key_at(url: str, team: str = "ops") -> str:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with session_factory(engine)() as session, session.begin():
            created = await create_key(
                session, await get_or_create_team(session, team), "read,write"
            )
    finally:
        await engine.dispose()
    return created.plaintext


async def test_postgres_restart_turns_readyz_503_then_200(
    own_postgres: OwnPostgres, start_server: StartServer
) -> None:
    key = await _key_at(own_postgres.url)
    server = await start_server(own_postgres.url)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

        async def write(text: str) -> httpx.Response:
            return await post_handoff(
                http, key, PROJECT, f"## Decisions\n- {text}", recipient="ledger"
            )

        assert (await write("Settlements run every hour.")).status_code == 201

        await asyncio.to_thread(own_postgres.stop)
        down = await asyncio.to_thread(server.wait_readyz, 503, 30)
        assert down.json()["error"]["code"] == "not_ready"
        assert down.json()["error"]["details"]["database"].startswith("unavailable")
        # While it is down, requests are refused as retryable (503 + Retry-After), not 500.
        refused = await write("This one is refused.")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "database_unavailable"
        assert refused.headers["retry-after"]
        listing = await http.get("/v1/handoffs", headers=auth(key))
        assert listing.status_code == 503, listing.text
        assert (await http.get("/healthz")).status_code == 200

        await asyncio.to_thread(own_postgres.start)
        await asyncio.to_thread(server.wait_readyz, 200, 60)
        # Every pooled connection died with the old postmaster; none of that leaks out.
        for text in ("Reconciliation runs after settlement.", "Alerts page the on-call."):
            created = await write(text)
            assert created.status_code == 201, created.text
        listing = await http.get("/v1/handoffs", params={"project": PROJECT}, headers=auth(key))
        assert listing.status_code == 200
        assert len(listing.json()["items"]) == 3
        found = await http.post(
            "/v1/search", json={"query": "how often do settlements run"}, headers=auth(key)
        )
        assert found.status_code == 200
        assert found.json()["results"][0]["text"] == "Settlements run every hour."


async def test_postgres_down_longer_than_the_grace_turns_healthz_503_then_200(
    own_postgres: OwnPostgres, start_server: StartServer
) -> None:
    """Liveness: a database gone for longer than MEMORY_LIVENESS_DB_GRACE_S makes /healthz
    a 503 (a supervisor would restart the server); once it is back, /healthz is 200 again."""
    server = await start_server(own_postgres.url, env={"MEMORY_LIVENESS_DB_GRACE_S": "1.5"})
    await asyncio.to_thread(server.wait_status, "/healthz", 200, 30)

    await asyncio.to_thread(own_postgres.stop)
    await asyncio.to_thread(server.wait_readyz, 503, 30)
    unhealthy = await asyncio.to_thread(server.wait_status, "/healthz", 503, 60)
    error = unhealthy.json()["error"]
    assert error["code"] == "unhealthy"
    # Rounded to a tenth: just past the grace may read as the grace itself.
    assert error["details"]["grace_s"] == 1.5 and error["details"]["unreachable_s"] >= 1.5

    await asyncio.to_thread(own_postgres.start)
    healthy = await asyncio.to_thread(server.wait_status, "/healthz", 200, 60)
    assert healthy.json() == {"status": "ok"}
    await asyncio.to_thread(server.wait_readyz, 200, 60)


class _TimeoutReleasesLock(httpx.BaseTransport):
    """The client's real network transport, watched: when an attempt times out, `release`
    lets the server finish that attempt's write."""

    def __init__(self, release: Any) -> None:
        self.inner = httpx.HTTPTransport()
        self.release = release
        self.keys: list[str | None] = []
        self.timeouts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        try:
            return self.inner.handle_request(request)
        except httpx.ReadTimeout:
            self.timeouts += 1
            self.release()
            raise

    def close(self) -> None:
        self.inner.close()


async def test_write_retried_after_client_timeout_is_stored_once(
    settings: Settings, make_key: MakeKey, start_server: StartServer
) -> None:
    url = str(settings.database_url)
    key = await make_key()
    server = await start_server(url)
    body = _body(7)

    # A slow database: the first attempt's INSERT waits behind this lock (reads still pass)
    # until the client has given up on it.
    lock = psycopg.connect(libpq_url(url))
    lock.execute("LOCK TABLE handoffs IN EXCLUSIVE MODE")

    def release() -> None:
        if not lock.closed:
            lock.commit()
            lock.close()

    transport = _TimeoutReleasesLock(release)

    def send() -> Any:
        with MemoryClient(
            server.url,
            key,
            transport=transport,
            timeout=httpx.Timeout(1.5, connect=5.0),
            retry=RetryPolicy(attempts=3, backoff=0.2),
        ) as client:
            return client.create_handoff(PROJECT, body, recipient="ledger")

    try:
        created = await asyncio.to_thread(send)
    finally:
        release()
    assert transport.timeouts == 1 and len(transport.keys) == 2
    assert transport.keys[0] is not None and transport.keys[0] == transport.keys[1]
    # The first attempt completed on the server after the client stopped waiting; the retry
    # got that very handoff back instead of storing a second one.
    assert created.duplicate is True
    rows = _rows(url, "SELECT id, idempotency_key FROM handoffs")
    assert rows == [(created.id, transport.keys[0])]
    assert assert_every_handoff_whole(url) == 1
    assert len(created.learnings) == len(parse_handoff(body).learnings)
