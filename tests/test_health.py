"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import psycopg
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.embeddings import Embedder


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
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
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
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
        data_dir=tmp_path,
        migrate_on_start=False,
        bootstrap_admin_key=False,
    )
    app = create_app(settings, embedder=embedder)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
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


async def test_metrics_count_requests_per_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/v1/handoffs/00000000-0000-0000-0000-000000000000")
    text = (await client.get("/metrics")).text
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
