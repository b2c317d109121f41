"""Later knowledge replaces earlier knowledge (learnings/supersession.py): explicit
supersession over REST, correction sections, the measured rule's bands, next steps a later
handoff lists as done, and how search and the brief show all of it."""

from __future__ import annotations

from typing import Any

import httpx

from memory_service.learnings.supersession import decide_rule, says_change
from memory_service.timeline_eval import TimelineSet, evaluate
from tests.helpers import MakeKey, auth, write_handoff

P = "github.com/acme/shop"
Q = "github.com/acme/blog"


async def learnings_of(
    client: httpx.AsyncClient, key: str, body: str, project: str = P, **extra: Any
) -> list[dict[str, Any]]:
    created = await write_handoff(client, key, project, body, recipient="main", **extra)
    result: list[dict[str, Any]] = created["learnings"]
    return result


async def get(client: httpx.AsyncClient, key: str, learning_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/learnings/{learning_id}", headers=auth(key))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def supersede(client: httpx.AsyncClient, key: str, old: str, by: str) -> httpx.Response:
    return await client.post(f"/v1/learnings/{old}/supersede", json={"by": by}, headers=auth(key))


async def audit_actions(client: httpx.AsyncClient, admin: str) -> list[str]:
    response = await client.get("/v1/audit", headers=auth(admin))
    assert response.status_code == 200, response.text
    return [row["action"] for row in response.json()["items"]]


async def search(client: httpx.AsyncClient, key: str, query: str) -> list[dict[str, Any]]:
    response = await client.post(
        "/v1/search", json={"query": query, "project": P}, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


async def test_explicit_supersession_and_undo(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    key = await make_key(scopes="read,write,admin")
    (old,) = await learnings_of(
        client, key, "## Decisions\n- Store sessions in Redis with a one hour TTL.\n"
    )
    (new,) = await learnings_of(
        client, key, "## Decisions\n- Billing exports run nightly as CSV files to S3.\n"
    )
    response = await supersede(client, key, old["id"], new["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["superseded_by"] == new["id"]
    assert body["superseded_how"] == "explicit"
    # Search shows the field, and the old one below its successor.
    results = await search(client, key, "Redis sessions TTL")
    by_id = {r["id"]: r for r in results}
    assert by_id[old["id"]]["superseded_by"] == new["id"]
    ids = [r["id"] for r in results]
    if new["id"] in ids:
        assert ids.index(new["id"]) < ids.index(old["id"])
    undone = await client.delete(f"/v1/learnings/{old['id']}/supersede", headers=auth(key))
    assert undone.status_code == 200, undone.text
    assert undone.json()["superseded_by"] is None
    again = await client.delete(f"/v1/learnings/{old['id']}/supersede", headers=auth(key))
    assert again.status_code == 409
    actions = await audit_actions(client, key)
    assert "learning.supersede" in actions and "learning.unsupersede" in actions


async def test_bad_supersessions_change_nothing(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key()
    other_team = await make_key(team="beta")
    reader = await make_key(scopes="read")
    a, b, c = [
        (await learnings_of(client, key, f"## Decisions\n- {text}\n"))[0]
        for text in (
            "Use Postgres advisory locks for the job queue.",
            "Image thumbnails are generated lazily on first request.",
            "Feature flags live in a YAML file in the repository.",
        )
    ]
    (newest,) = await learnings_of(
        client, key, "## Decisions\n- Emails are sent through Postmark.\n"
    )
    (elsewhere,) = await learnings_of(
        client, key, "## Decisions\n- Posts are rendered to static HTML.\n", project=Q
    )
    (foreign,) = await learnings_of(
        client, other_team, "## Decisions\n- Beta's own decision about queues.\n"
    )
    assert (await supersede(client, key, a["id"], b["id"])).status_code == 200
    assert (await supersede(client, key, b["id"], c["id"])).status_code == 200
    cases = [
        (c["id"], a["id"], 409),  # a -> b -> c: c replaced by a closes a cycle
        (b["id"], a["id"], 409),
        (a["id"], a["id"], 422),  # itself
        (newest["id"], a["id"], 422),  # by an older learning
        (a["id"], elsewhere["id"], 422),  # another project
        (a["id"], foreign["id"], 404),  # another team's id: never revealed
        (foreign["id"], a["id"], 404),
        (a["id"], "00000000-0000-0000-0000-000000000000", 404),
    ]
    for old, by, status in cases:
        response = await supersede(client, key, old, by)
        assert response.status_code == status, (old, by, response.text)
    assert (await supersede(client, reader, a["id"], c["id"])).status_code == 403
    assert (await get(client, key, a["id"]))["superseded_by"] == b["id"]
    assert (await get(client, key, b["id"]))["superseded_by"] == c["id"]
    assert (await get(client, key, c["id"]))["superseded_by"] is None
    # A forgotten learning can be neither replaced nor a replacement.
    assert (await client.delete(f"/v1/learnings/{c['id']}", headers=auth(key))).status_code == 200
    assert (await supersede(client, key, c["id"], a["id"])).status_code == 404


async def test_correction_section_supersedes_what_it_corrects(
    client: httpx.AsyncClient, key: str
) -> None:
    (old, kept) = await learnings_of(
        client,
        key,
        "## Decisions\n"
        "- Use MongoDB for the product catalogue because the schema changes often.\n"
        "- Prices are stored as integer cents, never floats.\n",
    )
    (correction,) = await learnings_of(
        client,
        key,
        "## Reverted\n"
        "- The product catalogue moved back from MongoDB to Postgres: joins with orders "
        "were too slow.\n",
    )
    assert correction["kind"] == "decision"
    stored = await get(client, key, old["id"])
    assert stored["superseded_by"] == correction["id"]
    assert stored["superseded_how"] == "section"
    assert (await get(client, key, kept["id"]))["superseded_by"] is None
    results = await search(client, key, "which database holds the product catalogue")
    ids = [r["id"] for r in results]
    assert correction["id"] in ids
    if old["id"] in ids:
        assert ids.index(correction["id"]) < ids.index(old["id"])


def test_rule_bands() -> None:
    # A near-duplicate is linked as one instead.
    assert decide_rule(0.95, shared_evidence=True, cued=True) is None
    assert decide_rule(0.60, shared_evidence=False, cued=True) == "superseded"
    assert decide_rule(0.75, shared_evidence=True, cued=False) == "superseded"
    assert decide_rule(0.89, shared_evidence=False, cued=False) == "newer"
    assert decide_rule(0.60, shared_evidence=False, cued=False) is None
    assert decide_rule(0.40, shared_evidence=True, cued=True) is None
    assert says_change("Sessions are no longer kept in Redis")
    assert not says_change("Evaluation datasets are versioned with DVC")


async def test_rule_confident_and_unsure_over_http(client: httpx.AsyncClient, key: str) -> None:
    (cache, dvc) = await learnings_of(
        client,
        key,
        "## Decisions\n"
        "- Styling uses CSS Modules, one `.module.css` per component.\n"
        "- Training data is versioned with DVC in `data/`.\n",
    )
    (moved, neighbour) = await learnings_of(
        client,
        key,
        "## Decisions\n"
        "- Styling moves to Tailwind CSS; CSS Modules only in legacy components.\n"
        "- Evaluation datasets are versioned with DVC next to the training data.\n",
    )
    replaced = await get(client, key, cache["id"])
    assert (replaced["superseded_by"], replaced["superseded_how"]) == (moved["id"], "rule")
    unsure = await get(client, key, dvc["id"])
    assert unsure["superseded_by"] is None
    assert unsure["newer_id"] == neighbour["id"]
    # The brief shows the unsure one with the newer learning next to it, and not the replaced.
    brief = await client.post("/v1/brief", json={"project": P, "worktree": "w1"}, headers=auth(key))
    assert brief.status_code == 200, brief.text
    markdown = brief.json()["markdown"]
    assert "Training data is versioned with DVC" in markdown
    assert "  - newer: Evaluation datasets are versioned with DVC" in markdown
    assert "Styling uses CSS Modules" not in markdown
    assert "Styling moves to Tailwind CSS" in markdown


async def test_next_step_done_leaves_the_brief(client: httpx.AsyncClient, key: str) -> None:
    (step, other) = await learnings_of(
        client,
        key,
        "## Next Steps\n"
        "- Add rate limiting to the public checkout API.\n"
        "- Write the migration guide for the v2 webhooks.\n",
    )
    await learnings_of(
        client, key, "## Completed\n- Added rate limiting to the public checkout API.\n"
    )
    stored = await get(client, key, step["id"])
    assert stored["done_at"] is not None
    assert (await get(client, key, other["id"]))["done_at"] is None
    results = await search(client, key, "rate limiting checkout API")
    found = {r["id"]: r for r in results}
    assert found[step["id"]]["done"] is True
    brief = await client.post(
        "/v1/brief",
        json={"project": P, "worktree": "w2", "task": "rate limiting for the checkout API"},
        headers=auth(key),
    )
    assert brief.status_code == 200, brief.text
    shown = [x["id"] for x in brief.json()["learnings"]]
    assert step["id"] not in shown
    # A wrong done mark is undone (audited); twice is a 409.
    reopened = await client.delete(f"/v1/learnings/{step['id']}/done", headers=auth(key))
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["done_at"] is None
    again = await client.delete(f"/v1/learnings/{step['id']}/done", headers=auth(key))
    assert again.status_code == 409


async def test_timeline_evaluator_counts_what_happened(client: httpx.AsyncClient, key: str) -> None:
    data = TimelineSet.model_validate(
        {
            "id": "tiny",
            "timelines": [
                {
                    "name": "one",
                    "project": P,
                    "handoffs": [
                        {
                            "created": "2026-01-01T10:00:00Z",
                            "body": "## Decisions\n- Deploys go out with Ansible onto EC2.\n"
                            "- Prices are integer cents.\n"
                            "## Next Steps\n- Write the incident checklist.\n",
                        },
                        {
                            "created": "2026-01-05T10:00:00Z",
                            "body": "## Reverted\n- Ansible on EC2 is no longer how we deploy: "
                            "Helm charts on EKS.\n## Done\n- Wrote the incident checklist.\n",
                        },
                    ],
                    "supersedes": [{"old": "Ansible onto EC2", "new": "Helm", "how": "section"}],
                    "done": ["Write the incident checklist"],
                    "untouched": ["Prices are integer cents"],
                }
            ],
        }
    )
    report = await evaluate(client, key, data)
    assert report["section"] == {"expected": 1, "superseded": 1, "precision": 1.0, "recall": 1.0}
    assert report["done"]["recall"] == 1.0 and report["done"]["precision"] == 1.0
    assert report["untouched"]["replaced_or_done"] == 0
    assert report["search"]["superseded_above_successor"] == 0
    assert report["errors"] == []
