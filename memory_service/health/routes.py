"""Liveness, readiness and metrics: no API key needed."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from memory_service.deps import StateDep
from memory_service.errors import envelope

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (says nothing about the database or the model)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "database or model not ready"}})
async def readyz(state: StateDep) -> Response:
    """Ready to serve: the database answers and the embedding model is loaded."""
    database = "starting"
    if state.engine is not None:
        try:
            async with asyncio.timeout(2):
                async with state.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # any failure means "not ready", whatever its type
            database = f"unavailable: {type(exc).__name__}"
    model = "ok" if state.embedder.ready else "loading"
    checks = {"database": database, "model": model}
    if database == "ok" and model == "ok":
        return Response(
            content='{"status":"ready","database":"ok","model":"ok"}',
            media_type="application/json",
        )
    return envelope(503, "not_ready", "the service is not ready yet", checks)


@router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    """Prometheus text format."""
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
