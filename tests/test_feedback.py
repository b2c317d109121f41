"""Feedback on learnings (issue 18, point 4): `helpful`, `wrong` and `outdated` reports, by full
or short id, their effect on search and the brief, undoing them, the audit rows, who may hide
a learning, and that refused reports change nothing. Real database, real model, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from fastapi import FastAPI

from memory_service.config import Settings
from memory_service.db import libpq_url
from tests.helpers import PROJECT, MakeKey, auth, write_handoff

BODY = (
    "## Decisions\n"
    "- Cache product prices in Redis for five minutes; longer TTLs served stale prices.\n"
    "- Retry the payment provider's webhook twice with exponential backoff before alerting.\n"
    "## What NOT to do\n"
    "- Do not cache error responses from the pricing API: one outage poisoned the cache.\n"
)
QUERY = "how long do we cache product prices in redis"


async def _search(
    client: httpx.AsyncClient, key: str, query: str = QUERY, **extra: Any
) -> list[dict[str, Any]]:
    r = await client.post("/v1/search", json={"query": query, **extra}, headers=auth(key))
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


async def _cache_learning(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    top = (await _search(client, key))[0]
    assert "five minutes" in top["text"]
    return top


async def _feedback(
    client: httpx.AsyncClient, key: str, ref: str, value: str, expect: int = 201, **extra: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/v1/learnings/{ref}/feedback", json={"value": value, **extra}, headers=auth(key)
    )
    assert r.status_code == expect, r.text
    body: dict[str, Any] = r.json()
    return body


async def _brief(client: httpx.AsyncClient, key: str, task: str = QUERY) -> dict[str, Any]:
    r = await client.post(
        "/v1/brief",
        json={"project": PROJECT, "worktree": "elsewhere", "task": task},
        headers=auth(key),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _feedback_rows(settings: Settings) -> list[tuple[Any, ...]]:
    assert settings.database_url is not None
    with psycopg.connect(libpq_url(settings.database_url)) as conn:
        return conn.execute(
            "SELECT learning_id, value, writer, undone_at IS NOT NULL FROM learning_feedback "
            "ORDER BY id"
        ).fetchall()


async def test_the_brief_shows_a_short_id_that_feedback_accepts(
    client: httpx.AsyncClient, key: str
) -> None:
    await write_handoff(client, key, body=BODY)
    brief = await _brief(client, key)
    shown = next(x for x in brief["learnings"] if "five minutes" in x["text"])
    assert len(shown["short_id"]) == 10 and shown["id"].replace("-", "").endswith(shown["short_id"])
    assert f"id {shown['short_id']}" in brief["markdown"]
    assert "memory feedback ID" in brief["markdown"]
    out = await _feedback(client, key, shown["short_id"].upper(), "helpful", note="saved me")
    assert out["learning_id"] == shown["id"] and out["short_id"] == shown["short_id"]
    assert (out["value"], out["note"], out["writer"], out["helpful"]) == (
        "helpful",
        "saved me",
        True,
        1,
    )
    full = await _feedback(client, key, shown["id"], "helpful")
    assert full["helpful"] == 1  # the same key twice is one helpful key
    listed = await client.get(f"/v1/learnings/{shown['short_id']}/feedback", headers=auth(key))
    assert [f["id"] for f in listed.json()["feedback"]] == [out["id"], full["id"]]


async def test_helpful_gains_a_little_and_outdated_demotes_and_badges(
    client: httpx.AsyncClient, key: str, make_key: MakeKey
) -> None:
    await write_handoff(client, key, body=BODY)
    before = await _cache_learning(client, key)
    other = await make_key(scopes="read")
    await _feedback(client, key, before["id"], "helpful")
    await _feedback(client, other, before["id"], "helpful")
    helped = await _cache_learning(client, key)
    assert helped["helpful"] == 2 and helped["score"] > before["score"]
    assert helped["score"] <= before["score"] * 1.1 + 1e-6

    out = await _feedback(client, other, before["id"], "outdated", note="TTL is 1 minute now")
    assert out["outdated"] and not out["wrong"]
    results = await _search(client, key)
    demoted = next(r for r in results if r["id"] == before["id"])
    assert demoted["outdated"] and demoted["score"] < helped["score"] * 0.75
    brief = await _brief(client, key)
    line = next(x for x in brief["markdown"].splitlines() if "five minutes" in x)
    assert "reported outdated" in line

    undone = await client.delete(
        f"/v1/learnings/{before['id']}/feedback/{out['id']}", headers=auth(other)
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] and not undone.json()["outdated"]
    again = await _cache_learning(client, key)
    assert not again["outdated"] and again["score"] == helped["score"]


async def test_wrong_from_a_writer_hides_from_briefs_and_plain_searches_until_undone(
    client: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    await write_handoff(client, key, body=BODY)
    target = await _cache_learning(client, key)
    out = await _feedback(client, key, target["id"], "wrong", note="we moved to memcached")
    assert out["wrong"] and out["writer"]

    assert target["id"] not in [r["id"] for r in await _search(client, key)]
    shown = await _search(client, key, include_wrong=True)
    flagged = next(r for r in shown if r["id"] == target["id"])
    assert flagged["wrong"]
    brief = await _brief(client, key)
    assert "five minutes" not in brief["markdown"]
    assert target["id"] not in [x["id"] for x in brief["learnings"]]
    # Nor in the brief without a task (the project's most repeated learnings).
    plain = await client.post(
        "/v1/brief", json={"project": PROJECT, "worktree": "other"}, headers=auth(key)
    )
    assert plain.json()["basis"] == "project" and "five minutes" not in plain.json()["markdown"]

    r = await client.delete(f"/v1/learnings/{target['id']}/feedback/{out['id']}", headers=auth(key))
    assert r.status_code == 200 and not r.json()["wrong"]
    assert target["id"] in [r["id"] for r in await _search(client, key)]
    # Undone reports stay, marked undone; undoing twice is refused.
    assert _feedback_rows(settings)[-1][1:] == ("wrong", True, True)
    twice = await client.delete(
        f"/v1/learnings/{target['id']}/feedback/{out['id']}", headers=auth(key)
    )
    assert twice.status_code == 409


async def test_wrong_from_a_read_only_key_demotes_but_never_hides(
    client: httpx.AsyncClient, key: str, make_key: MakeKey
) -> None:
    await write_handoff(client, key, body=BODY)
    target = await _cache_learning(client, key)
    reader = await make_key(scopes="read")
    out = await _feedback(client, reader, target["id"], "wrong")
    assert not out["writer"] and not out["wrong"] and out["outdated"]
    found = next(r for r in await _search(client, key) if r["id"] == target["id"])
    assert found["outdated"] and not found["wrong"]
    assert "five minutes" in (await _brief(client, key))["markdown"]
    # Another reader may not undo it; a writer may.
    stranger = await make_key(scopes="read")
    path = f"/v1/learnings/{target['short_id']}/feedback/{out['id']}"
    assert (await client.delete(path, headers=auth(stranger))).status_code == 403
    assert (await client.delete(path, headers=auth(key))).status_code == 200


async def test_feedback_and_its_undoing_are_audited(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    admin = await make_key(scopes="read,write,admin")
    await write_handoff(client, admin, body=BODY)
    target = await _cache_learning(client, admin)
    out = await _feedback(client, admin, target["short_id"], "outdated", note="password: hunter2x")
    assert "hunter2x" not in (out["note"] or "")  # redacted like every stored text
    await client.delete(f"/v1/learnings/{target['id']}/feedback/{out['id']}", headers=auth(admin))
    trail = await client.get("/v1/audit", params={"target_id": target["id"]}, headers=auth(admin))
    rows = trail.json()["items"]
    assert [e["action"] for e in rows] == ["learning.feedback_undo", "learning.feedback"]
    assert rows[1]["details"]["value"] == "outdated"
    assert rows[1]["details"]["feedback_id"] == out["id"] == rows[0]["details"]["feedback_id"]


async def test_refused_feedback_changes_nothing(
    client: httpx.AsyncClient, key: str, make_key: MakeKey, settings: Settings
) -> None:
    await write_handoff(client, key, body=BODY)
    target = await _cache_learning(client, key)
    stranger = await make_key(team="beta")
    limited = await make_key(scopes="read", projects=["github.com/acme/other"])
    for who in (stranger, limited):  # another team's key, a key limited to other projects
        await _feedback(client, who, target["id"], "wrong", expect=404)
        await _feedback(client, who, target["short_id"], "wrong", expect=404)
    await _feedback(client, key, target["id"], "bogus", expect=422)
    await _feedback(client, key, target["id"], "wrong", expect=422, note="x" * 1001)
    await _feedback(client, key, target["id"], "wrong", expect=422, extra="field")
    await _feedback(client, key, "not-an-id!", "wrong", expect=422)
    await _feedback(client, key, "0123456789", "wrong", expect=404)
    await _feedback(client, key, "01234567-89ab-7def-8123-456789abcdef", "wrong", expect=404)
    undo = await client.delete(f"/v1/learnings/{target['id']}/feedback/99999", headers=auth(key))
    assert undo.status_code == 404
    assert _feedback_rows(settings) == []
    # A forgotten learning takes no feedback.
    assert (await client.delete(f"/v1/learnings/{target['id']}", headers=auth(key))).is_success
    await _feedback(client, key, target["short_id"], "helpful", expect=404)
    assert _feedback_rows(settings) == []


async def test_an_ambiguous_short_id_is_a_409_listing_the_candidates(
    client: httpx.AsyncClient, key: str, settings: Settings
) -> None:
    await write_handoff(client, key, body=BODY)
    results = await _search(client, key, query="cache")
    a, b = results[0]["id"], results[1]["id"]
    # Give b the same last 10 hex digits as a (a million learnings make that happen by chance).
    twin = b[:-10] + a[-10:]
    assert settings.database_url is not None
    with psycopg.connect(libpq_url(settings.database_url)) as conn:
        conn.execute("UPDATE learnings SET id = %s WHERE id = %s", (twin, b))
    r = await client.post(
        f"/v1/learnings/{a[-10:]}/feedback", json={"value": "helpful"}, headers=auth(key)
    )
    assert r.status_code == 409, r.text
    assert sorted(r.json()["error"]["details"]["candidates"]) == sorted([a, twin])
    assert _feedback_rows(settings) == []
    # The full id settles it.
    await _feedback(client, key, a, "helpful")


async def test_uses_are_counted_after_a_flush(
    app: FastAPI, client: httpx.AsyncClient, key: str
) -> None:
    await write_handoff(client, key, body=BODY)
    state = app.state.memory
    target = await _cache_learning(client, key)
    assert target["uses"] == 0 and target["last_used_at"] is None
    await _brief(client, key)
    assert state.usage.pending() > 0
    await state.usage.flush(state.sessions)
    assert state.usage.pending() == 0
    after = await _cache_learning(client, key)
    assert after["uses"] == 2 and after["last_used_at"] is not None  # the search and the brief
    detail = await client.get(f"/v1/learnings/{target['id']}", headers=auth(key))
    assert detail.json()["uses"] == 2 and detail.json()["short_id"] == target["short_id"]
    await state.usage.flush(state.sessions)
    detail = await client.get(f"/v1/learnings/{target['id']}", headers=auth(key))
    assert detail.json()["uses"] == 3  # the search just above
