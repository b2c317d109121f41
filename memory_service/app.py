"""The FastAPI application: `create_app(settings)` wires routers, errors, metrics and the
lifespan (embedded database, migrations, bootstrap key, embedding model)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from memory_service import migrate
from memory_service.admin.routes import router as admin_router
from memory_service.audit.routes import router as audit_router
from memory_service.auth.service import bootstrap_admin_key
from memory_service.config import Settings
from memory_service.db import EmbeddedPostgres, create_engine, session_factory
from memory_service.embeddings import Embedder
from memory_service.errors import ERROR_RESPONSES, install_error_handlers
from memory_service.handoffs.routes import router as handoffs_router
from memory_service.health.routes import router as health_router
from memory_service.inbox.routes import router as inbox_router
from memory_service.learnings.routes import router as learnings_router
from memory_service.metrics import MetricsMiddleware
from memory_service.ratelimit import RateLimiter
from memory_service.recall.routes import router as recall_router
from memory_service.state import AppState

log = logging.getLogger(__name__)


def save_admin_key(path: Path, plaintext: str) -> None:
    """Written with mode 0600 from the first byte: the key is never readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(plaintext + "\n")
    os.chmod(path, 0o600)


async def _start_database(state: AppState) -> None:
    settings = state.settings
    url = settings.database_url
    if url is None:
        state.embedded = EmbeddedPostgres(
            settings.embedded_pgdata, shared_buffers_mb=settings.embedded_shared_buffers_mb
        )
        url = await anyio.to_thread.run_sync(state.embedded.start)
    state.database_url = url
    if settings.migrate_on_start:
        await anyio.to_thread.run_sync(migrate.upgrade, url)
    state.engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        role=settings.db_role or None,
    )
    state.sessions = session_factory(state.engine)
    state.read_sessions = state.sessions
    if settings.database_read_url:
        state.read_engine = create_engine(
            settings.database_read_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            role=settings.db_role or None,
        )
        state.read_sessions = session_factory(state.read_engine)
    if settings.bootstrap_admin_key:
        async with state.sessions() as session, session.begin():
            created = await bootstrap_admin_key(session)
        if created is not None:
            save_admin_key(settings.admin_key_file, created.plaintext)
            state.admin_key_created = True
            print(
                "Created team 'default' and its admin API key (shown once):\n"
                f"  {created.plaintext}\n"
                f"Saved with mode 0600 to {settings.admin_key_file}",
                flush=True,
            )


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """`embedder` lets a caller share one loaded model between apps (tests, benchmarks);
    without it the model loads in the background and /readyz says when it is there."""
    settings = settings or Settings()
    state = AppState(
        settings=settings,
        embedder=embedder or Embedder.from_settings(settings),
        registry=CollectorRegistry(),
        limiter=RateLimiter(settings.rate_limit_per_minute),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loader: asyncio.Task[Embedder] | None = None
        if not state.embedder.ready:
            loader = asyncio.create_task(anyio.to_thread.run_sync(state.embedder.load))
        try:
            await _start_database(state)
            yield
        finally:
            if loader is not None and not loader.done():
                loader.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await loader
            for engine in (state.engine, state.read_engine):
                if engine is not None:
                    await engine.dispose()
            if state.embedded is not None:
                await anyio.to_thread.run_sync(state.embedded.stop)

    app = FastAPI(
        title="memory-service",
        version="1",
        summary="Handoff delivery and shared, searchable learnings for coding agents",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.memory = state
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, registry=state.registry)
    app.include_router(health_router)
    app.include_router(handoffs_router)
    app.include_router(inbox_router)
    app.include_router(recall_router)
    app.include_router(learnings_router)
    app.include_router(admin_router)
    app.include_router(audit_router)
    return app
