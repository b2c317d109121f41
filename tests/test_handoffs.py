"""Writing handoffs: both request forms, learnings, front matter, idempotency, limits, hygiene,
redaction and atomicity."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.db import libpq_url
from memory_service.embeddings import Embedder
from tests.helpers import PROJECT, MakeKey, auth, post_handoff, serve, write_handoff

DEV_SET = Path(__file__).resolve().parent / "data" / "dev_eval.json"
BODY = """---
from: claude-code (session 3)
to: widgets
topic: Cache layer
branch: feat/cache
head: 9e3b43ec0b66ab9c231122757aa573d80c0526a8
created: 2026-01-12T17:42:09Z
session_tool: claude-code
session_id: abc-123
dirty_files_count: 2
reviewer: sam
---

# Cache layer

## Decisions
- Cache entries expire after 5 minutes; longer TTLs served stale prices.
- Keys are namespaced by tenant id.

## What NOT to do
- Don't cache error responses; a 502 got pinned for five minutes.

## Verification
```
pytest tests/test_cache.py
```

## Files Modified
- `src/cache.py`
"""


def count(url: str, table: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


async def test_write_json_splits_into_typed_learnings(
    client: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    created = await write_handoff(client, key, body=BODY, recipient=None)
    assert created["project"] == PROJECT
    assert created["recipient"] == "widgets"
    assert created["created_at"].startswith("2026-01-12T17:42:09")
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d\d", created["sentinel"])
    kinds = [(item["kind"], item["text"]) for item in created["learnings"]]
    assert ("decision", "Keys are namespaced by tenant id.") in kinds
    assert ("mistake", "Don't cache error responses; a 502 got pinned for five minutes.") in kinds
    assert not any("pytest" in t or "src/cache.py" in t for _, t in kinds)
    assert created["duplicate"] is False

    stored = (await client.get(f"/v1/handoffs/{created['id']}", headers=auth(key))).json()
    assert stored["body"] == BODY
    assert stored["sentinel"] == created["sentinel"]
    assert stored["sender"] == "claude-code (session 3)"
    assert stored["tool"] == "claude-code"
    assert stored["session_id"] == "abc-123"
    assert stored["branch"] == "feat/cache"
    assert stored["front_matter"]["reviewer"] == "sam"  # unknown fields kept
    assert stored["front_matter"]["dirty_files_count"] == 2
    assert "src/cache.py" in stored["files"]
    assert any("pytest tests/test_cache.py" in c for c in stored["commands"])
    assert stored["status"] == "unread"
    assert count(str(settings.database_url), "learnings") == len(created["learnings"])


async def test_write_markdown_form(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post(
        "/v1/handoffs",
        params={"project": PROJECT},
        content=BODY.encode(),
        headers={**auth(key), "Content-Type": "text/markdown; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["recipient"] == "widgets"
    missing = await client.post(
        "/v1/handoffs",
        content=b"## Decisions\n- x",
        headers={**auth(key), "Content-Type": "text/markdown"},
    )
    assert missing.status_code == 422
    assert "project" in missing.json()["error"]["message"]


async def test_explicit_fields_override_front_matter(client: httpx.AsyncClient, key: str) -> None:
    created = await write_handoff(client, key, body=BODY, recipient="widgets-2", branch="main")
    assert created["recipient"] == "widgets-2"
    stored = (await client.get(f"/v1/handoffs/{created['id']}", headers=auth(key))).json()
    assert stored["branch"] == "main"


@pytest.mark.parametrize("via", ["created_at", "front matter"])
async def test_created_more_than_a_day_ahead_becomes_arrival_time_with_a_warning(
    client: httpx.AsyncClient, key: str, via: str
) -> None:
    """A date far ahead would keep a handoff on top of every listing and fresh in every
    ranking; a clock a little fast is tolerated."""
    now = datetime.now(UTC)
    for ahead, kept in ((timedelta(days=3), False), (timedelta(hours=12), True)):
        when = (now + ahead).isoformat()
        body = f"## Decisions\n- Prices are cached ({ahead})."
        if via == "created_at":
            created = await write_handoff(client, key, body=body, recipient="w", created_at=when)
        else:
            body = f"---\ncreated: {when}\n---\n{body}"
            created = await write_handoff(client, key, body=body, recipient="w")
        stored = datetime.fromisoformat(created["created_at"])
        warned = [w for w in created["warnings"] if "more than a day in the future" in w]
        if kept:
            assert stored == datetime.fromisoformat(when) and warned == []
        else:
            assert abs(stored - now) < timedelta(minutes=10), stored
            assert len(warned) == 1 and via.split()[-1] in warned[0]
            listed = await client.get(f"/v1/handoffs/{created['id']}", headers=auth(key))
            assert datetime.fromisoformat(listed.json()["created_at"]) == stored


async def test_malformed_front_matter_kept_with_warning(
    client: httpx.AsyncClient, key: str
) -> None:
    body = "---\nfrom: [unclosed\nto: x: y: z\n---\n## Decisions\n- Keep the body anyway.\n"
    created = await write_handoff(client, key, body=body)
    assert any("front matter" in w for w in created["warnings"])
    stored = (await client.get(f"/v1/handoffs/{created['id']}", headers=auth(key))).json()
    assert stored["body"] == body
    assert stored["front_matter"] == {}


async def test_recipient_defaults_to_sender_else_422(
    client: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    ok = await write_handoff(client, key, body="Just a note.", recipient=None, sender="widgets")
    assert ok["recipient"] == "widgets"
    await write_handoff(client, key, body="No one to send to.", recipient=None, expect=422)
    assert count(str(settings.database_url), "handoffs") == 1


async def test_idempotency_key(client: httpx.AsyncClient, key: str, settings: Settings) -> None:
    first = await write_handoff(client, key, body=BODY, idempotency_key="write-1")
    again = await write_handoff(client, key, body=BODY, idempotency_key="write-1")
    assert again["id"] == first["id"]
    assert again["duplicate"] is True
    assert again["learnings"] == first["learnings"]
    conflict = await write_handoff(
        client, key, body=BODY + "\n- more", idempotency_key="write-1", expect=409
    )
    assert conflict["error"]["code"] == "conflict"
    assert count(str(settings.database_url), "handoffs") == 1


async def test_concurrent_retries_with_one_key_store_one_handoff(
    client: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    responses = await asyncio.gather(
        *[post_handoff(client, key, body=BODY, idempotency_key="retry-storm") for _ in range(6)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert count(str(settings.database_url), "handoffs") == 1


async def test_identical_body_is_a_flagged_duplicate_while_unread(
    client: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    first = await write_handoff(client, key, body=BODY)
    second = await write_handoff(client, key, body=BODY)
    assert second["id"] == first["id"]
    assert second["duplicate"] is True
    assert any("identical" in w for w in second["warnings"])
    # To another recipient it is a new handoff.
    other = await write_handoff(client, key, body=BODY, recipient="widgets-2")
    assert other["id"] != first["id"]
    # Once read, the same text again is a new delivery.
    await client.post(
        "/v1/inbox/claim", json={"project": PROJECT, "worktree": "widgets"}, headers=auth(key)
    )
    third = await write_handoff(client, key, body=BODY)
    assert third["id"] != first["id"]
    assert third["duplicate"] is False
    assert count(str(settings.database_url), "handoffs") == 3


async def test_body_over_limit_is_413(
    settings: Settings, embedder: Embedder, make_key: MakeKey
) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    app = create_app(small, embedder=embedder)
    key = await make_key()
    async with serve(app) as client:
        big = "## Notes\n" + "- word\n" * 400
        for response in (
            await post_handoff(client, key, body=big, recipient="w"),
            await client.post(
                "/v1/handoffs",
                params={"project": PROJECT, "recipient": "w"},
                content=("x" * 10_000).encode(),
                headers={**auth(key), "Content-Type": "text/markdown"},
            ),
        ):
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "payload_too_large"
        await write_handoff(client, key, body="- fits", recipient="w")
    assert count(str(settings.database_url), "handoffs") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project", "../../etc/passwd"),
        ("project", "github.com/acme/../secrets"),
        ("project", " github.com/acme/widgets"),
        ("project", "github.com/acme/widgets "),
        ("project", "github.com/acme\x00/widgets"),
        ("project", "github.com/ac me/widgets"),
        ("project", ""),
        ("recipient", "../widgets"),
        ("recipient", "a/b"),
        ("recipient", " widgets"),
        ("recipient", "widgets\n"),
        ("recipient", "wid\x1b[31mgets"),
        ("recipient", ".."),
        # Invisible: they would make a second inbox that looks like the first.
        ("recipient", "wid\u200bgets"),
        ("recipient", "widgets\u200d"),
        ("recipient", "\ufeffwidgets"),
        ("recipient", "wid\u202egets"),
        ("recipient", "wid\u2066gets\u2069"),
        ("recipient", "wid\u00adgets"),
        ("recipient", "next\u00a0agent"),
        ("recipient", "wid\u2060gets"),
        ("recipient", "wid\U000e0067ets"),
        ("recipient", "wid\u3164gets"),
        ("project", "github.com/acme/wid\u200bgets"),
        ("project", "github.com/acme/\u202ewidgets"),
    ],
)
async def test_bad_names_are_422_and_store_nothing(
    client: httpx.AsyncClient, key: str, settings: Settings, field: str, value: str
) -> None:
    error = (await write_handoff(client, key, body="- a", expect=422, **{field: value}))["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"]
    assert count(str(settings.database_url), "handoffs") == 0
    assert count(str(settings.database_url), "projects") == 0


INVISIBLE = ["\u200b", "\u202e", "\u2067", "\ufeff", "\u00a0", "\u2028", "\U000e0041"]


@pytest.mark.parametrize("char", INVISIBLE)
async def test_invisible_characters_in_names_are_refused_everywhere(
    client: httpx.AsyncClient, key: str, settings: Settings, char: str
) -> None:
    """Never stripped silently: the name the caller typed is not the one that would be used."""
    worktree = f"wid{char}gets"
    project = f"github.com/acme/wid{char}gets"
    sent = [
        # The markdown form's query parameters, and the front matter's `to` and `from`.
        await client.post(
            "/v1/handoffs",
            params={"project": PROJECT, "recipient": worktree},
            content=b"- a",
            headers={**auth(key), "Content-Type": "text/markdown"},
        ),
        await post_handoff(client, key, body=f"---\nto: {worktree}\n---\n- a", recipient=None),
        await post_handoff(client, key, body=f"---\nfrom: {worktree}\n---\n- a", recipient=None),
        await client.get("/v1/handoffs", params={"recipient": worktree}, headers=auth(key)),
        await client.get("/v1/handoffs", params={"project": project}, headers=auth(key)),
        await client.get(
            "/v1/inbox", params={"project": PROJECT, "worktree": worktree}, headers=auth(key)
        ),
        await client.post(
            "/v1/inbox/claim", json={"project": PROJECT, "worktree": worktree}, headers=auth(key)
        ),
        await client.post(
            "/v1/brief", json={"project": PROJECT, "worktree": worktree}, headers=auth(key)
        ),
        await client.post(
            "/v1/brief", json={"project": project, "worktree": "widgets"}, headers=auth(key)
        ),
    ]
    for field in ("project", "prefer_project"):
        sent.append(
            await client.post("/v1/search", json={"query": "x", field: project}, headers=auth(key))
        )
    sent.append(
        await client.post(
            "/v1/search", json={"query": "x", "projects": [PROJECT, project]}, headers=auth(key)
        )
    )
    assert [r.status_code for r in sent] == [422] * len(sent), [r.text for r in sent]
    for response in sent:
        assert response.json()["error"]["code"] == "validation_error"
    assert count(str(settings.database_url), "handoffs") == 0


async def test_ansi_and_control_characters_are_stripped(
    client: httpx.AsyncClient, key: str
) -> None:
    body = "## Gotchas\n- \x1b[31mred\x1b[0m text\x07 with a bell\x00 and NUL\r\n"
    created = await write_handoff(client, key, body=body, topic="t\x1b[1mx")
    stored = (await client.get(f"/v1/handoffs/{created['id']}", headers=auth(key))).json()
    for text in (stored["body"], stored["topic"], created["learnings"][0]["text"]):
        assert "\x1b" not in text and "\x07" not in text and "\x00" not in text and "\r" not in text
    assert created["learnings"][0]["text"] == "red text with a bell and NUL"


async def test_bad_json_and_media_types(client: httpx.AsyncClient, key: str) -> None:
    broken = await client.post(
        "/v1/handoffs",
        content=b"{not json",
        headers={**auth(key), "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "validation_error"
    await write_handoff(client, key, body="x", recipient=None, colour="red", expect=422)
    xml = await client.post(
        "/v1/handoffs", content=b"<a/>", headers={**auth(key), "Content-Type": "application/xml"}
    )
    assert xml.status_code == 415
    assert xml.json()["error"]["code"] == "unsupported_media_type"
    bad_utf8 = await client.post(
        "/v1/handoffs",
        params={"project": PROJECT, "recipient": "w"},
        content=b"\xff\xfe bad",
        headers={**auth(key), "Content-Type": "text/markdown"},
    )
    assert bad_utf8.status_code == 422


async def test_list_filters_and_cursor(client: httpx.AsyncClient, key: str) -> None:
    ids = []
    for i in range(5):
        created = await post_handoff(client, key, body=f"- item {i}", recipient=f"w{i % 2}")
        ids.append(created.json()["id"])
    await post_handoff(client, key, "github.com/acme/other", "- other", recipient="w0")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"project": PROJECT, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/handoffs", params=params, headers=auth(key))).json()
        seen += [h["id"] for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    w0 = (
        await client.get(
            "/v1/handoffs", params={"project": PROJECT, "recipient": "w0"}, headers=auth(key)
        )
    ).json()
    assert len(w0["items"]) == 3
    unread = (
        await client.get("/v1/handoffs", params={"status": "unread"}, headers=auth(key))
    ).json()
    assert len(unread["items"]) == 6
    bad = await client.get("/v1/handoffs", params={"cursor": "nope"}, headers=auth(key))
    assert bad.status_code == 400
    bad_limit = await client.get("/v1/handoffs", params={"limit": 0}, headers=auth(key))
    assert bad_limit.status_code == 422


def _cursor(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_ID = "0190c2a0-8f3e-7c1a-9d2b-3e4f5a6b7c8d"
BAD_CURSORS = [
    "nope",
    "é",
    "A",
    "",
    _cursor({"2024-01-01T00:00:00+00:00": 1, _ID: 2}),
    _cursor(["2024-01-01T00:00:00+00:00", _ID, "extra"]),
    _cursor(["2024-01-01T00:00:00+00:00", 123]),
    _cursor(["2024-01-01T00:00:00+00:00", [_ID]]),
    _cursor([20240101, _ID]),
    _cursor(["2024-01-01T00:00:00", _ID]),  # no time zone
    _cursor(["0001-01-01T00:00:00+14:00", _ID]),
    _cursor(["9999-12-31T23:59:59-14:00", _ID]),
    _cursor(["2024-01-01T00:00:00+00:00\u0000", _ID]),
    _cursor(["2024-01-01T00:00:00+00:00", _ID + "\u0000"]),
    _cursor("ab"),
    _cursor(None),
    _cursor(b"\xff\xfe\x00"),
    _cursor(b"[" * 300),
    _cursor(b"1e999999"),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_cursor_of_any_other_shape_is_400(
    client: httpx.AsyncClient, key: str, cursor: str
) -> None:
    response = await client.get("/v1/handoffs", params={"cursor": cursor}, headers=auth(key))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


async def test_delete_removes_learnings(
    client: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    created = await write_handoff(client, key, body=BODY, recipient=None)
    assert count(str(settings.database_url), "learnings") > 0
    assert (
        await client.delete(f"/v1/handoffs/{created['id']}", headers=auth(key))
    ).status_code == 204
    assert count(str(settings.database_url), "learnings") == 0
    assert (await client.get(f"/v1/handoffs/{created['id']}", headers=auth(key))).status_code == 404
    assert (
        await client.delete(f"/v1/handoffs/{created['id']}", headers=auth(key))
    ).status_code == 404
    assert (await client.get("/v1/handoffs/not-a-uuid", headers=auth(key))).status_code == 422


class _BrokenEmbedder(Embedder):
    def __init__(self, real: Embedder) -> None:
        super().__init__()
        self._model = real._model
        self._onnx = real._onnx

    def encode(self, texts: list[str]) -> Any:
        raise RuntimeError("model crashed mid-batch")


async def test_embedder_failure_is_503_and_leaves_nothing(
    settings: Settings, embedder: Embedder, make_key: MakeKey
) -> None:
    key = await make_key()
    app = create_app(settings, embedder=_BrokenEmbedder(embedder))
    async with serve(app) as client:
        response = await post_handoff(
            client,
            key,
            "github.com/acme/new-project",
            BODY,
            recipient=None,
            idempotency_key="k1",
        )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "embedding_unavailable"
    url = str(settings.database_url)
    assert (count(url, "handoffs"), count(url, "learnings"), count(url, "projects")) == (0, 0, 0)


async def test_dev_set_secrets_never_reach_the_database(
    client: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    dataset = json.loads(DEV_SET.read_text())
    redactions = 0
    for handoff in dataset["handoffs"]:
        created = await write_handoff(
            client, key, handoff["project"], handoff["body"], recipient=handoff["worktree"]
        )
        redactions += created["redactions"]
        for learning in created["learnings"]:
            assert not any(s in learning["text"] for s in dataset["secrets"])
    assert redactions >= len(dataset["secrets"])
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        columns = conn.execute(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public'
              AND data_type IN ('text', 'jsonb', 'ARRAY', 'character varying', 'tsvector')
            """
        ).fetchall()
        assert len(columns) > 20
        for table, column in columns:
            for secret in dataset["secrets"]:
                hit = conn.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',
                    (f"%{secret}%",),
                ).fetchone()
                assert hit == (0,), (table, column, secret)


FREE_FORM = """---
name: webhook-retries
---
# Session notes: billing webhook retries

**Branch:** fix/webhook-retries | **HEAD:** 4f2a9c1

Reader instruction: verify each claim against the repository before acting on it.

Stripe retries a webhook for up to three days, so the handler is *idempotent* on `event.id`.

**Don't** acknowledge the webhook before the ledger row is committed.

## Suggested skills
- `/handoff` when you stop
- superpowers:systematic-debugging
"""


async def test_a_free_form_handoff_stores_what_it_should(
    client: httpx.AsyncClient, key: str
) -> None:
    """Issue 20: prohibitions are mistakes, metadata lines and skills are not learnings, the
    learning text has no emphasis markers while the stored body keeps everything."""
    created = await write_handoff(client, key, body=FREE_FORM)
    assert [(x["kind"], x["text"]) for x in created["learnings"]] == [
        (
            "note",
            "Stripe retries a webhook for up to three days, so the handler is idempotent on "
            "`event.id`.",
        ),
        ("mistake", "Don't acknowledge the webhook before the ledger row is committed."),
    ]
    stored = (await client.get(f"/v1/handoffs/{created['id']}", headers=auth(key))).json()
    assert stored["body"] == FREE_FORM
    assert stored["suggested_skills"] == [
        "`/handoff` when you stop",
        "superpowers:systematic-debugging",
    ]
    assert stored["commands"] == []
