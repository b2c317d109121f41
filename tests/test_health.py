"""/healthz, /readyz, /metrics and the API schema."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import psycopg
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.embeddings import Embedder
from tests.helpers import MakeKey, auth, serve, unreachable_settings


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "model": "ok"}


class _SlowLoadingEmbedder(Embedder):
    """Holds `load` until released, to observe the service while the model is loading."""

    def __init__(self, real: Embedder) -> None:
        super().__init__()
        self.release = threading.Event()
        self._real = real

    def load(self) -> Embedder:
        self.release.wait(timeout=30)
        self._model = self._real._model
        self._onnx = self._real._onnx
        return self


async def test_readyz_waits_for_model(settings: Settings, embedder: Embedder) -> None:
    slow = _SlowLoadingEmbedder(embedder)
    app = create_app(settings, embedder=slow)
    async with serve(app) as client:
        waiting = await client.get("/readyz")
        assert waiting.status_code == 503
        assert waiting.json()["error"]["details"]["model"] == "loading"
        assert (await client.get("/healthz")).status_code == 200
        slow.release.set()
        for _ in range(100):
            if (await client.get("/readyz")).status_code == 200:
                break
            import asyncio

            await asyncio.sleep(0.05)
        assert (await client.get("/readyz")).status_code == 200


async def test_readyz_503_when_database_unreachable(tmp_path: Path, embedder: Embedder) -> None:
    app = create_app(unreachable_settings(tmp_path), embedder=embedder)
    async with serve(app) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()["error"]
        assert body["code"] == "not_ready"
        assert body["details"]["database"].startswith("unavailable")
        # A request needing the database is a 503 with the envelope, not a 500.
        search = await client.get(
            "/v1/handoffs", headers={"Authorization": "Bearer mem_abcdefgh_x"}
        )
        assert search.status_code == 503
        assert search.json()["error"]["code"] == "database_unavailable"


async def test_healthz_503_once_database_unreachable_longer_than_grace(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Liveness: a server whose database has been gone for longer than the grace says so,
    so that a supervisor restarts it."""
    app = create_app(unreachable_settings(tmp_path, liveness_db_grace_s=0.5), embedder=embedder)
    async with serve(app) as client:
        deadline = time.monotonic() + 30
        while (response := await client.get("/healthz")).status_code == 200:
            assert time.monotonic() < deadline, "/healthz never turned 503"
            await asyncio.sleep(0.05)
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "unhealthy"
        assert "MEMORY_LIVENESS_DB_GRACE_S" in error["message"]
        assert error["details"]["database"] == "unreachable"
        assert error["details"]["grace_s"] == 0.5
        assert error["details"]["unreachable_s"] >= 0.5


async def test_healthz_ignores_the_database_with_grace_0(
    tmp_path: Path, embedder: Embedder
) -> None:
    app = create_app(unreachable_settings(tmp_path, liveness_db_grace_s=0), embedder=embedder)
    async with serve(app) as client:
        assert (await client.get("/readyz")).status_code == 503  # records the failure
        liveness = app.state.memory.liveness
        liveness.failing_since = time.monotonic() - 3600
        assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_healthz_forgets_an_outage_once_the_database_answers(
    settings: Settings, embedder: Embedder
) -> None:
    """A failure long ago followed by a database that answers now is alive: /healthz
    probes when nothing succeeded lately, and the success clears the outage."""
    app = create_app(settings.model_copy(update={"liveness_db_grace_s": 1}), embedder=embedder)
    async with serve(app) as client:
        liveness = app.state.memory.liveness
        liveness.last_ok = time.monotonic() - 3600
        liveness.failing_since = time.monotonic() - 3000
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert liveness.failing_since is None


async def test_metrics_need_a_key_unless_public(
    settings: Settings, embedder: Embedder, make_key: MakeKey
) -> None:
    key = await make_key(scopes="read")
    async with serve(create_app(settings, embedder=embedder)) as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert (await client.get("/metrics", headers=auth("mem_abcdefgh_x"))).status_code == 401
        allowed = await client.get("/metrics", headers=auth(key))
        assert allowed.status_code == 200
        assert "memory_http_requests_total" in allowed.text
    public = settings.model_copy(update={"metrics_public": True})
    async with serve(create_app(public, embedder=embedder)) as client:
        assert (await client.get("/metrics")).status_code == 200


async def test_schema_and_docs_public_unless_told_otherwise(
    settings: Settings, embedder: Embedder, make_key: MakeKey
) -> None:
    key = await make_key(scopes="read")
    async with serve(create_app(settings, embedder=embedder)) as client:
        assert "/v1/handoffs" in (await client.get("/openapi.json")).json()["paths"]
        assert (await client.get("/docs")).status_code == 200
        assert (await client.get("/redoc")).status_code == 200
    private = settings.model_copy(update={"docs_public": False})
    async with serve(create_app(private, embedder=embedder)) as client:
        refused = await client.get("/openapi.json")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        schema = await client.get("/openapi.json", headers=auth(key))
        assert schema.status_code == 200
        assert "/v1/handoffs" in schema.json()["paths"]
        assert "/openapi.json" not in schema.json()["paths"]
        # A browser cannot send the key with the schema request these pages make: off.
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/redoc")).status_code == 404


async def test_metrics_count_requests_per_route(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key(scopes="read")
    await client.get("/healthz")
    await client.get("/v1/handoffs/00000000-0000-0000-0000-000000000000")
    text = (await client.get("/metrics", headers=auth(key))).text
    assert 'memory_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/v1/handoffs/{handoff_id}",status="401"' in text
    assert "memory_http_request_duration_seconds_bucket" in text


async def test_deadlock_victim_gets_a_retryable_conflict(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """PostgreSQL rolling a request back for a concurrent one (deadlock, serialization) is a
    503 that says so, with Retry-After; not "database unreachable", not a 500."""

    async def victim() -> None:
        raise OperationalError(
            "UPDATE learnings ...", {}, psycopg.errors.DeadlockDetected("deadlock detected")
        )

    app.add_api_route("/test-deadlock-victim", victim)
    response = await client.get("/test-deadlock-victim")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "concurrent_conflict"
    assert response.headers["retry-after"] == "1"
