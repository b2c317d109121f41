"""`status: "read"` on POST /v1/handoffs: importing a handoff that was already delivered in a
file-based inbox stores it as read, so no session receives it again."""

from __future__ import annotations

import httpx

from tests.helpers import PROJECT, auth, write_handoff

BODY = "## Decisions\n- Keep the importer idempotent; reruns happen.\n"


async def test_write_as_read_is_never_delivered(client: httpx.AsyncClient, key: str) -> None:
    created = await write_handoff(client, key, body=BODY, status="read", idempotency_key="import-1")
    hid = created["id"]

    stored = (await client.get(f"/v1/handoffs/{hid}", headers=auth(key))).json()
    assert stored["status"] == "read"
    assert stored["claimed_by"] == "import"
    assert stored["claimed_at"] is not None
    # Its learnings are searchable like any other handoff's.
    assert [item["kind"] for item in stored["learnings"]] == ["decision"]

    where = {"project": PROJECT, "worktree": "widgets"}
    peek = await client.get("/v1/inbox", params=where, headers=auth(key))
    assert peek.json()["handoffs"] == []
    claim = await client.post("/v1/inbox/claim", json=where, headers=auth(key))
    assert claim.json()["handoffs"] == []

    listed = await client.get(
        "/v1/handoffs", params={"project": PROJECT, "status": "read"}, headers=auth(key)
    )
    assert [h["id"] for h in listed.json()["items"]] == [hid]


async def test_status_defaults_to_unread_and_is_part_of_the_idempotent_request(
    client: httpx.AsyncClient, key: str
) -> None:
    first = await write_handoff(client, key, body=BODY, idempotency_key="import-2")
    hid = first["id"]
    stored = (await client.get(f"/v1/handoffs/{hid}", headers=auth(key))).json()
    assert stored["status"] == "unread" and stored["claimed_by"] is None

    # The same key with status "read" is a different request: refused, not silently merged.
    await write_handoff(
        client, key, body=BODY, status="read", idempotency_key="import-2", expect=409
    )
    await write_handoff(client, key, body=BODY, status="archived", expect=422)
