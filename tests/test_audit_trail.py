"""The audit trail is written by the services, so every entry point leaves the same rows: the
HTTP routes' rows, pinned here column by column, and the operator CLI's (`memory-service keys
create` / `keys revoke`), which carry no key and say `via` in their details, as the rows of
`export` and `import` do."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from memory_service.auth.keys import split_prefix
from memory_service.config import Settings
from memory_service.db import libpq_url
from tests.helpers import PROJECT, MakeKey, auth, service_cli, write_handoff

VIA = {"via": "memory-service CLI"}


def audit_rows(settings: Settings) -> list[tuple[Any, ...]]:
    """Every audit row, oldest first: (action, team name, acting key's prefix, target type,
    target id, details)."""
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        return [
            tuple(row)
            for row in conn.execute(
                "SELECT e.action, t.name, k.prefix, e.target_type, e.target_id, e.details "
                "FROM audit_events e JOIN teams t ON t.id = e.team_id "
                "LEFT JOIN api_keys k ON k.id = e.key_id ORDER BY e.id"
            ).fetchall()
        ]


def key_row(settings: Settings, prefix: str) -> tuple[str, bool]:
    """(id, revoked) of the key with `prefix`."""
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        row = conn.execute(
            "SELECT id::text, revoked_at IS NOT NULL FROM api_keys WHERE prefix = %s", (prefix,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


async def test_http_routes_audit_rows(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    operator = await make_key(team="default", scopes="admin")
    admin = await make_key(team="alpha", scopes="admin")
    writer = await make_key(team="alpha", scopes="read,write")
    op, ad, wr = (split_prefix(k) for k in (operator, admin, writer))

    team = (
        await client.post("/v1/admin/teams", json={"name": "gamma"}, headers=auth(operator))
    ).json()
    other = (
        await client.post(
            "/v1/admin/keys", json={"scopes": ["read"], "team": "gamma"}, headers=auth(operator)
        )
    ).json()
    own = (
        await client.post(
            "/v1/admin/keys", json={"scopes": ["read"], "name": "ci"}, headers=auth(admin)
        )
    ).json()
    rotated = (await client.post(f"/v1/admin/keys/{own['id']}/rotate", headers=auth(admin))).json()
    for _ in range(2):  # idempotent, and audited each time
        response = await client.delete(f"/v1/admin/keys/{rotated['id']}", headers=auth(admin))
        assert response.status_code == 204
    handoff = await write_handoff(client, writer, body="## Decisions\n- Use Redis.")
    before = len(audit_rows(settings))  # the handoff's own row is its route's business
    learning = handoff["learnings"][0]["id"]
    forgotten = await client.delete(f"/v1/learnings/{learning}", headers=auth(writer))
    assert forgotten.json() == {"deleted": 1}
    claim = {"project": PROJECT, "worktree": "widgets", "session_id": "s1"}
    claimed = await client.post("/v1/inbox/claim", json=claim, headers=auth(writer))
    assert [h["id"] for h in claimed.json()["handoffs"]] == [handoff["id"]]
    empty = {"project": "github.com/acme/none", "worktree": "w"}
    assert (await client.post("/v1/inbox/claim", json=empty, headers=auth(writer))).json() == {
        "handoffs": []
    }
    search = {"query": "redis password=hunter2", "k": 3, "mode": "text", "project": PROJECT}
    assert (await client.post("/v1/search", json=search, headers=auth(writer))).status_code == 200
    brief = {"project": PROJECT, "worktree": "widgets", "task": "caching"}
    assert (await client.post("/v1/brief", json=brief, headers=auth(writer))).status_code == 200

    rows = audit_rows(settings)
    assert rows[:before] == [
        ("team.create", "default", op, "team", team["id"], {"name": "gamma"}),
        (
            "key.create",
            "gamma",
            op,
            "api_key",
            other["id"],
            {"prefix": other["prefix"], "scopes": ["read"], "team": "gamma"},
        ),
        (
            "key.create",
            "alpha",
            ad,
            "api_key",
            own["id"],
            {"prefix": own["prefix"], "scopes": ["read"], "team": "alpha"},
        ),
        (
            "key.rotate",
            "alpha",
            ad,
            "api_key",
            own["id"],
            {"new_key_id": rotated["id"], "new_prefix": rotated["prefix"]},
        ),
        ("key.revoke", "alpha", ad, "api_key", rotated["id"], {"prefix": rotated["prefix"]}),
        ("key.revoke", "alpha", ad, "api_key", rotated["id"], {"prefix": rotated["prefix"]}),
        ("handoff.create", "alpha", wr, "handoff", handoff["id"], rows[before - 1][5]),
    ]
    assert rows[before:] == [
        ("learning.forget", "alpha", wr, "learning", learning, {"deleted": 1}),
        (
            "inbox.claim",
            "alpha",
            wr,
            "worktree",
            f"{PROJECT}:widgets",
            {"handoffs": [handoff["id"]], "session_id": "s1"},
        ),
        (
            "inbox.claim",
            "alpha",
            wr,
            "worktree",
            "github.com/acme/none:w",
            {"handoffs": [], "session_id": None},
        ),
        (
            "search",
            "alpha",
            wr,
            None,
            None,
            {
                "query": rows[before + 3][5]["query"],
                "mode": "text",
                "k": 3,
                "project": PROJECT,
                "kinds": None,
                "intent": "general",
                "results": 0,
            },
        ),
        (
            "brief",
            "alpha",
            wr,
            "worktree",
            f"{PROJECT}:widgets",
            {
                "handoffs": [],
                "learnings": 0,
                "task": "caching",
                "basis": "task",
                "abstained": True,
                "session_id": None,
            },
        ),
    ]
    assert "hunter2" not in rows[before + 3][5]["query"]


def test_cli_keys_create_and_revoke_are_audited(settings: Settings) -> None:
    created = service_cli(
        settings, "keys", "create", "--team", "cli-team", "--scopes", "read,write", "--name", "ci"
    )
    assert created.returncode == 0, created.stderr
    prefix = split_prefix(created.stdout.strip())
    assert prefix is not None
    key_id, _ = key_row(settings, prefix)
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        team_row = conn.execute("SELECT id::text FROM teams WHERE name = 'cli-team'").fetchone()
    assert team_row is not None
    # The operator has no key: no key id, and `via` says where the action came from.
    assert audit_rows(settings) == [
        ("team.create", "cli-team", None, "team", team_row[0], {**VIA, "name": "cli-team"}),
        (
            "key.create",
            "cli-team",
            None,
            "api_key",
            key_id,
            {**VIA, "prefix": prefix, "scopes": ["read", "write"], "team": "cli-team"},
        ),
    ]

    # A second key in the same team: the team exists, only the key is new.
    again = service_cli(settings, "keys", "create", "--team", "cli-team", "--scopes", "read")
    assert again.returncode == 0, again.stderr
    assert [r[0] for r in audit_rows(settings)] == ["team.create", "key.create", "key.create"]

    revoked = service_cli(settings, "keys", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"revoked {prefix}"
    assert key_row(settings, prefix) == (key_id, True)
    assert audit_rows(settings)[-1] == (
        "key.revoke",
        "cli-team",
        None,
        "api_key",
        key_id,
        {**VIA, "prefix": prefix},
    )

    # Nothing to revoke: an error, and no row.
    count = len(audit_rows(settings))
    missing = service_cli(settings, "keys", "revoke", prefix)
    assert missing.returncode == 1
    assert f"no active key with prefix {prefix}" in missing.stderr
    assert len(audit_rows(settings)) == count

    listed = service_cli(settings, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    lines = sorted(listed.stdout.splitlines())
    assert len(lines) == 2
    assert f"cli-team\t{prefix}\tread,write\trevoked\tci" in lines
