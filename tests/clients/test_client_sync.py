"""MemoryClient (blocking) against a real server process over TCP."""

from __future__ import annotations

import time

import httpx
import pytest
from memory_client import ConnectionFailed, MemoryClient, NotFound, RetryPolicy

from tests.clients.helpers import FlakyTransport
from tests.helpers import PROJECT, free_port

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
BODY = """## What NOT to do
- Don't run the migrations by hand; the service applies them at start.

## Patterns
- Every table leads its keys with team_id.
"""


def test_round_trip(server_url: str, key: str) -> None:
    with MemoryClient(server_url, key) as client:
        assert client.healthz().status == "ok"
        created = client.create_handoff(PROJECT, BODY, recipient="widgets", topic="Schema")
        assert created.project == PROJECT and len(created.learnings) == 2
        assert [d.id for d in client.peek_inbox(PROJECT, "widgets").handoffs] == [created.id]
        assert [d.id for d in client.claim_inbox(PROJECT, "widgets").handoffs] == [created.id]
        assert client.peek_inbox(PROJECT, "widgets").handoffs == []

        hits = client.search("apply migrations manually", project=PROJECT, kinds=["mistake"])
        assert hits.results and hits.results[0].kind == "mistake"
        assert client.forget(hits.results[0].id).deleted >= 1

        for i in range(3):
            client.create_handoff(PROJECT, f"- item {i}\n", recipient="other")
        assert len(list(client.iter_handoffs(project=PROJECT, page_size=2))) == 4

        client.delete_handoff(created.id)
        with pytest.raises(NotFound):
            client.get_handoff(created.id)


def test_lost_write_is_stored_once(server_url: str, key: str) -> None:
    transport = FlakyTransport(httpx.HTTPTransport(), ["lose"])
    with MemoryClient(server_url, key, transport=transport, retry=FAST) as client:
        created = client.create_handoff(PROJECT, BODY, recipient="widgets")
        assert created.duplicate
        assert [h.id for h in client.list_handoffs(project=PROJECT).items] == [created.id]
    assert [r.method for r in transport.sent] == ["POST", "POST", "GET"]


def test_lost_claim_is_not_retried(server_url: str, key: str) -> None:
    transport = FlakyTransport(httpx.HTTPTransport(), ["ok", "lose"])
    with MemoryClient(server_url, key, transport=transport, retry=FAST) as client:
        client.create_handoff(PROJECT, BODY, recipient="widgets")
        with pytest.raises(ConnectionFailed):
            client.brief(PROJECT, "widgets")
    assert len(transport.sent) == 2


def test_unreachable_server_fails_after_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with MemoryClient(url, "mem_x_y", retry=FAST) as client, pytest.raises(ConnectionFailed) as e:
        client.list_handoffs()
    assert "after 3 attempts" in str(e.value)
    assert time.monotonic() - started < 5
