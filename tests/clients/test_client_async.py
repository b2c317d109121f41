"""AsyncMemoryClient against the real app in-process (httpx.ASGITransport): every route, the
error mapping, retries and idempotency. Network failures are simulated by a transport in
front of the real app; the server's behaviour is always the real one."""

from __future__ import annotations

import inspect
import uuid
from pathlib import Path

import httpx
import memory_client
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from memory_client import (
    AsyncMemoryClient,
    AuthenticationError,
    Conflict,
    ConnectionFailed,
    MemoryClient,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
    ValidationError,
)
from memory_client._core import DEFAULT_RETRY

from memory_service.app import create_app
from memory_service.embeddings import Embedder
from tests.clients.helpers import FlakyAsyncTransport, Step
from tests.helpers import PROJECT, MakeKey, unreachable_settings

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05)
BODY = """---
from: claude-code (session 7)
topic: Cache layer
branch: feat/cache
head: 9e3b43ec0b66ab9c231122757aa573d80c0526a8
---
## Decisions
- Cache entries expire after 5 minutes; longer TTLs served stale prices.

## What NOT to do
- Don't cache error responses; a 502 got pinned for five minutes.
"""


def client_for(
    app: FastAPI, key: str | None, steps: list[Step] | None = None, retry: RetryPolicy = FAST
) -> tuple[AsyncMemoryClient, FlakyAsyncTransport]:
    transport = FlakyAsyncTransport(httpx.ASGITransport(app=app), steps or [])
    return AsyncMemoryClient("http://test", key, transport=transport, retry=retry), transport


async def test_every_route(app: FastAPI, key: str) -> None:
    client, _ = client_for(app, key)
    async with client:
        assert (await client.healthz()).status == "ok"
        ready = await client.readyz()
        assert (ready.database, ready.model) == ("ok", "ok")

        created = await client.create_handoff(PROJECT, BODY, recipient="widgets")
        assert created.recipient == "widgets" and not created.duplicate
        assert {item.kind for item in created.learnings} == {"decision", "mistake"}

        handoff = await client.get_handoff(created.id)
        assert handoff.sender == "claude-code (session 7)" and handoff.status == "unread"
        assert handoff.topic == "Cache layer" and "stale prices" in handoff.body

        page = await client.list_handoffs(project=PROJECT, status="unread")
        assert [h.id for h in page.items] == [created.id]

        peek = await client.peek_inbox(PROJECT, "widgets")
        assert [d.sentinel for d in peek.handoffs] == [created.sentinel]

        claim = await client.claim_inbox(PROJECT, "widgets", branch="main", head="0123abcd")
        assert [d.id for d in claim.handoffs] == [created.id]
        drift = claim.handoffs[0].drift
        assert drift is not None and drift.branch and drift.head and drift.moved
        assert (await client.claim_inbox(PROJECT, "widgets")).handoffs == []

        found = await client.search("stale cached prices", project=PROJECT, kinds=["decision"])
        assert found.results and "stale prices" in found.results[0].text
        learning = await client.get_learning(found.results[0].id)
        assert learning.handoff_id == created.id and learning.project == PROJECT

        brief = await client.brief(PROJECT, "widgets", task="caching prices", token_budget=400)
        assert brief.handoffs == []  # delivered once, by the claim above
        assert "Past claims" in brief.markdown and brief.learnings

        assert (await client.forget(learning.id)).deleted >= 1
        with pytest.raises(NotFound):
            await client.get_learning(learning.id)

        await client.delete_handoff(created.id)
        with pytest.raises(NotFound):
            await client.get_handoff(created.id)


async def test_iter_handoffs_follows_cursors(app: FastAPI, key: str) -> None:
    client, transport = client_for(app, key)
    async with client:
        for i in range(5):
            await client.create_handoff(PROJECT, f"- note {i}\n", recipient="widgets")
        seen = [h async for h in client.iter_handoffs(project=PROJECT, page_size=2)]
    assert len({h.id for h in seen}) == 5
    assert sum(r.url.path == "/v1/handoffs" and r.method == "GET" for r in transport.sent) == 3


async def test_errors_map_to_exceptions(app: FastAPI, key: str, make_key: MakeKey) -> None:
    bad, _ = client_for(app, "mem_nothere_x")
    async with bad:
        with pytest.raises(AuthenticationError) as auth_error:
            await bad.peek_inbox(PROJECT, "widgets")
    assert auth_error.value.status_code == 401 and auth_error.value.code == "unauthorized"

    reader, _ = client_for(app, await make_key(scopes="read"))
    async with reader:
        with pytest.raises(PermissionDenied) as denied:
            await reader.create_handoff(PROJECT, "- x\n", recipient="widgets")
    assert denied.value.details == {"scope": "write"}

    client, _ = client_for(app, key)
    async with client:
        with pytest.raises(NotFound):
            await client.get_handoff(uuid.uuid4())
        with pytest.raises(ValidationError) as invalid:
            await client.create_handoff("github.com/../etc", "- x\n", recipient="w")
        assert "project" in invalid.value.message and invalid.value.details
        with pytest.raises(ValidationError):
            await client.forget("not-a-uuid")
        with pytest.raises(PayloadTooLarge):
            await client.create_handoff(PROJECT, "x" * 300_000, recipient="widgets")
        await client.create_handoff(PROJECT, "- a\n", recipient="w", idempotency_key="k1")
        with pytest.raises(Conflict) as conflict:
            await client.create_handoff(PROJECT, "- b\n", recipient="w", idempotency_key="k1")
    assert "Idempotency-Key" in conflict.value.message
    assert all(isinstance(e, memory_client.MemoryClientError) for e in (auth_error.value,))


async def test_lost_write_is_retried_once_and_stored_once(app: FastAPI, key: str) -> None:
    # The server stores the handoff, the response is lost, the client retries with the same
    # Idempotency-Key and gets the stored copy back instead of a second handoff.
    client, transport = client_for(app, key, ["lose"])
    async with client:
        created = await client.create_handoff(PROJECT, BODY, recipient="widgets")
        assert created.duplicate
        page = await client.list_handoffs(project=PROJECT)
    assert [h.id for h in page.items] == [created.id]
    writes = [r for r in transport.sent if r.method == "POST"]
    assert len(writes) == 2
    assert writes[0].headers["Idempotency-Key"] == writes[1].headers["Idempotency-Key"]
    uuid.UUID(writes[0].headers["Idempotency-Key"])  # a uuid4 by default


async def test_each_write_gets_its_own_key(app: FastAPI, key: str) -> None:
    client, transport = client_for(app, key)
    async with client:
        await client.create_handoff(PROJECT, "- one\n", recipient="widgets")
        await client.create_handoff(PROJECT, "- two\n", recipient="widgets")
    keys = {r.headers["Idempotency-Key"] for r in transport.sent}
    assert len(keys) == 2


async def test_lost_claim_is_not_retried(app: FastAPI, key: str) -> None:
    client, transport = client_for(app, key, ["ok", "lose"])
    async with client:
        created = await client.create_handoff(PROJECT, BODY, recipient="widgets")
        with pytest.raises(ConnectionFailed):
            await client.claim_inbox(PROJECT, "widgets")
        assert sum(r.url.path == "/v1/inbox/claim" for r in transport.sent) == 1
        # The claim did happen; the handoff is recoverable from the read list.
        read = await client.list_handoffs(project=PROJECT, status="read")
    assert [h.id for h in read.items] == [created.id]


async def test_unsent_claim_and_brief_are_retried(app: FastAPI, key: str) -> None:
    client, transport = client_for(app, key, ["ok", "connect", 429, "ok", "connect", "ok"])
    async with client:
        created = await client.create_handoff(PROJECT, BODY, recipient="widgets")
        claim = await client.claim_inbox(PROJECT, "widgets")
        brief = await client.brief(PROJECT, "widgets")
    assert [d.id for d in claim.handoffs] == [created.id]
    assert brief.handoffs == []
    assert [r.url.path for r in transport.sent].count("/v1/inbox/claim") == 3
    assert [r.url.path for r in transport.sent].count("/v1/brief") == 2


async def test_safe_calls_retry_429_and_503(app: FastAPI, key: str) -> None:
    client, transport = client_for(app, key, [429, 503, "connect", "ok"])
    async with client:
        page = await client.list_handoffs()
    assert page.items == [] and len(transport.sent) == 4


async def test_claim_is_not_retried_on_503(app: FastAPI, key: str) -> None:
    client, transport = client_for(app, key, [503])
    async with client:
        with pytest.raises(ServiceUnavailable):
            await client.claim_inbox(PROJECT, "widgets")
    assert len(transport.sent) == 1


async def test_retries_give_up(app: FastAPI, key: str) -> None:
    client, transport = client_for(app, key, [429, 429, 429, 429, 429])
    async with client:
        with pytest.raises(RateLimited) as limited:
            await client.search("anything")
    assert len(transport.sent) == FAST.attempts
    assert limited.value.retry_after == 0


async def test_real_503_when_database_is_down(tmp_path: Path, embedder: Embedder) -> None:
    down = create_app(unreachable_settings(tmp_path), embedder=embedder)
    async with LifespanManager(down):
        client, transport = client_for(down, "mem_abcdefgh_x", retry=RetryPolicy(2, 0.01, 0.02))
        async with client:
            with pytest.raises(ServiceUnavailable) as unavailable:
                await client.list_handoffs()
            with pytest.raises(ServiceUnavailable) as not_ready:
                await client.readyz()
    assert unavailable.value.code == "database_unavailable"
    assert not_ready.value.details["model"] == "ok"
    assert len(transport.sent) == 3  # two tries of the list, one of the probe


def test_retry_policy_backs_off_with_jitter() -> None:
    policy = RetryPolicy(attempts=5, backoff=1.0, max_backoff=4.0)
    for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0)]:
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1  # jittered
    assert policy.delay(1, retry_after=3.0) >= 3.0
    assert policy.delay(1, retry_after=60.0) <= 4.0  # capped
    assert DEFAULT_RETRY.attempts > 1


def test_sync_and_async_clients_expose_the_same_api() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_") and name not in {"close", "aclose"}
        }

    sync, async_ = public(MemoryClient), public(AsyncMemoryClient)
    assert sync.keys() == async_.keys()
    for name in sync:
        assert list(sync[name].parameters) == list(async_[name].parameters), name
    assert "project" in sync["search"].parameters
    assert inspect.iscoroutinefunction(AsyncMemoryClient.search)
    assert sync["search"].return_annotation == "SearchResponse"
