"""The forgetting policy (issue 18, point 5): off by default; a dry run lists what would go and
deletes nothing; a run deletes exactly what it listed, near-duplicates with their canonical
learning, each with an audit row; a learning used recently stays; next steps and status
expire sooner; only unrestricted admin keys manage it. Real database, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from fastapi import FastAPI

from memory_service.config import Settings
from memory_service.db import libpq_url
from memory_service.forgetting.service import run_all
from tests.helpers import MakeKey, auth, service_cli, write_handoff

BODY = (
    "## Decisions\n"
    "- Cache product prices in Redis for five minutes; longer TTLs served stale prices.\n"
    "## What NOT to do\n"
    "- Do not cache error responses from the pricing API: one outage poisoned the cache.\n"
    "## Next Steps\n"
    "- Add a Grafana panel for the price cache hit rate.\n"
)


def _sql(settings: Settings, query: str, *args: Any) -> list[tuple[Any, ...]]:
    assert settings.database_url is not None
    with psycopg.connect(libpq_url(settings.database_url), autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else []


def _age(settings: Settings, days: int, like: str = "%") -> None:
    """Makes learnings (whose text is LIKE `like`) look written `days` ago."""
    _sql(
        settings,
        "UPDATE learnings SET created_at = now() - make_interval(days => %s) WHERE text LIKE %s",
        days,
        like,
    )


def _texts(settings: Settings) -> set[str]:
    return {r[0] for r in _sql(settings, "SELECT text FROM learnings")}


async def test_off_by_default_and_only_for_unrestricted_admins(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    admin = await make_key(scopes="read,write,admin")
    await write_handoff(client, admin, body=BODY)
    _age(settings, 4000)
    got = await client.get("/v1/admin/forgetting", headers=auth(admin))
    assert got.json() == {"forget_unused_days": None, "next_step_expiry_days": None}
    ran = await client.post("/v1/admin/forgetting/run", headers=auth(admin))
    assert ran.status_code == 200 and ran.json()["forgotten"] == 0 and ran.json()["learnings"] == []
    assert len(_texts(settings)) == 3
    for who in (await make_key(), await make_key(scopes="admin", projects=["github.com/a/b"])):
        for method, path in (
            ("GET", "/v1/admin/forgetting"),
            ("PUT", "/v1/admin/forgetting"),
            ("GET", "/v1/admin/forgetting/candidates"),
            ("POST", "/v1/admin/forgetting/run"),
        ):
            r = await client.request(method, path, headers=auth(who), json={})
            assert r.status_code == 403, (method, path, r.text)
    bad = await client.put(
        "/v1/admin/forgetting", json={"forget_unused_days": 0}, headers=auth(admin)
    )
    assert bad.status_code == 422
    assert (await client.get("/v1/admin/forgetting", headers=auth(admin))).json()[
        "forget_unused_days"
    ] is None


async def test_dry_run_lists_and_the_run_deletes_exactly_that_with_audit_rows(
    app: FastAPI, client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    admin = await make_key(scopes="read,write,admin")
    await write_handoff(client, admin, body=BODY)
    # A copy of the mistake in another project: a near-duplicate, forgotten with it.
    await write_handoff(
        client,
        admin,
        project="github.com/acme/shop",
        body="## What NOT to do\n- Do not cache error responses from the pricing API: "
        "one outage poisoned the cache.\n",
    )
    _age(settings, 100)
    # The decision was used (a search returned it) just now: it stays.
    r = await client.post(
        "/v1/search",
        json={"query": "how long to cache prices in redis", "k": 1},
        headers=auth(admin),
    )
    assert "five minutes" in r.json()["results"][0]["text"]
    state = app.state.memory
    await state.usage.flush(state.sessions)

    put = await client.put(
        "/v1/admin/forgetting", json={"forget_unused_days": 90}, headers=auth(admin)
    )
    assert put.json() == {"forget_unused_days": 90, "next_step_expiry_days": None}
    dry = (await client.get("/v1/admin/forgetting/candidates", headers=auth(admin))).json()
    assert dry["dry_run"] and dry["forgotten"] == 0
    listed = {x["id"]: x for x in dry["learnings"]}
    assert sorted(x["text"][:12] for x in listed.values()) == ["Add a Grafan", "Do not cache"]
    assert {x["reason"] for x in listed.values()} == {"unused"}
    assert next(x for x in listed.values() if x["kind"] == "mistake")["copies"] == 2
    assert _sql(settings, "SELECT count(*) FROM learnings") == [(4,)] and _sql(
        settings, "SELECT count(*) FROM audit_events WHERE action = 'learning.expire'"
    ) == [(0,)]

    ran = (await client.post("/v1/admin/forgetting/run", headers=auth(admin))).json()
    assert not ran["dry_run"] and ran["forgotten"] == 3
    assert {x["id"] for x in ran["learnings"]} == set(listed)
    assert _texts(settings) == {
        "Cache product prices in Redis for five minutes; longer TTLs served stale prices."
    }
    audited = _sql(
        settings,
        "SELECT details->>'reason', details->>'canonical_id' FROM audit_events "
        "WHERE action = 'learning.expire'",
    )
    assert len(audited) == 3 and {r[0] for r in audited} == {"unused"}
    assert {r[1] for r in audited} == set(listed)
    changed = _sql(settings, "SELECT details FROM audit_events WHERE action = 'team.forgetting'")
    assert changed[0][0]["after"]["forget_unused_days"] == 90
    again = (await client.post("/v1/admin/forgetting/run", headers=auth(admin))).json()
    assert again["forgotten"] == 0


async def test_next_steps_expire_sooner_and_the_server_runs_every_teams_policy(
    app: FastAPI, client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    admin = await make_key(scopes="read,write,admin")
    other = await make_key(team="beta", scopes="read,write,admin")
    await write_handoff(client, admin, body=BODY)
    await write_handoff(client, other, body=BODY)
    _age(settings, 20)
    await client.put(
        "/v1/admin/forgetting",
        json={"forget_unused_days": 365, "next_step_expiry_days": 14},
        headers=auth(admin),
    )
    dry = (await client.get("/v1/admin/forgetting/candidates", headers=auth(admin))).json()
    assert [(x["kind"], x["reason"]) for x in dry["learnings"]] == [("next_step", "expired")]
    # The background task's round (called here instead of waiting an hour): team alpha's
    # next step goes, team beta (no policy) keeps everything.
    assert await run_all(app.state.memory.sessions) == 1
    rows = _sql(
        settings,
        "SELECT t.name, count(*) FROM learnings l JOIN teams t ON t.id = l.team_id "
        "GROUP BY t.name ORDER BY t.name",
    )
    assert rows == [("alpha", 2), ("beta", 3)]
    audited = _sql(
        settings,
        "SELECT key_id, details->>'via', details->>'reason' FROM audit_events "
        "WHERE action = 'learning.expire'",
    )
    assert audited == [(None, "memory-service CLI", "expired")]


async def test_the_operator_cli_sets_lists_and_runs(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    admin = await make_key(scopes="read,write,admin")
    await write_handoff(client, admin, body=BODY)
    _age(settings, 40)
    shown = service_cli(settings, "forgetting", "show", "--team", "alpha")
    assert shown.returncode == 0 and "forget_unused_days=off" in shown.stdout
    bad = service_cli(settings, "forgetting", "set", "--team", "alpha", "--unused-days", "-3")
    assert bad.returncode == 2
    done = service_cli(settings, "forgetting", "set", "--team", "alpha", "--next-step-days", "30")
    assert done.returncode == 0 and "next_step_expiry_days=30" in done.stdout
    dry = service_cli(settings, "forgetting", "run", "--team", "alpha", "--dry-run")
    assert dry.returncode == 0 and "would forget 1" in dry.stderr and "expired" in dry.stdout
    assert _sql(settings, "SELECT count(*) FROM learnings") == [(3,)]
    ran = service_cli(settings, "forgetting", "run", "--team", "alpha")
    assert ran.returncode == 0 and "forgot 1" in ran.stderr
    assert _sql(settings, "SELECT count(*) FROM learnings WHERE kind = 'next_step'") == [(0,)]
    assert _sql(
        settings, "SELECT details->>'via' FROM audit_events WHERE action = 'learning.expire'"
    ) == [("memory-service CLI",)]
