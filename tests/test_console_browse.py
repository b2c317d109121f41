"""The console's overview, search and learning pages over the real HTTP stack with real data:
what each shows, that a key limited to a project sees only that project everywhere, and that
the learning page's actions change exactly what they should, are audited, and change
nothing when the CSRF token is missing or the key may not write."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import psycopg

from memory_service.db import libpq_url
from tests.helpers import MakeKey, console_sign_in, csrf_of, write_handoff

WIDGETS = "github.com/acme/widgets"
GADGETS = "github.com/acme/gadgets"
MISTAKE = "Never run the database migrations against production by hand; use the deploy job."
DECISION = "We chose PostgreSQL advisory locks over Redis locks for the job scheduler."
GADGET_ONLY = "The gadgets firmware build needs the ARM toolchain pinned to version 12."


def _rows(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


async def _seed(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    """Three handoffs: the same mistake in both projects (one near-duplicate cluster), a
    decision, a pattern and a next step in widgets, a gadgets-only discovery."""
    first = await write_handoff(
        client,
        key,
        WIDGETS,
        f"## What NOT to do\n- {MISTAKE}\n\n## Decisions\n- {DECISION}\n\n"
        "## Patterns\n- Wrap every scheduler job in a single transaction.\n\n"
        "## Next steps\n- Add a dashboard for the scheduler queue depth.\n",
        recipient="widgets-main",
        sender="alice-laptop",
        tool="claude-code",
        branch="feat/locks",
        head="0123456789abcdef0123456789abcdef01234567",
    )
    second = await write_handoff(
        client,
        key,
        GADGETS,
        f"## Mistakes to avoid\n- {MISTAKE}\n\n## Findings\n- {GADGET_ONLY}\n",
        recipient="gadgets-dev",
    )
    third = await write_handoff(
        client, key, WIDGETS, f"## Gotchas\n- {MISTAKE}\n", recipient="widgets-main"
    )
    return {"first": first, "second": second, "third": third}


def _learning(written: dict[str, Any], text: str) -> str:
    return str(next(x["id"] for x in written["learnings"] if x["text"] == text))


async def test_overview_shows_chart_recurring_mistakes_and_waiting(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    written = await _seed(client, admin)
    # Written three weeks ago (its week's row), and long ago (before the chart's 12 weeks).
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    for weeks, text in ((3, "Three weeks ago we chose tabs."), (20, "Long ago we chose spaces.")):
        when = datetime.combine(monday - timedelta(weeks=weeks), time(12), tzinfo=UTC)
        await write_handoff(
            client, admin, WIDGETS, f"## Decisions\n- {text}\n", created_at=when.isoformat()
        )
    await console_sign_in(client, admin)
    page = (await client.get("/console")).text
    table = page.split('class="weekly-table"')[1].split("</table>")[0]
    three = str(monday - timedelta(weeks=3))
    assert f'<tr><th scope="row">{three}</th><td class="num">1</td>' in table  # one decision
    assert str(monday - timedelta(weeks=11)) in table
    assert str(monday - timedelta(weeks=12)) not in table
    assert f"week of {three}: 1 decision</title>" in page
    # The weekly chart: an accessible SVG, a bar per kind written this week, and its table.
    assert (
        '<svg viewBox="0 0 1100 250" role="img" aria-labelledby="weekly-title weekly-desc"' in page
    )
    assert "week of " in page and ": 3 mistake</title>" in page
    assert "<summary>The chart's numbers as a table</summary>" in page
    # The mistake written three times in two projects, linked to its canonical learning.
    canonical = _learning(written["first"], MISTAKE)
    row = page.split('id="mistakes-h"')[1].split("</table>")[0]
    assert f'<a href="/console/learnings/{canonical}">' in row
    assert '<td class="num">3</td>' in row and f"{GADGETS}, {WIDGETS}" in row
    assert DECISION not in row  # one-off learnings are not recurring mistakes
    # Unread handoffs per worktree, each linked to the handoffs page filtered.
    waiting = page.split('id="waiting-h"')[1].split("</table>")[0]
    assert (
        "/console/handoffs?project=github.com%2Facme%2Fwidgets&amp;recipient=widgets-main"
        "&amp;status=unread" in waiting
    )
    assert '<td class="num">2</td>' in waiting and "gadgets-dev" in waiting

    # A key limited to widgets sees widgets only: counts, chart, mistakes and worktrees.
    limited = await make_key(scopes="read", projects=[WIDGETS])
    async with httpx.AsyncClient(transport=client._transport, base_url="http://test") as other:
        await console_sign_in(other, limited)
        page = (await other.get("/console")).text
    assert GADGETS not in page and "gadgets-dev" not in page
    assert ": 2 mistake</title>" in page
    row = page.split('id="mistakes-h"')[1].split("</table>")[0]
    assert '<td class="num">2</td>' in row and f"{WIDGETS}</td>" in row


async def test_search_page_filters_and_limits(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    written = await _seed(client, admin)
    await console_sign_in(client, admin)
    empty = await client.get("/console/search")
    assert empty.status_code == 200 and 'name="q"' in empty.text and "result" not in empty.text
    # As the form sends it: every field, the empty ones empty.
    found = await client.get(
        "/console/search",
        params={
            "q": "migrations against production",
            "mode": "hybrid",
            "k": "10",
            "since": "",
            "until": "",
        },
    )
    assert found.status_code == 200
    canonical = _learning(written["first"], MISTAKE)
    assert f'href="/console/learnings/{canonical}"' in found.text
    assert "×3 in 2 projects" in found.text
    # Kinds: only decisions.
    decisions = await client.get(
        "/console/search", params={"q": "locks for the scheduler", "kind": "decision"}
    )
    assert DECISION in decisions.text and MISTAKE not in decisions.text
    # Projects and dates.
    gadgets = await client.get(
        "/console/search", params={"q": "toolchain firmware", "project": GADGETS, "mode": "text"}
    )
    assert GADGET_ONLY in gadgets.text
    future = await client.get(
        "/console/search", params={"q": "toolchain firmware", "since": "2999-01-01"}
    )
    assert GADGET_ONLY not in future.text and "0 results" in future.text
    past = await client.get(
        "/console/search", params={"q": "toolchain firmware", "until": "2000-01-01"}
    )
    assert GADGET_ONLY not in past.text and "0 results" in past.text
    # Bad input: a clear error page with its status.
    long = await client.get("/console/search", params={"q": "x" * 2001})
    assert long.status_code == 422 and "longer than 2000 characters" in long.text
    assert (
        await client.get("/console/search", params={"q": "a", "kind": "gossip"})
    ).status_code == 422
    assert (await client.get("/console/search", params={"q": "a", "k": "1000"})).status_code == 422
    assert (
        await client.get("/console/search", params={"q": "a", "since": "yesterday"})
    ).status_code == 422
    bad_project = await client.get("/console/search", params={"q": "a", "project": "../etc"})
    assert bad_project.status_code == 422

    limited = await make_key(scopes="read", projects=[WIDGETS])
    async with httpx.AsyncClient(transport=client._transport, base_url="http://test") as other:
        await console_sign_in(other, limited)
        mine = await other.get("/console/search", params={"q": "toolchain firmware"})
        assert GADGET_ONLY not in mine.text and GADGETS not in mine.text
        refused = await other.get("/console/search", params={"q": "firmware", "project": GADGETS})
        assert refused.status_code == 403 and GADGET_ONLY not in refused.text


async def test_learning_page_shows_provenance_duplicates_and_hides_other_projects(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    admin = await make_key(scopes="read,write,admin")
    written = await _seed(client, admin)
    await console_sign_in(client, admin)
    canonical = _learning(written["first"], MISTAKE)
    copy = _learning(written["second"], MISTAKE)
    page = await client.get(f"/console/learnings/{canonical}")
    assert page.status_code == 200
    text = page.text
    assert MISTAKE in text and "<h1>Mistake <code>" in text
    sentinel = written["first"]["sentinel"]
    assert f'<a href="/console/handoffs/{written["first"]["id"]}">{sentinel}</a>' in text
    for shown in (
        "alice-laptop",
        "claude-code",
        "feat/locks",
        "0123456789abcdef01234567",
        "widgets-main",
    ):
        assert shown in text
    assert f"Written 3 times, in {WIDGETS} (2), {GADGETS} (1)." in text
    assert f'href="/console/learnings/{copy}"' in text  # its near-duplicate
    assert 'action="/console/learnings/' in text  # a write key gets the actions

    # Unknown, malformed and other teams' ids: 404 pages.
    assert (
        await client.get("/console/learnings/00000000-0000-7000-8000-000000000000")
    ).status_code == 404
    assert (await client.get("/console/learnings/not-an-id")).status_code == 404
    assert (await client.get("/console/learnings/" + "f" * 33)).status_code == 404

    limited = await make_key(scopes="read", projects=[WIDGETS])
    stranger = await make_key(team="beta", scopes="read,write,admin")
    async with httpx.AsyncClient(transport=client._transport, base_url="http://test") as other:
        await console_sign_in(other, limited)
        mine = await other.get(f"/console/learnings/{canonical}")
        assert mine.status_code == 200
        assert "Written 2 times, in " + WIDGETS + " (2)." in mine.text
        assert GADGETS not in mine.text and copy not in mine.text
        assert 'action="/console/learnings/' not in mine.text  # read-only: no action forms
        hidden = await other.get(f"/console/learnings/{copy}")
        assert hidden.status_code == 404 and MISTAKE not in hidden.text
    async with httpx.AsyncClient(transport=client._transport, base_url="http://test") as other:
        await console_sign_in(other, stranger)
        assert (await other.get(f"/console/learnings/{canonical}")).status_code == 404


async def test_actions_change_what_they_say_and_are_audited(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    writer = await make_key(scopes="read,write")
    written = await _seed(client, writer)
    csrf = await console_sign_in(client, writer)
    decision = _learning(written["first"], DECISION)
    pattern = _learning(written["first"], "Wrap every scheduler job in a single transaction.")
    step = _learning(written["first"], "Add a dashboard for the scheduler queue depth.")

    # Missing or wrong CSRF token: 403, nothing changed.
    for token in ("", "0" * 64):
        refused = await client.post(
            f"/console/learnings/{decision}/feedback", data={"csrf": token, "value": "wrong"}
        )
        assert refused.status_code == 403
        gone = await client.post(f"/console/learnings/{decision}/forget", data={"csrf": token})
        assert gone.status_code == 403
    assert _rows(clean_db, "SELECT count(*) FROM learning_feedback") == [(0,)]
    assert _rows(clean_db, "SELECT count(*) FROM learnings WHERE id = %s", decision) == [(1,)]

    # Mark outdated with a note.
    done = await client.post(
        f"/console/learnings/{decision}/feedback",
        data={"csrf": csrf, "value": "outdated", "note": "we moved to Redis"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _rows(clean_db, "SELECT value, note, writer FROM learning_feedback") == [
        ("outdated", "we moved to Redis", True)
    ]
    page = (await client.get(done.headers["location"])).text
    assert (
        "Reported outdated." in page and "reported outdated" in page and "we moved to Redis" in page
    )
    # The audit trail names other keys: a writer does not see it, an admin does.
    assert "learning.feedback" not in page
    assert "shown to admin keys without a project limit" in page
    admin = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with admin:
        await console_sign_in(admin, await make_key(scopes="read,write,admin"))
        assert "learning.feedback" in (await admin.get(done.headers["location"])).text
    bad = await client.post(
        f"/console/learnings/{decision}/feedback", data={"csrf": csrf, "value": "helpful"}
    )
    assert bad.status_code == 422

    # Supersede by a short id of a later learning of the same project, then undo.
    later = await write_handoff(
        client,
        writer,
        WIDGETS,
        "## Decisions\n- The job scheduler now takes Redis locks.\n",
        recipient="widgets-main",
    )
    newer = str(later["learnings"][0]["id"])
    short = newer.replace("-", "")[-10:]
    moved = await client.post(
        f"/console/learnings/{decision}/supersede",
        data={"csrf": csrf, "by": short},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert _rows(
        clean_db,
        "SELECT superseded_by::text, superseded_how FROM learnings WHERE id = %s",
        decision,
    ) == [(newer, "explicit")]
    page = (await client.get(f"/console/learnings/{decision}")).text
    assert (
        f'Superseded by <a href="/console/learnings/{newer}">' in page
        and "Undo supersession" in page
    )
    undo = await client.post(
        f"/console/learnings/{decision}/unsupersede", data={"csrf": csrf}, follow_redirects=True
    )
    assert undo.status_code == 200 and "Supersession undone" in undo.text
    assert _rows(clean_db, "SELECT superseded_by FROM learnings WHERE id = %s", decision) == [
        (None,)
    ]
    # An earlier learning does not supersede a later one: 422, nothing changed.
    backwards = await client.post(
        f"/console/learnings/{newer}/supersede", data={"csrf": csrf, "by": pattern}
    )
    assert backwards.status_code == 422
    assert _rows(clean_db, "SELECT superseded_by FROM learnings WHERE id = %s", newer) == [(None,)]

    # A read-only key: no forms, and a forged post with its own session's token is a 403.
    reader = await make_key(scopes="read")
    async with httpx.AsyncClient(transport=client._transport, base_url="http://test") as other:
        token = await console_sign_in(other, reader)
        view = (await other.get(f"/console/learnings/{step}")).text
        assert "Forget" not in view and "Mark wrong" not in view
        forged = await other.post(f"/console/learnings/{step}/forget", data={"csrf": token})
        assert forged.status_code == 403
    assert _rows(clean_db, "SELECT count(*) FROM learnings WHERE id = %s", step) == [(1,)]

    # Forget: the learning goes, a page says so, the trail has it.
    page = (await client.get(f"/console/learnings/{step}")).text
    forgotten = await client.post(
        f"/console/learnings/{step}/forget", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert (
        forgotten.status_code == 303
        and forgotten.headers["location"] == "/console/forgotten?deleted=1"
    )
    assert "The learning was forgotten" in (await client.get(forgotten.headers["location"])).text
    assert (await client.get(f"/console/learnings/{step}")).status_code == 404
    actions = _rows(
        clean_db,
        "SELECT action FROM audit_events WHERE target_id IN (%s, %s) ORDER BY id",
        decision,
        step,
    )
    assert [a for (a,) in actions] == [
        "learning.feedback",
        "learning.supersede",
        "learning.unsupersede",
        "learning.forget",
    ]


async def test_imported_learning_says_where_it_came_from(
    client: httpx.AsyncClient, make_key: MakeKey, clean_db: str
) -> None:
    """A learning from an import of an agent's own memory (`memory import --from`) says so, in
    the API and on its page: the handoff's front matter `imported_from` and `source`."""
    admin = await make_key(scopes="read,write,admin")
    imported = await write_handoff(
        client,
        admin,
        WIDGETS,
        "---\nimported_from: claude-code\nsource: ~/.claude/projects/-w/memory/feedback_db.md\n"
        f"---\n## Mistakes\n- {MISTAKE}\n",
        recipient="memory-import",
        status="read",
    )
    written = await write_handoff(
        client, admin, WIDGETS, f"## Decisions\n- {DECISION}\n", recipient="widgets-main"
    )
    headers = {"Authorization": f"Bearer {admin}"}
    got = await client.get(f"/v1/learnings/{_learning(imported, MISTAKE)}", headers=headers)
    assert got.json()["imported_from"] == "claude-code"
    plain = await client.get(f"/v1/learnings/{_learning(written, DECISION)}", headers=headers)
    assert plain.json()["imported_from"] is None

    await console_sign_in(client, admin)
    page = (await client.get(f"/console/learnings/{_learning(imported, MISTAKE)}")).text
    assert "imported from claude-code" in page
    assert "~/.claude/projects/-w/memory/feedback_db.md" in page
    other = (await client.get(f"/console/learnings/{_learning(written, DECISION)}")).text
    assert "imported from" not in other
