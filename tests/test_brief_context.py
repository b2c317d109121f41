"""The start-up brief without a task, from what the checkout says (branch, latest commits,
changed paths, the delivered handoffs' next steps), against the real database and model: the
checkout pulls in the learning its work needs; off-topic or empty context falls back to the
project's most repeated learnings and says so; a context out of bounds is a 422 that changes
nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import MakeKey, auth, write_handoff

DEV_SET = Path(__file__).resolve().parent / "data" / "dev_eval.json"
LANTERN = "github.com/mossgrove-studio/lantern-drift"
WIDGETS = "github.com/acme/widgets"


@pytest.fixture
async def lantern_key(client: httpx.AsyncClient, make_key: MakeKey) -> str:
    """A team holding the dev set's lantern-drift handoffs (GC stutter, save system, R8 crash,
    fixed timestep), each in its own worktree's inbox."""
    key = await make_key()
    for h in json.loads(DEV_SET.read_text())["handoffs"]:
        if h["id"] in ("h06", "h07", "h08", "h09"):
            await write_handoff(
                client,
                key,
                h["project"],
                h["body"],
                recipient=f"{h['worktree']}-{h['id']}",
                created_at=h["created"],
            )
    return key


async def brief(client: httpx.AsyncClient, key: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/brief", json=body, headers=auth(key))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_checkout_context_picks_the_learnings_without_a_task(
    client: httpx.AsyncClient, lantern_key: str
) -> None:
    checkout = {
        "project": LANTERN,
        "worktree": "lantern-drift",
        "branch": "feat/daily-challenge",
        "context": {
            "commits": ["Record inputs for daily challenge runs", "Seed enemy waves by date"],
            "changed_paths": [
                "core/src/main/kotlin/replay/ReplayRecorder.kt",
                "core/src/main/kotlin/game/EnemySpawner.kt",
            ],
        },
    }
    got = await brief(client, lantern_key, **checkout)
    assert (got["basis"], got["abstained"]) == ("checkout", False)
    assert "## Past learnings relevant to what this checkout is doing" in got["markdown"]
    texts = [x["text"] for x in got["learnings"]]
    assert any("without a seed" in t for t in texts[:3]), texts
    assert any("per physics tick" in t for t in texts[:5]), texts

    # The same checkout without its git context: the project's most repeated learnings.
    plain = await brief(client, lantern_key, project=LANTERN, worktree="lantern-drift")
    assert (plain["basis"], plain["abstained"]) == ("project", False)
    assert "## Past mistakes, decisions and patterns of this project" in plain["markdown"]
    assert {x["kind"] for x in plain["learnings"]} <= {"mistake", "decision", "pattern"}

    # A task still wins over the checkout.
    task = await brief(client, lantern_key, **checkout, task="bump the save database to v6")
    assert task["basis"] == "task"
    assert any("MigrationTestHelper" in x["text"] for x in task["learnings"][:5])


async def test_off_topic_or_empty_checkout_falls_back_and_says_so(
    client: httpx.AsyncClient, lantern_key: str
) -> None:
    off_topic = await brief(
        client,
        lantern_key,
        project=LANTERN,
        worktree="lantern-drift",
        branch="feat/credits-screen",
        context={
            "commits": ["Add a scrolling credits screen"],
            "changed_paths": ["core/src/main/kotlin/ui/CreditsScreen.kt"],
        },
    )
    assert (off_topic["basis"], off_topic["abstained"]) == ("project", True)
    assert "## Past mistakes, decisions and patterns of this project" in off_topic["markdown"]
    assert off_topic["learnings"]
    assert {x["project"] for x in off_topic["learnings"]} == {LANTERN}

    # A checkout that says nothing (main, nothing changed, no handoff): no search, no abstention.
    quiet = await brief(
        client,
        lantern_key,
        project=LANTERN,
        worktree="lantern-drift",
        branch="main",
        context={"commits": ["wip"], "changed_paths": []},
    )
    assert (quiet["basis"], quiet["abstained"]) == ("project", False)


async def test_delivered_next_steps_are_part_of_the_query(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key()
    await write_handoff(
        client,
        key,
        WIDGETS,
        "## What NOT to do\n"
        "- Don't run the `orders` backfill without `--batch-size`; it locked the `orders` table "
        "for 20 minutes in production.\n"
        "## Decisions\n"
        "- Invoice PDFs are rendered by WeasyPrint in a worker, never in the request.\n"
        "- Prices are stored as integer cents, never as floats.\n",
        recipient="widgets-billing",
    )
    await write_handoff(
        client,
        key,
        WIDGETS,
        "## Next steps\n- Backfill `orders.currency` for the legacy rows before the release.\n",
        recipient="widgets",
    )
    got = await brief(client, key, project=WIDGETS, worktree="widgets", branch="main")
    assert len(got["handoffs"]) == 1
    assert (got["basis"], got["abstained"]) == ("checkout", False)
    assert "--batch-size" in got["learnings"][0]["text"]
    # The delivered handoff's own point is shown once, in the handoff, not again below.
    assert got["markdown"].count("Backfill `orders.currency`") == 1


@pytest.mark.parametrize(
    "context",
    [
        {"commits": ["subject"] * 11},
        {"commits": ["x" * 301]},
        {"commits": [""]},
        {"changed_paths": ["a.py"] * 51},
        {"changed_paths": ["p" * 501]},
        {"changed_paths": "src/a.py"},
        {"commits": [], "files": ["a.py"]},
        "feat/x",
    ],
)
async def test_context_out_of_bounds_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, make_key: MakeKey, context: Any
) -> None:
    key = await make_key()
    await write_handoff(client, key, WIDGETS, "## Decisions\n- Use cents.\n", recipient="widgets")
    response = await client.post(
        "/v1/brief",
        json={"project": WIDGETS, "worktree": "widgets", "context": context},
        headers=auth(key),
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"]
    inbox = await client.get(
        "/v1/inbox", params={"project": WIDGETS, "worktree": "widgets"}, headers=auth(key)
    )
    assert len(inbox.json()["handoffs"]) == 1  # still unread: nothing was claimed
