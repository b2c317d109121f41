"""The FastAPI application: `create_app(settings)` wires routers, errors, metrics and the
lifespan (embedded database, migrations, bootstrap key, embedding model)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from memory_service import apidocs, migrate
from memory_service.admin.routes import router as admin_router
from memory_service.audit.routes import router as audit_router
from memory_service.auth.service import bootstrap_admin_key
from memory_service.bodylimit import BodyLimitMiddleware
from memory_service.config import Settings
from memory_service.console.routes import error_page as console_error_page
from memory_service.console.routes import install as install_console
from memory_service.db import EmbeddedPostgres, create_engine, session_factory
from memory_service.deps import get_principal
from memory_service.embeddings import Embedder
from memory_service.errors import ERROR_RESPONSES, install_error_handlers
from memory_service.feedback.routes import router as feedback_router
from memory_service.forgetting.routes import router as forgetting_router
from memory_service.forgetting.service import ForgettingTask
from memory_service.handoffs.routes import BODY_SCHEMAS
from memory_service.handoffs.routes import router as handoffs_router
from memory_service.health.liveness import DatabaseLiveness
from memory_service.health.routes import metrics_router, schema_router
from memory_service.health.routes import router as health_router
from memory_service.inbox.routes import router as inbox_router
from memory_service.learnings.routes import router as learnings_router
from memory_service.metrics import MetricsMiddleware
from memory_service.ratelimit import RateLimiter
from memory_service.recall.routes import router as recall_router
from memory_service.recall.stats import SearchStats
from memory_service.state import AppState

log = logging.getLogger(__name__)


def save_admin_key(path: Path, plaintext: str) -> None:
    """Written with mode 0600 from the first byte: the key is never readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(plaintext + "\n")
    os.chmod(path, 0o600)


class StartupRefused(RuntimeError):
    """Settings the server will not start with; the message says why and what to change."""


def refuse_unsafe_settings(settings: Settings) -> None:
    """Raises StartupRefused for settings that would silently disable a protection."""
    if settings.database_url is None and not settings.db_role:
        raise StartupRefused(
            "MEMORY_DB_ROLE is empty with the embedded PostgreSQL: requests would run as its "
            "superuser, which bypasses row-level security (any team's key could reach every "
            "team's rows). Unset MEMORY_DB_ROLE (default memory_app)."
        )


async def _warn_if_rls_bypassed(engine: AsyncEngine) -> None:
    """With MEMORY_DB_ROLE empty, requests act as the URL's own user: say so loudly when
    row-level security does not bind that user. Not refused: some poolers reject the
    startup option that switches roles, and an operator may have chosen a user that owns
    nothing (then nothing is logged)."""
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT r.rolsuper, r.rolbypassrls, "
                        "coalesce(pg_has_role(current_user, c.relowner, 'USAGE'), false) "
                        "FROM pg_roles r LEFT JOIN pg_class c "
                        "ON c.oid = to_regclass('learnings') WHERE r.rolname = current_user"
                    )
                )
            ).one()
    except Exception as exc:  # unreachable now: /readyz will say so; nothing to check
        log.warning("MEMORY_DB_ROLE is empty and the database user could not be checked: %s", exc)
        return
    why = [
        reason
        for reason, applies in zip(
            ("a superuser", "has BYPASSRLS", "owns the tables"), row, strict=True
        )
        if applies
    ]
    if why:
        log.warning(
            "MEMORY_DB_ROLE is empty and the database user %s: row-level security does not "
            "bind request connections, so team isolation rests on the queries alone. Set "
            "MEMORY_DB_ROLE=memory_app (or a role that owns nothing).",
            " and ".join(why),
        )


def _announce_admin_key(path: Path, plaintext: str) -> None:
    """The key is printed only to a terminal: a log file or a container's log collector
    would keep it for anyone who can read logs. Elsewhere, where to find it."""
    if sys.stdout.isatty():
        print(
            "Created team 'default' and its admin API key (shown once):\n"
            f"  {plaintext}\n"
            f"Saved with mode 0600 to {path}",
            flush=True,
        )
    else:
        print(
            f"Created team 'default' and its admin API key, saved with mode 0600 to {path} "
            f"(not printed: stdout is not a terminal). Read it with: cat {path}",
            flush=True,
        )


async def _start_database(state: AppState) -> None:
    settings = state.settings
    refuse_unsafe_settings(settings)
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
    state.liveness.watch(state.engine)
    if not settings.db_role:
        await _warn_if_rls_bypassed(state.engine)
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
            _announce_admin_key(settings.admin_key_file, created.plaintext)


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """`embedder` lets a caller share one loaded model between apps (tests, benchmarks);
    without it the model loads in the background and /readyz says when it is there."""
    settings = settings or Settings()
    state = AppState(
        settings=settings,
        embedder=embedder or Embedder.from_settings(settings),
        registry=CollectorRegistry(),
        limiter=RateLimiter(settings.rate_limit_per_minute),
        liveness=DatabaseLiveness(settings.liveness_db_grace_s),
        search_stats=SearchStats(),
    )

    # Applies every team's forgetting policy periodically (memory_service/forgetting).
    forgetting = ForgettingTask()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loader: asyncio.Task[Embedder] | None = None
        if not state.embedder.ready:
            loader = asyncio.create_task(anyio.to_thread.run_sync(state.embedder.load))
        try:
            await _start_database(state)
            assert state.sessions is not None
            state.usage.start(state.sessions)
            forgetting.start(state.sessions)
            yield
        finally:
            await forgetting.stop()
            await state.usage.stop()
            if loader is not None and not loader.done():
                loader.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await loader
            await state.liveness.aclose()
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
        # Not public: /openapi.json is served below behind a key; the browser pages are off
        # (a browser cannot send the key with the schema request they make).
        openapi_url="/openapi.json" if settings.docs_public else None,
        # /docs and /redoc are apidocs.py's, with their assets served locally (no CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.memory = state
    install_error_handlers(app, console_error_page if settings.console else None)
    # Inside the metrics middleware, so refused bodies are counted too.
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_request_bytes,
        exempt=frozenset({("POST", "/v1/handoffs")}),  # its own limit, MEMORY_MAX_BODY_BYTES
    )
    app.add_middleware(MetricsMiddleware, registry=state.registry)
    app.include_router(health_router)
    key_needed = [Depends(get_principal)]
    app.include_router(metrics_router, dependencies=None if settings.metrics_public else key_needed)
    if not settings.docs_public:
        app.include_router(schema_router, dependencies=key_needed)
    app.include_router(handoffs_router)
    app.include_router(inbox_router)
    app.include_router(recall_router)
    app.include_router(learnings_router)
    app.include_router(feedback_router)
    app.include_router(forgetting_router)
    app.include_router(admin_router)
    app.include_router(audit_router)
    if settings.console:
        install_console(app)
    apidocs.install(app, settings)
    _publish_body_schemas(app, BODY_SCHEMAS)
    return app


def _publish_body_schemas(app: FastAPI, models: tuple[type[BaseModel], ...]) -> None:
    """Adds to the OpenAPI components the request bodies a route reads itself (so that
    FastAPI never saw them) and refers to by `$ref`: without them the reference dangles and
    the published contract of that route is unreadable to client generators and fuzzers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in body.pop("$defs", {}).items():
                    components.setdefault(name, definition)
                components.setdefault(model.__name__, body)
        return app.openapi_schema if app.openapi_schema is not None else generate()

    app.openapi = openapi  # type: ignore[method-assign]
