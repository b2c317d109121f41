"""Near-duplicate links across projects never cross a visibility boundary: a key limited to
p1 sees, counts and forgets only p1's copies of a learning repeated in p2, and a search of p1
shows p1's copy. (Issue 15, point 2.)"""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from tests.helpers import MakeKey, auth, post_handoff, write_handoff

P1 = "github.com/acme/api"
P2 = "github.com/acme/web"
MISTAKE = "- Never cache error responses in the CDN: a 502 stuck for an hour for everyone."
BODY = f"## What NOT to do\n{MISTAKE}\n"
QUERY = "caching error responses in the CDN"


_write = partial(write_handoff, recipient="main", body=BODY)


async def _search(client: httpx.AsyncClient, key: str, **fields: Any) -> list[dict[str, Any]]:
    response = await client.post("/v1/search", json={"query": QUERY, **fields}, headers=auth(key))
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


async def test_a_limited_key_sees_its_own_copy_never_the_other_projects(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    full = await make_key()
    limited = await make_key(projects=[P1])
    first = await _write(client, full, P2)  # canonical, in p2
    mine = await _write(client, limited, P1)  # its duplicate, in p1
    canonical_id, copy_id = first["learnings"][0]["id"], mine["learnings"][0]["id"]
    hidden = (P2, first["id"], canonical_id)

    for fields in ({}, {"project": P1}, {"projects": [P1]}, {"mode": "text"}):
        results = await _search(client, limited, **fields)
        assert len(results) == 1, fields
        hit = results[0]
        assert hit["id"] == copy_id and hit["project"] == P1 and hit["handoff_id"] == mine["id"]
        assert hit["projects"] == [P1] and hit["occurrences"] == 1
        assert not any(h in str(results) for h in hidden), fields

    # An unrestricted search of p1 shows p1's copy, and may count what the key can read.
    [scoped] = await _search(client, full, project=P1)
    assert scoped["id"] == copy_id and scoped["project"] == P1
    assert scoped["occurrences"] == 2 and scoped["projects"] == [P1, P2]
    [everywhere] = await _search(client, full)
    assert everywhere["id"] == canonical_id and everywhere["projects"] == [P1, P2]

    # The brief, with and without a task.
    for task in ("what to know about the CDN cache", None):
        brief = await client.post(
            "/v1/brief",
            json={"project": P1, "worktree": "other", **({"task": task} if task else {})},
            headers=auth(limited),
        )
        assert brief.status_code == 200, brief.text
        data = brief.json()
        assert [x["id"] for x in data["learnings"]] == [copy_id], task
        assert data["learnings"][0]["projects"] == [P1]
        assert not any(h in brief.text for h in hidden), task

    # Learning details.
    detail = await client.get(f"/v1/learnings/{copy_id}", headers=auth(limited))
    assert detail.status_code == 200
    assert detail.json()["canonical_id"] is None and detail.json()["occurrences"] == 1
    assert canonical_id not in detail.text
    assert (
        await client.get(f"/v1/learnings/{canonical_id}", headers=auth(limited))
    ).status_code == 404

    # Forgetting p1's copy leaves p2's learning alone, counted once.
    forgotten = await client.delete(f"/v1/learnings/{copy_id}", headers=auth(limited))
    assert forgotten.status_code == 200 and forgotten.json() == {"deleted": 1}
    kept = await client.get(f"/v1/learnings/{canonical_id}", headers=auth(full))
    assert kept.status_code == 200 and kept.json()["occurrences"] == 1
    assert [r["id"] for r in await _search(client, full)] == [canonical_id]


async def test_forgetting_a_canonical_learning_hands_its_role_to_the_hidden_copy(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    full = await make_key()
    limited = await make_key(projects=[P1])
    mine = await _write(client, limited, P1)  # canonical, in p1
    theirs = await _write(client, full, P2)  # duplicate, in p2
    [hit] = await _search(client, limited)
    assert hit["occurrences"] == 1 and hit["projects"] == [P1]
    forgotten = await client.delete(
        f"/v1/learnings/{mine['learnings'][0]['id']}", headers=auth(limited)
    )
    assert forgotten.json() == {"deleted": 1}
    heir = await client.get(f"/v1/learnings/{theirs['learnings'][0]['id']}", headers=auth(full))
    assert heir.status_code == 200
    assert heir.json()["canonical_id"] is None and heir.json()["occurrences"] == 1
    assert await _search(client, limited) == []
    [left] = await _search(client, full)
    assert left["id"] == theirs["learnings"][0]["id"] and left["projects"] == [P2]
    # An unrestricted key still forgets every copy.
    again = await _write(client, full, P1, recipient="other")
    assert (await _search(client, full))[0]["occurrences"] == 2
    gone = await client.delete(f"/v1/learnings/{again['learnings'][0]['id']}", headers=auth(full))
    assert gone.json() == {"deleted": 2}


async def test_project_visibility_is_never_reached_through_a_link(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    full = await make_key()
    limited = await make_key(projects=[P1])
    private = await _write(client, full, P2, visibility="project")
    mine = await _write(client, limited, P1)
    for key, fields in ((limited, {}), (limited, {"project": P1}), (full, {"project": P1})):
        [hit] = await _search(client, key, **fields)
        assert hit["id"] == mine["learnings"][0]["id"]
        assert hit["projects"] == [P1] and hit["occurrences"] == 1
        assert private["id"] not in str(hit)
    # Team-wide searches never see the project-only copy either.
    [hit] = await _search(client, full)
    assert hit["id"] == mine["learnings"][0]["id"] and hit["projects"] == [P1]


async def test_idempotency_conflict_and_listing_reveal_nothing_of_other_projects(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    full = await make_key()
    limited = await make_key(projects=[P1])
    retry = partial(post_handoff, recipient="main", body=BODY, idempotency_key="retry-1")
    first = await retry(client, full, P2)
    assert first.status_code == 201
    reused = await retry(client, limited, P1)
    assert reused.status_code == 409
    assert first.json()["id"] not in reused.text
    assert reused.json()["error"]["details"] is None
    # A key that may read the first handoff is told which one it was.
    own = await retry(client, full, P1)
    assert own.status_code == 409
    assert own.json()["error"]["details"] == {"handoff_id": first.json()["id"]}

    denied = await client.get("/v1/handoffs", params={"project": P2}, headers=auth(limited))
    assert denied.status_code == 403 and first.json()["id"] not in denied.text
    assert (
        await client.get("/v1/handoffs", params={"project": P1}, headers=auth(limited))
    ).status_code == 200
