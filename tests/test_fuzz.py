"""Schemathesis against the app's own OpenAPI schema: for every operation, generated requests
(valid and invalid) with a real admin key, against the real database and model, never get a
5xx, and every response is one the schema documents (status code, content type, headers,
body).

Bounded for CI: a fixed number of examples per operation and a fixed seed
(`derandomize`), so a run is repeatable and its failures reproduce. Set MEMORY_FUZZ_EXAMPLES
(and MEMORY_FUZZ_RANDOM=1 for fresh inputs) to explore further locally."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.embeddings import Embedder
from memory_service.errors import BadRequest
from memory_service.handoffs.service import decode_cursor, encode_cursor
from tests.helpers import MakeKey, auth

EXAMPLES = int(os.environ.get("MEMORY_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SEED_BODY = """---
to: widgets
topic: fuzz seed
---
## What NOT to do
- Don't cache error responses.

## Decisions
- Keys are namespaced by tenant id.
"""


@pytest.fixture
async def fuzz_key(client: httpx.AsyncClient, make_key: MakeKey, settings: Settings) -> str:
    """An admin key of the operator team (so the admin routes are reachable), and a few
    handoffs so that listings, inbox and search return real rows to check against the
    schema."""
    key = await make_key(settings.operator_team, "read,write,admin")
    for project, status in (("github.com/acme/widgets", None), ("github.com/acme/api", "read")):
        payload: dict[str, Any] = {"project": project, "body": SEED_BODY}
        if status:
            payload["status"] = status
        response = await client.post("/v1/handoffs", json=payload, headers=auth(key))
        assert response.status_code == 201, response.text
    return key


@pytest.fixture
def fuzz_app(settings: Settings, embedder: Embedder) -> Iterator[FastAPI]:
    # Hundreds of requests a minute from one key are the point here, not abuse.
    yield create_app(settings.model_copy(update={"rate_limit_per_minute": 0}), embedder=embedder)


# The schema as the app publishes it (`app.openapi()` needs no database). Loaded at import:
# schemathesis' fixture-based loader does not work with pytest 9 (it sets `Function._nodeid`).
schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="postgresql://unused@/unused")).openapi()
)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("MEMORY_FUZZ_RANDOM") != "1",
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(
    case: schemathesis.Case, fuzz_app: FastAPI, fuzz_key: str
) -> None:
    # In-process over ASGI; schemathesis runs the app's lifespan (database, model).
    case.call_and_validate(headers=auth(fuzz_key), checks=CHECKS, app=fuzz_app)


@pytest.mark.slow
def test_api_workflows_conform_to_its_schema(fuzz_app: FastAPI, fuzz_key: str) -> None:
    """Sequences of calls that feed one response's ids into the next request, as
    schemathesis infers them from the schema: search or brief over the seeded handoffs, then
    read and delete the handoffs and learnings they returned; list keys, then filter the audit
    trail by one. Key rotation and revocation are left out: they would revoke the key the run
    itself uses, and every later call would be a 401."""
    machine = schema.exclude(path_regex=r"^/v1/admin/keys/").as_state_machine()

    class Workflows(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": auth(fuzz_key), "app": fuzz_app}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))

    Workflows.run(
        settings=settings(
            max_examples=max(5, EXAMPLES // 3),
            stateful_step_count=10,
            deadline=None,
            derandomize=os.environ.get("MEMORY_FUZZ_RANDOM") != "1",
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


# Requests the fuzzer (and probing around what it found) turned into 500s. Each must be
# refused with a 4xx, or served.
EDGE_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/search", {"json": {"query": "abc\u0000def"}}),
    ("POST", "/v1/search", {"json": {"query": "abc\u0000def", "mode": "text"}}),
    ("POST", "/v1/brief", {"json": {"project": "a/b", "worktree": "w", "task": "x\u0000y"}}),
    ("POST", "/v1/inbox/claim", {"json": {"project": "a/b", "worktree": "w", "branch": "\u0000"}}),
    (
        "POST",
        "/v1/inbox/claim",
        {"json": {"project": "a/b", "worktree": "w", "session_id": "x\u0000y"}},
    ),
    ("POST", "/v1/admin/keys", {"json": {"scopes": ["read"], "name": "x\u0000y"}}),
    ("GET", "/v1/audit", {"params": {"action": "a\u0000b"}}),
    ("GET", "/v1/audit", {"params": {"target_id": "a\u0000b"}}),
    ("GET", "/v1/audit", {"params": {"cursor": "9300000000000000000"}}),
    ("GET", "/v1/audit", {"params": {"cursor": "\u0661\u0662"}}),  # Arabic-Indic digits
    # List cursors of the wrong shape (base64 of JSON that is not [aware date, uuid]).
    (
        "GET",
        "/v1/handoffs",
        {"params": {"cursor": "WyIyMDI0LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMTIzXQ"}},
    ),
    ("GET", "/v1/handoffs", {"params": {"cursor": "WyIyMDI0LTAxLTAxVDAwOjAwOjAwIiwgIngiXQ"}}),
    # Names with characters nobody sees.
    ("GET", "/v1/inbox", {"params": {"project": "a/b", "worktree": "w\u200bx"}}),
    ("POST", "/v1/inbox/claim", {"json": {"project": "a/b", "worktree": "w\u202ex"}}),
    # A body over the limit, declared and streamed.
    ("POST", "/v1/search", {"json": {"query": "x" * (1 << 20)}}),
    (
        "POST",
        "/v1/search",
        {"content": b"\x80", "headers": {"content-type": "application/json"}},
    ),
]


@pytest.fixture
async def lenient_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, but an unhandled error comes back as the 500 a real client would see."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.mark.parametrize(("method", "path", "request_args"), EDGE_REQUESTS)
async def test_edge_inputs_are_refused_not_500(
    lenient_client: httpx.AsyncClient,
    make_key: MakeKey,
    settings: Settings,
    method: str,
    path: str,
    request_args: dict[str, Any],
) -> None:
    key = await make_key(settings.operator_team, "read,write,admin")
    headers = {**auth(key), **request_args.pop("headers", {})}
    response = await lenient_client.request(method, path, headers=headers, **request_args)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("via", ["field", "front matter"])
@pytest.mark.parametrize(
    "created_at",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1000-01-01T00:00:00Z"],
)
async def test_one_odd_date_does_not_break_the_team(
    lenient_client: httpx.AsyncClient, make_key: MakeKey, created_at: str, via: str
) -> None:
    """A handoff dated at the edge of the calendar is either refused or stored so that every
    read of the team still works: listing, reading, search and the brief."""
    key = await make_key()
    project = "github.com/acme/widgets"
    ok = await lenient_client.post(
        "/v1/handoffs",
        json={"project": project, "recipient": "w", "body": "## Decisions\n- Cache prices."},
        headers=auth(key),
    )
    assert ok.status_code == 201
    body = "## Decisions\n- Cache the exchange rates."
    payload: dict[str, Any] = {"project": project, "recipient": "w"}
    if via == "field":
        payload.update(body=body, created_at=created_at)
    else:
        payload.update(body=f"---\ncreated: {created_at}\n---\n{body}")
    odd = await lenient_client.post("/v1/handoffs", json=payload, headers=auth(key))
    assert odd.status_code in (201, 422), odd.text
    reads = [
        await lenient_client.get("/v1/handoffs", headers=auth(key)),
        await lenient_client.get(f"/v1/handoffs/{ok.json()['id']}", headers=auth(key)),
        await lenient_client.post("/v1/search", json={"query": "cache"}, headers=auth(key)),
        await lenient_client.post(
            "/v1/brief",
            json={"project": project, "worktree": "w", "task": "cache"},
            headers=auth(key),
        ),
    ]
    if odd.status_code == 201:
        reads.append(
            await lenient_client.get(f"/v1/handoffs/{odd.json()['id']}", headers=auth(key))
        )
    assert [r.status_code for r in reads] == [200] * len(reads), [r.text for r in reads]


# The list cursor decoder, fuzzed: whatever the string, a position the service could have
# written (an aware date in range and a UUID) or a 400, never another exception (a 500).
def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
OFFSETS = st.none() | st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
DATE_STRINGS = st.datetimes(timezones=OFFSETS).map(datetime.isoformat) | st.text(max_size=40)
ID_STRINGS = st.uuids().map(str) | st.text(max_size=40)
CURSORS = (
    st.text(max_size=500)
    | st.binary(max_size=370).map(_b64)
    | JSON_VALUES.map(lambda v: _b64(json.dumps(v).encode()))
    | st.tuples(DATE_STRINGS, ID_STRINGS).map(lambda pair: _b64(json.dumps(pair).encode()))
    | st.tuples(JSON_VALUES, JSON_VALUES).map(lambda pair: _b64(json.dumps(pair).encode()))
)


@given(CURSORS)
@settings(max_examples=2000, deadline=None, database=None)
def test_cursor_decoder_accepts_positions_and_refuses_everything_else(cursor: str) -> None:
    try:
        when, ident = decode_cursor(cursor)
    except BadRequest:
        return
    assert when.tzinfo is not None
    assert datetime(1970, 1, 1, tzinfo=UTC) <= when <= datetime(2200, 1, 1, tzinfo=UTC)
    assert isinstance(ident, uuid.UUID)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30), timezones=OFFSETS
    ).filter(lambda d: d.tzinfo is not None),
    st.uuids(),
)
@settings(max_examples=300, deadline=None, database=None)
def test_cursor_round_trips(when: datetime, ident: uuid.UUID) -> None:
    assert decode_cursor(encode_cursor(when, ident)) == (when, ident)


@pytest.mark.parametrize(
    "cursor", ["x", "", "-1", "1.5", "12a", "\u0661\u0662", "9" * 19, "9" * 100, "١"]
)
async def test_audit_cursor_of_the_wrong_shape_is_400(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings, cursor: str
) -> None:
    key = await make_key(settings.operator_team, "read,write,admin")
    response = await client.get("/v1/audit", params={"cursor": cursor}, headers=auth(key))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    ok = await client.get("/v1/audit", params={"cursor": str(2**63 - 1)}, headers=auth(key))
    assert ok.status_code == 200, ok.text
