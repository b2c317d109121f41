"""The database of an operator command (`memory-service keys`, `migrate`, `reembed`, `export`,
`import`, and the evaluator's own service): which one, migrated, and one transaction across
teams. Opened once per command and closed with it: the engine is disposed and an embedded
PostgreSQL this process started is stopped (unless another process still holds it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from memory_service import migrate
from memory_service.config import Settings
from memory_service.db import EmbeddedPostgres, create_engine, session_factory
from memory_service.tenancy import act_as_system


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """`MEMORY_DATABASE_URL`, else the embedded PostgreSQL in the data folder, started for the
    block."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(
        settings.embedded_pgdata, shared_buffers_mb=settings.embedded_shared_buffers_mb
    )
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


@asynccontextmanager
async def operator_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine of one connection on the command's database, migrated to head first."""
    with database_url(settings) as url:
        migrate.upgrade(url)
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            yield engine
        finally:
            await engine.dispose()


@asynccontextmanager
async def system_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction across teams (row-level security's system mode: operator commands work
    on any team), committed when the block ends, rolled back when it raises."""
    async with sessions() as session, session.begin():
        await act_as_system(session)
        yield session


@asynccontextmanager
async def operator_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """`system_transaction` on the command's database (`operator_engine`)."""
    async with (
        operator_engine(settings) as engine,
        system_transaction(session_factory(engine)) as session,
    ):
        yield session
