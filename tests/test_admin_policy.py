"""Who may manage keys, teams and the audit trail (memory_service/auth/policy.py): every admin
route x unrestricted admin / project-limited admin / read / write keys x a caller in the
operator team or in another team, with targets in the caller's own team and in another team.
A refused call changes nothing: no key made, rotated or revoked, no team created."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from memory_service.auth.policy import ensure_may_grant
from memory_service.auth.service import Principal
from memory_service.config import Settings
from memory_service.db import libpq_url
from memory_service.errors import Forbidden
from tests.helpers import MakeKey, auth

P1 = "github.com/acme/api"
P2 = "github.com/acme/web"
KINDS = ("admin", "limited_admin", "read", "write")
SCOPES = {
    "admin": "admin",
    "limited_admin": "admin",
    "read": "read",
    "write": "read,write",
}


@dataclass
class World:
    caller: str
    caller_team: str
    own_victim: str  # an unrestricted admin key of the caller's team
    own_victim_id: str
    other_victim: str  # an unrestricted admin key of another team
    other_victim_id: str


def _key_id(settings: Settings, plaintext: str) -> str:
    prefix = plaintext.split("_")[1]
    assert settings.database_url is not None
    with psycopg.connect(libpq_url(settings.database_url)) as conn:
        row = conn.execute("SELECT id FROM api_keys WHERE prefix = %s", (prefix,)).fetchone()
    assert row is not None
    return str(row[0])


def _counts(settings: Settings) -> tuple[int, int, int]:
    """(teams, keys, revoked keys)."""
    assert settings.database_url is not None
    with psycopg.connect(libpq_url(settings.database_url)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM teams), (SELECT count(*) FROM api_keys), "
            "(SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def _world(make_key: MakeKey, settings: Settings, kind: str, team: str) -> World:
    other_team = "beta" if team != "beta" else "alpha"
    caller = await make_key(team, SCOPES[kind], projects=[P1] if kind == "limited_admin" else None)
    own_victim = await make_key(team, "read,write,admin")
    other_victim = await make_key(other_team, "read,write,admin")
    return World(
        caller=caller,
        caller_team=team,
        own_victim=own_victim,
        own_victim_id=_key_id(settings, own_victim),
        other_victim=other_victim,
        other_victim_id=_key_id(settings, other_victim),
    )


def _expected(kind: str, operator: bool) -> dict[str, int]:
    """Status per action for a caller of `kind`, in the operator team or not."""
    if kind != "admin":
        return dict.fromkeys(
            (
                "team.create",
                "team.list",
                "key.create",
                "key.create.other_team",
                "key.create.unrestricted_in_other_team",
                "key.list",
                "key.rotate",
                "key.rotate.other_team",
                "key.revoke",
                "key.revoke.other_team",
                "audit",
            ),
            403,
        )
    return {
        "team.create": 201 if operator else 403,
        "team.list": 200 if operator else 403,
        "key.create": 201,
        "key.create.other_team": 201 if operator else 403,
        "key.create.unrestricted_in_other_team": 201 if operator else 403,
        "key.list": 200,
        # Keys are managed in their own team: another team's key is not there for anyone.
        "key.rotate": 201,
        "key.rotate.other_team": 404,
        "key.revoke": 204,
        "key.revoke.other_team": 404,
        "audit": 200,
    }


@pytest.mark.parametrize("team", ["default", "alpha"], ids=["operator_team", "other_team"])
@pytest.mark.parametrize("kind", KINDS)
async def test_admin_route_matrix(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings, kind: str, team: str
) -> None:
    assert settings.operator_team == "default"
    w = await _world(make_key, settings, kind, team)
    other_team = "beta" if team != "beta" else "alpha"
    expected = _expected(kind, operator=team == settings.operator_team)
    headers = auth(w.caller)
    before = _counts(settings)

    got: dict[str, httpx.Response] = {}
    got["team.create"] = await client.post(
        "/v1/admin/teams", json={"name": f"new-{kind}"}, headers=headers
    )
    got["team.list"] = await client.get("/v1/admin/teams", headers=headers)
    got["key.create"] = await client.post(
        "/v1/admin/keys", json={"scopes": ["read", "write", "admin"]}, headers=headers
    )
    got["key.create.other_team"] = await client.post(
        "/v1/admin/keys", json={"scopes": ["read"], "team": other_team}, headers=headers
    )
    got["key.create.unrestricted_in_other_team"] = await client.post(
        "/v1/admin/keys", json={"scopes": ["admin"], "team": other_team}, headers=headers
    )
    got["key.list"] = await client.get("/v1/admin/keys", headers=headers)
    got["audit"] = await client.get("/v1/audit", headers=headers)
    got["key.rotate.other_team"] = await client.post(
        f"/v1/admin/keys/{w.other_victim_id}/rotate", headers=headers
    )
    got["key.revoke.other_team"] = await client.delete(
        f"/v1/admin/keys/{w.other_victim_id}", headers=headers
    )
    got["key.rotate"] = await client.post(
        f"/v1/admin/keys/{w.own_victim_id}/rotate", headers=headers
    )
    # Revoke the key the rotation made (or, when it was refused, the victim itself).
    rotated_id = got["key.rotate"].json()["id"] if got["key.rotate"].status_code == 201 else None
    got["key.revoke"] = await client.delete(
        f"/v1/admin/keys/{rotated_id or w.own_victim_id}", headers=headers
    )

    statuses = {action: response.status_code for action, response in got.items()}
    assert statuses == expected
    for action, response in got.items():
        if response.status_code == 403:
            body = response.json()
            assert "key" not in body and body["error"]["code"] in (
                "forbidden",
                "project_limited_key",
            ), action

    # The other team's key always survives; the own victim only when the caller is refused.
    assert (await client.get("/v1/handoffs", headers=auth(w.other_victim))).status_code == 200
    own_alive = (await client.get("/v1/handoffs", headers=auth(w.own_victim))).status_code
    if kind == "admin":
        assert own_alive == 401  # rotated, hence revoked
        listed = got["key.list"].json()["keys"]
        assert w.other_victim_id not in {k["id"] for k in listed}
        trail = got["audit"].json()["items"]
        assert all(e["key_id"] != w.other_victim_id for e in trail)
    else:
        assert own_alive == 200
        assert _counts(settings) == before, "a refused admin call changed keys or teams"


async def test_limited_admin_key_still_reads_and_writes_its_projects(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    limited = await make_key("alpha", "admin", projects=[P1])
    body = {"project": P1, "recipient": "main", "body": "## Decisions\n- Cursor pagination."}
    assert (await client.post("/v1/handoffs", json=body, headers=auth(limited))).status_code == 201
    assert (
        await client.post("/v1/handoffs", json={**body, "project": P2}, headers=auth(limited))
    ).status_code == 403
    refused = await client.get("/v1/admin/keys", headers=auth(limited))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "project_limited_key"


def _principal(scopes: str, projects: list[str] | None) -> Principal:
    return Principal(
        team_id=uuid.uuid4(),
        key_id=uuid.uuid4(),
        prefix="abcdefgh",
        scopes=frozenset(scopes.split(",")),
        projects=tuple(projects) if projects is not None else None,
    )


@pytest.mark.parametrize(
    ("holder", "scopes", "projects", "allowed"),
    [
        (("admin", None), ["read", "write", "admin"], None, True),
        (("admin", None), ["read"], [P1, P2], True),
        (("read,write", None), ["read", "write"], None, True),
        (("read,write", None), ["admin"], None, False),
        (("read", None), ["write"], None, False),
        (("admin", [P1]), ["read"], [P1], True),
        (("admin", [P1]), ["read"], None, False),
        (("admin", [P1]), ["read"], [P1, P2], False),
        (("read", [P1, P2]), ["read"], [P2], True),
    ],
)
def test_a_key_never_grants_more_than_it_holds(
    holder: tuple[str, list[str] | None],
    scopes: list[str],
    projects: list[str] | None,
    allowed: bool,
) -> None:
    principal = _principal(*holder)
    if allowed:
        ensure_may_grant(principal, scopes, projects)
    else:
        with pytest.raises(Forbidden):
            ensure_may_grant(principal, scopes, projects)
