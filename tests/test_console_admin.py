"""The console's admin pages over the real HTTP stack: the audit trail (filters, pages, details
shown inert, bad filters refused) and the keys (list, create shown once, rotate, revoke, the
session's own key), each change audited like the API's and refused input changing nothing."""

from __future__ import annotations

import re

import httpx
import psycopg

from memory_service.db import libpq_url
from tests.helpers import MakeKey, auth, console_sign_in, write_handoff

_KEY = re.compile(r"mem_[A-Za-z0-9]+_[A-Za-z0-9_-]+")


def _rows(url: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def _shown_key(html: str) -> str:
    found = re.search(r'<code id="new-key">([^<]+)</code>', html)
    assert found is not None, html[:2000]
    return found.group(1)


async def test_audit_page_filters_pages_and_shows_details_inert(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    writer = await make_key(scopes="read,write")
    # A search whose query (kept redacted in the trail) tries to inject markup.
    sneaky = "<script>window.pwned=1</script> cache prices"
    assert (
        await client.post("/v1/search", json={"query": sneaky}, headers=auth(writer))
    ).status_code == 200
    for n in range(55):
        await write_handoff(client, writer, body=f"## Decisions\n- Decision number {n} stands.\n")
    await console_sign_in(client, admin)

    page = await client.get("/console/audit")
    assert page.status_code == 200
    html = page.text
    assert html.count("<tr>") - 1 == 50  # one header row, a page of 50 events
    assert "<script>window.pwned" not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" not in html  # only on page 2 (oldest)
    older = re.search(r'href="(/console/audit\?before=\d+)" rel="next"', html)
    assert older is not None
    second = await client.get(older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in second.text
    assert "<script>window" not in second.text
    assert 'rel="next"' not in second.text  # 57 events: two pages

    searches = await client.get("/console/audit", params={"action": "search"})
    assert searches.text.count("<tr>") - 1 == 1 and "pwned" in searches.text
    prefix = writer.split("_")[1]
    writer_id = _rows(clean_db, "SELECT id FROM api_keys WHERE prefix = %s", prefix)[0][0]
    by_key = await client.get("/console/audit", params={"key": str(writer_id)})
    assert by_key.text.count("<tr>") - 1 == 50 and "console.sign_in" not in by_key.text
    mine = await client.get("/console/audit", params={"action": "console"})
    assert "console.sign_in" in mine.text and "handoff.create" not in mine.text
    future = await client.get("/console/audit", params={"since": "2999-01-01"})
    assert "No events match these filters" in future.text
    today = await client.get("/console/audit", params={"until": "2000-01-01"})
    assert "No events match" in today.text

    for params, status in (
        ({"since": "yesterday"}, 422),
        ({"until": "2026-13-45"}, 422),
        ({"until": "9999-12-31"}, 422),
        ({"since": "2026-12-05T10:00:00+99:00"}, 422),
        ({"since": "2026-12-05\x00"}, 422),
        ({"key": "not-a-uuid"}, 422),
        ({"action": "x" * 101}, 422),
        ({"before": "abc"}, 400),
        ({"before": "9" * 19}, 400),
    ):
        bad = await client.get("/console/audit", params=params)
        assert bad.status_code == status, (params, bad.text[:300])
        assert "text/html" in bad.headers["content-type"]


async def test_admin_pages_need_an_unlimited_admin_key(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    for scopes, projects in (("read,write", None), ("read,write,admin", ["github.com/a/b"])):
        client.cookies.clear()
        await console_sign_in(client, await make_key(scopes=scopes, projects=projects))
        overview = await client.get("/console")
        assert 'href="/console/audit"' not in overview.text  # not in the navigation
        for path in ("/console/audit", "/console/keys"):
            refused = await client.get(path)
            assert refused.status_code == 403, path
            assert "admin" in refused.text


async def test_a_created_key_is_shown_once_and_never_again(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    csrf = await console_sign_in(client, admin)
    listing = await client.get("/console/keys")
    assert listing.status_code == 200 and admin.split("_")[1] in listing.text
    assert "this session" in listing.text

    made = await client.post(
        "/console/keys",
        data={
            "csrf": csrf,
            "name": "ci <bot>",
            "scopes": ["read", "write"],
            "projects": "github.com/acme/widgets, github.com/acme/gadgets\n",
        },
        follow_redirects=False,
    )
    assert made.status_code == 200, made.text[:500]
    assert made.headers["cache-control"] == "no-store"
    new = _shown_key(made.text)
    assert "ci &lt;bot&gt;" in made.text
    assert 'data-copy="new-key"' in made.text
    # It works, with exactly what the form asked for.
    api = await client.get("/v1/handoffs", params={"project": "github.com/acme/widgets"},
                           headers=auth(new))  # fmt: skip
    assert api.status_code == 200
    other = await client.get("/v1/handoffs", params={"project": "github.com/acme/other"},
                             headers=auth(new))  # fmt: skip
    assert other.status_code in (403, 404)
    row = _rows(
        clean_db,
        "SELECT name, scopes, projects FROM api_keys WHERE prefix = %s",
        new.split("_")[1],
    )
    assert row == [
        ("ci <bot>", ["read", "write"], ["github.com/acme/widgets", "github.com/acme/gadgets"])
    ]
    # Never again: not in the list, the audit page, or the trail itself.
    for path in ("/console/keys", "/console/audit", "/console"):
        page = await client.get(path)
        assert new not in page.text and new.split("_")[2] not in page.text, path
    trail = _rows(clean_db, "SELECT details::text FROM audit_events WHERE action = 'key.create'")
    assert len(trail) == 1 and new.split("_")[2] not in str(trail)
    assert new.split("_")[1] in (await client.get("/console/keys")).text  # its prefix is listed


async def test_bad_key_forms_change_nothing(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    csrf = await console_sign_in(client, admin)
    before = _rows(clean_db, "SELECT count(*) FROM api_keys")
    for data, status in (
        ({"name": "x"}, 422),  # no scope
        ({"scopes": ["root"]}, 422),
        ({"scopes": ["read"], "projects": "../etc/passwd"}, 422),
        ({"scopes": ["read"], "name": "n" * 201}, 422),
        (
            {"scopes": ["read"], "projects": "\n".join(f"github.com/a/p{i}" for i in range(101))},
            422,
        ),
    ):
        refused = await client.post("/console/keys", data={"csrf": csrf, **data})
        assert refused.status_code == status, (data, refused.text[:300])
        assert "text/html" in refused.headers["content-type"]
        assert _KEY.search(refused.text) is None
    assert _rows(clean_db, "SELECT count(*) FROM api_keys") == before
    # A project-limited admin key may not grant more than it holds (403 from the policy), and
    # cannot even open the page.
    limited = await make_key(scopes="read,write,admin", projects=["github.com/acme/widgets"])
    client.cookies.clear()
    csrf = await console_sign_in(client, limited)
    refused = await client.post("/console/keys", data={"csrf": csrf, "scopes": ["read"]})
    assert refused.status_code == 403
    assert _rows(clean_db, "SELECT count(*) FROM api_keys") == [(before[0][0] + 1,)]


async def test_rotate_and_revoke(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    worker = await make_key(scopes="read,write")
    csrf = await console_sign_in(client, admin)
    worker_id = _rows(clean_db, "SELECT id FROM api_keys WHERE prefix = %s", worker.split("_")[1])[
        0
    ][0]
    rotated = await client.post(f"/console/keys/{worker_id}/rotate", data={"csrf": csrf})
    assert rotated.status_code == 200, rotated.text[:500]
    new = _shown_key(rotated.text)
    assert new != worker and "Key rotated" in rotated.text
    assert (await client.get("/v1/inbox", params={"project": "github.com/a/b", "worktree": "b"},
                             headers=auth(worker))).status_code == 401  # fmt: skip
    assert (await client.get("/v1/inbox", params={"project": "github.com/a/b", "worktree": "b"},
                             headers=auth(new))).status_code == 200  # fmt: skip
    # A revoked key cannot be rotated again (409 page), and the list shows it revoked.
    again = await client.post(f"/console/keys/{worker_id}/rotate", data={"csrf": csrf})
    assert again.status_code == 409 and _KEY.search(again.text) is None
    new_id = _rows(clean_db, "SELECT id FROM api_keys WHERE prefix = %s", new.split("_")[1])[0][0]
    revoked = await client.post(
        f"/console/keys/{new_id}/revoke", data={"csrf": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303 and revoked.headers["location"] == "/console/keys"
    assert (await client.get("/v1/inbox", params={"project": "github.com/a/b", "worktree": "b"},
                             headers=auth(new))).status_code == 401  # fmt: skip
    listing = await client.get("/console/keys")
    assert listing.text.count("revoked 20") == 2
    actions = _rows(
        clean_db,
        "SELECT action FROM audit_events WHERE action LIKE 'key.%%' ORDER BY id",
    )
    assert actions == [("key.rotate",), ("key.revoke",)]
    # Unknown, malformed and other teams' ids are a 404 page; nothing changes.
    stranger = await make_key(team="beta", scopes="read,write,admin")
    beta_id = _rows(clean_db, "SELECT id FROM api_keys WHERE prefix = %s", stranger.split("_")[1])[
        0
    ][0]
    for target in (beta_id, "00000000-0000-0000-0000-000000000000", "nope", "1%20OR%201=1"):
        for action in ("rotate", "revoke"):
            missing = await client.post(f"/console/keys/{target}/{action}", data={"csrf": csrf})
            assert missing.status_code == 404, (target, action, missing.text[:300])
    assert _rows(clean_db, "SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL") == [(2,)]


async def test_revoking_the_sessions_own_key_signs_it_out(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    csrf = await console_sign_in(client, admin)
    own = _rows(clean_db, "SELECT id FROM api_keys WHERE prefix = %s", admin.split("_")[1])[0][0]
    done = await client.post(
        f"/console/keys/{own}/revoke", data={"csrf": csrf}, follow_redirects=True
    )
    # The redirect's next page is the 401 "session ended" page, the cookie cleared.
    assert done.status_code == 401
    assert "revoked" in done.text and "Sign in" in done.text
    assert (await client.get("/console/keys")).status_code == 303  # cookie gone: sign in
    assert (await client.get("/console", follow_redirects=False)).headers.get(
        "location"
    ) == "/console/sign-in"


async def test_rotating_the_sessions_own_key_shows_the_new_one_and_signs_out(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    csrf = await console_sign_in(client, admin)
    own = _rows(clean_db, "SELECT id FROM api_keys WHERE prefix = %s", admin.split("_")[1])[0][0]
    rotated = await client.post(f"/console/keys/{own}/rotate", data={"csrf": csrf})
    assert rotated.status_code == 200
    new = _shown_key(rotated.text)
    assert "sign in again with the new key" in rotated.text
    assert (await client.get("/console")).status_code == 401
    client.cookies.clear()
    await console_sign_in(client, new)
    assert (await client.get("/console/keys")).status_code == 200
