"""Liveness, readiness, metrics and the API schema. /healthz and /readyz never need an API
key (supervisors and load balancers call them); /metrics and /openapi.json need one unless
MEMORY_METRICS_PUBLIC / MEMORY_DOCS_PUBLIC (`create_app` decides, with the routers here)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from memory_service.deps import StateDep
from memory_service.errors import envelope

router = APIRouter(tags=["health"])
# Included with or without an API key check (MEMORY_METRICS_PUBLIC).
metrics_router = APIRouter(tags=["health"])
# Served only when the schema is not public (MEMORY_DOCS_PUBLIC=false), behind an API key.
schema_router = APIRouter(include_in_schema=False)


@router.get(
    "/healthz",
    response_model=dict[str, str],
    responses={503: {"description": "the database has been unreachable for too long"}},
)
async def healthz(state: StateDep) -> dict[str, str] | Response:
    """The process can do its work: 503 once the database has been unreachable for longer
    than MEMORY_LIVENESS_DB_GRACE_S, so that a supervisor restarts it. Says nothing about
    the model, nor about a database outage shorter than the grace (see /readyz)."""
    down = await state.liveness.check(state.engine)
    if down is None:
        return {"status": "ok"}
    grace = state.liveness.grace_s
    return envelope(
        503,
        "unhealthy",
        f"the database has been unreachable for {down:.0f} s (more than the {grace:g} s "
        "of MEMORY_LIVENESS_DB_GRACE_S)",
        {"database": "unreachable", "unreachable_s": round(down, 1), "grace_s": grace},
    )


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
            state.liveness.failed()
    model = "ok" if state.embedder.ready else "loading"
    checks = {"database": database, "model": model}
    if database == "ok" and model == "ok":
        return Response(
            content='{"status":"ready","database":"ok","model":"ok"}',
            media_type="application/json",
        )
    return envelope(503, "not_ready", "the service is not ready yet", checks)


@metrics_router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    """Prometheus text format."""
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)


@schema_router.get("/openapi.json")
async def openapi_schema(request: Request) -> JSONResponse:
    """The OpenAPI schema, for key holders."""
    return JSONResponse(request.app.openapi())
