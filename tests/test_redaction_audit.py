"""Search queries and briefing tasks are redacted by the handoff detector before they are audited
(issue 15): the audit trail is read by admins and exported, and must not become the place where
a token pasted into a search survives."""

from __future__ import annotations

import httpx

from memory_service.audit.service import quoted_query
from memory_service.hygiene.redaction import redact
from tests.helpers import MakeKey, auth

GITLAB_TOKEN = "glpat-Xk3v9QmZ2pLr8TwY4nBs"
PASSPHRASE = "hunter-horse-battery"


async def test_search_queries_are_audited_redacted(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    admin = await make_key(team="alpha", scopes="admin")
    reader = await make_key(team="alpha", scopes="read")
    queries = [
        f"why does the deploy fail with token {GITLAB_TOKEN}",
        f"my password is {PASSPHRASE}",
        # Pasted config: the line break is context for the detector, then collapsed.
        "db config\n  password: marmalade-obelisk\n  host: db.internal",
    ]
    for query in queries:
        response = await client.post("/v1/search", json={"query": query}, headers=auth(reader))
        assert response.status_code == 200, response.text

    events = (
        await client.get("/v1/audit", params={"action": "search"}, headers=auth(admin))
    ).json()["items"]
    audited = [e["details"]["query"] for e in events]
    assert len(audited) == len(queries)
    joined = "\n".join(audited)
    for secret in (GITLAB_TOKEN, PASSPHRASE, "marmalade-obelisk"):
        assert secret not in joined
    # The rest of the query stays readable, with the kind of what was removed.
    assert "why does the deploy fail with token [REDACTED:gitlab_token]" in audited
    assert "my password is [REDACTED:password]" in audited
    assert "db config password: [REDACTED:password] host: db.internal" in audited


def test_audited_query_uses_the_handoff_detector() -> None:
    query = f"curl -H 'PRIVATE-TOKEN: {GITLAB_TOKEN}'\nthen   my password is {PASSPHRASE}"
    expected, _ = redact(query)
    assert quoted_query(query) == " ".join(expected.split())
    assert GITLAB_TOKEN not in quoted_query(query) and PASSPHRASE not in quoted_query(query)


def test_audited_query_is_cut_after_redaction() -> None:
    # A secret straddling the cut is still redacted whole, not cut in half and left.
    query = "x" * 190 + f" {GITLAB_TOKEN}"
    assert quoted_query(query) == ("x" * 190 + " [REDACTED:gitlab_token]")[:200]
    assert "glpat-Xk3" not in quoted_query(query)
