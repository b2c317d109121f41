"""`status: "read"` on POST /v1/handoffs: importing a handoff that was already delivered in a
file-based inbox stores it as read, so no session receives it again."""

from __future__ import annotations

import httpx

from memory_service.auth.keys import split_prefix
from memory_service.config import Settings
from tests.helpers import PROJECT, MakeKey, auth, write_handoff
from tests.test_audit_trail import audit_rows

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


async def test_mark_one_handoff_read(
    client: httpx.AsyncClient, key: str, make_key: MakeKey, settings: Settings
) -> None:
    """POST /v1/handoffs/{id}/read: what an importer calls when the file it imported unread
    was delivered since by the tool it came from. One handoff, write scope, the key's project
    limit, audited; a read handoff stays read and nothing turns one unread."""
    hid = (await write_handoff(client, key, body=BODY))["id"]
    other = (await write_handoff(client, key, body=BODY + "- And log every rerun.\n"))["id"]
    url = f"/v1/handoffs/{hid}/read"

    # Refused without changing anything: read-only key, a key limited to another project
    # (which learns nothing, not even that it exists), another team, a bad body, an unknown id.
    reader = await make_key(scopes="read")
    limited = await make_key(projects=["github.com/acme/other"])
    stranger = await make_key(team="beta")
    assert (await client.post(url, headers=auth(reader))).status_code == 403
    assert (await client.post(url, headers=auth(limited))).status_code == 404
    assert (await client.post(url, headers=auth(stranger))).status_code == 404
    for bad in ({"by": ""}, {"by": "x" * 201}, {"who": "me"}):
        assert (await client.post(url, json=bad, headers=auth(key))).status_code == 422
    unknown = "/v1/handoffs/00000000-0000-4000-8000-000000000000/read"
    assert (await client.post(unknown, headers=auth(key))).status_code == 404
    assert (await client.get(f"/v1/handoffs/{hid}", headers=auth(key))).json()["status"] == "unread"

    marked = await client.post(url, json={"by": "import"}, headers=auth(key))
    assert marked.status_code == 200, marked.text
    first = marked.json()
    assert (first["status"], first["claimed_by"], first["changed"]) == ("read", "import", True)
    assert first["claimed_at"] is not None

    # Again: nothing changes (not even who read it and when), and it says so.
    again = (await client.post(url, headers=auth(key))).json()
    assert (again["changed"], again["claimed_by"], again["claimed_at"]) == (
        False,
        "import",
        first["claimed_at"],
    )

    # Only that one: the other handoff is still delivered, once.
    where = {"project": PROJECT, "worktree": "widgets"}
    claim = await client.post("/v1/inbox/claim", json=where, headers=auth(key))
    assert [h["id"] for h in claim.json()["handoffs"]] == [other]

    # Without `by`: the calling key's prefix, as a claim without a session id says.
    third = (await write_handoff(client, key, body=BODY + "- Third.\n"))["id"]
    plain = (await client.post(f"/v1/handoffs/{third}/read", headers=auth(key))).json()
    assert plain["claimed_by"] == f"key:{split_prefix(key)}"

    rows = [r for r in audit_rows(settings) if r[0] == "handoff.read"]
    assert [(r[3], r[4], r[5]["changed"]) for r in rows] == [
        ("handoff", hid, True),
        ("handoff", hid, False),
        ("handoff", third, True),
    ]
