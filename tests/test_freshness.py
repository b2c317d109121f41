"""Evidence at write and freshness at read (issue 18, points 1 and 2), against the real database,
the real model and real git repositories: a write carrying the writer's blob ids stores them
with each learning's citations; `GET /v1/cited-paths` names what a reader looks up; a search,
brief, recall or check carrying the reader's `checkout` says each learning's `freshness`
(verified, changed, missing, unknown), and the brief badges and demotes the stale ones. Bad
input is a 422 (or 403) that changes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import PROJECT, MakeKey, auth, write_handoff

OTHER = "github.com/acme/gadgets"
BODY = """# Billing notes

## What NOT to do
- Never call the legacy exporter from `src/export.py:40` inside a request; it blocks the loop.
- Do not cache prices in `src/prices.py` for longer than five minutes; stale prices were served.
- Avoid retrying webhooks from `src/hooks.py`; Stripe already retries them.

## Decisions
- We keep invoices as PDFs rendered at write time; regenerating them was slow.
"""


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return out.stdout


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q")
    for name in ("export.py", "prices.py", "hooks.py"):
        (repo / "src" / name).write_text(f"# {name}\n")
    commit(repo, "first")
    return repo


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", message)


def blobs(repo: Path, paths: list[str]) -> dict[str, str | None]:
    """Each path's blob id in the repository's index (None: no such file)."""
    listed = git(repo, "ls-files", "-s", "--", *paths)
    found = {}
    for line in listed.splitlines():
        meta, path = line.split("\t", 1)
        found[path] = meta.split()[1]
    return {p: found.get(p) for p in paths}


PATHS = ["src/export.py", "src/prices.py", "src/hooks.py"]


async def search(client: httpx.AsyncClient, key: str, **body: Any) -> list[dict[str, Any]]:
    r = await client.post("/v1/search", headers=auth(key), json={"k": 10, **body})
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def by_path(results: list[dict[str, Any]]) -> dict[str, str]:
    """Each result's freshness, keyed by the file its text names."""
    out = {}
    for r in results:
        for path in [*PATHS, "invoices"]:
            if path.rsplit("/", 1)[-1].split(".")[0] in r["text"]:
                out[path] = r["freshness"]
    return out


async def test_write_keeps_each_learnings_evidence(
    client: httpx.AsyncClient, key: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    sent = {p: b for p, b in blobs(repo, PATHS).items() if b}
    created = await write_handoff(client, key, PROJECT, BODY, git={"blobs": sent})
    learnings = created["learnings"]
    first = (await client.get(f"/v1/learnings/{learnings[0]['id']}", headers=auth(key))).json()
    assert first["citations"] == [
        {"path": "src/export.py", "blob": sent["src/export.py"], "line": 40, "symbol": None}
    ]
    decision = (await client.get(f"/v1/learnings/{learnings[3]['id']}", headers=auth(key))).json()
    assert decision["citations"] == []
    # Without git state: the same citations, without blobs.
    plain = await write_handoff(client, key, OTHER, BODY)
    got = await client.get(f"/v1/learnings/{plain['learnings'][1]['id']}", headers=auth(key))
    assert got.json()["citations"] == [
        {"path": "src/prices.py", "blob": None, "line": None, "symbol": None}
    ]


@pytest.mark.parametrize(
    "git_state",
    [
        {"blobs": {"src/a.py": "xyz"}},
        {"blobs": {"src/a.py": "A" * 40}},
        {"blobs": {"x" * 501: "a" * 40}},
        {"blobs": {f"src/{i}.py": "a" * 40 for i in range(2001)}},
        {"blobs": {}, "extra": 1},
        {"paths": ["src/a.py"]},
    ],
    ids=["short-blob", "upper-hex", "long-path", "too-many", "extra-field", "unknown-field"],
)
async def test_bad_git_state_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, key: str, git_state: dict[str, Any]
) -> None:
    await write_handoff(client, key, PROJECT, BODY, git=git_state, expect=422)
    listed = await client.get("/v1/handoffs", headers=auth(key))
    assert listed.json()["items"] == []


async def test_freshness_in_search_follows_the_readers_checkout(
    client: httpx.AsyncClient, key: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    sent = {p: b for p, b in blobs(repo, PATHS).items() if b}
    await write_handoff(client, key, PROJECT, BODY, git={"blobs": sent})
    await write_handoff(
        client,
        key,
        OTHER,
        "## Gotchas\n- Never call the gadget exporter from `src/export.py` in a request.\n",
        git={"blobs": {"src/export.py": sent["src/export.py"]}},
    )
    cited = await client.get("/v1/cited-paths", params={"project": PROJECT}, headers=auth(key))
    assert cited.status_code == 200
    assert sorted(cited.json()["paths"]) == sorted(PATHS)

    # Untouched: every cited file as it was.
    checkout = {"project": PROJECT, "files": blobs(repo, cited.json()["paths"])}
    query = {"query": "exporter prices webhooks invoices", "project": PROJECT}
    assert set(by_path(await search(client, key, **query, checkout=checkout)).values()) == {
        "verified",
        "unknown",  # the decision cites nothing
    }

    # One file rewritten, one deleted, one untouched.
    (repo / "src" / "prices.py").write_text("# prices, rewritten\n")
    (repo / "src" / "hooks.py").unlink()
    commit(repo, "rewrite prices, drop hooks")
    checkout = {"project": PROJECT, "files": blobs(repo, cited.json()["paths"])}
    results = await search(client, key, **query, checkout=checkout)
    assert by_path(results) == {
        "src/export.py": "verified",
        "src/prices.py": "changed",
        "src/hooks.py": "missing",
        "invoices": "unknown",
    }
    stale = {r["freshness"]: r["freshness_paths"] for r in results}
    assert stale["missing"] == ["src/hooks.py"] and stale["changed"] == ["src/prices.py"]

    # Another project's learning (same path, same blob) is `unknown`: not this checkout's.
    everywhere = await search(client, key, query="gadget exporter request", checkout=checkout)
    gadget = [r for r in everywhere if r["project"] == OTHER]
    assert gadget and {r["freshness"] for r in gadget} == {"unknown"}
    # A path the client did not send: `unknown`, not `missing`.
    partial = {"project": PROJECT, "files": {"src/prices.py": None}}
    assert by_path(await search(client, key, **query, checkout=partial))["src/export.py"] == (
        "unknown"
    )
    # No checkout: today's behaviour, everything `unknown`.
    assert set(by_path(await search(client, key, **query)).values()) == {"unknown"}


async def test_brief_badges_and_demotes_learnings_whose_file_is_gone(
    client: httpx.AsyncClient, key: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    (repo / "src" / "ledger.py").write_text("# ledger\n")
    commit(repo, "ledger")
    paths = ["src/ledger.py", "src/hooks.py"]
    body = (
        "## What NOT to do\n"
        "- Never round currency amounts with floats in `src/ledger.py`; use integer cents.\n"
        "- Never round currency amounts with floats in `src/hooks.py`; use integer cents.\n"
    )
    sent = {p: b for p, b in blobs(repo, paths).items() if b}
    await write_handoff(client, key, PROJECT, body, recipient="elsewhere", git={"blobs": sent})
    request = {
        "project": PROJECT,
        "worktree": "widgets",
        "task": "round currency amounts with floats",
    }
    before = (await client.post("/v1/brief", headers=auth(key), json=request)).json()
    assert "since" not in before["markdown"]
    (repo / "src" / "hooks.py").unlink()
    (repo / "src" / "ledger.py").write_text("# ledger v2\n")
    commit(repo, "drop hooks, rewrite ledger")
    checkout = {"project": PROJECT, "files": blobs(repo, paths)}
    brief = (
        await client.post("/v1/brief", headers=auth(key), json={**request, "checkout": checkout})
    ).json()
    md = brief["markdown"]
    assert "(file deleted since: `src/hooks.py`)" in md
    assert "(file changed since: `src/ledger.py`)" in md
    order = [r["freshness"] for r in brief["learnings"]]
    assert order == ["changed", "missing"]

    # The same with the ledger untouched: verified first, the deleted one after it, whatever
    # order the search gave.
    git(repo, "checkout", "-q", "HEAD~1", "--", "src/ledger.py")
    commit(repo, "restore ledger")
    checkout = {"project": PROJECT, "files": blobs(repo, paths)}
    brief = (
        await client.post("/v1/brief", headers=auth(key), json={**request, "checkout": checkout})
    ).json()
    assert [r["freshness"] for r in brief["learnings"]] == ["verified", "missing"]
    assert "file changed since" not in brief["markdown"]


async def test_recall_and_check_carry_freshness(
    client: httpx.AsyncClient, key: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    (repo / "deploy.sh").write_text("terraform apply\n")
    commit(repo, "deploy")
    body = (
        "## What NOT to do\n"
        "- `terraform apply -target=module.network` from `deploy.sh` deleted the NAT gateway "
        "and took production offline; plan first.\n"
    )
    sent = {p: b for p, b in blobs(repo, ["deploy.sh"]).items() if b}
    await write_handoff(client, key, PROJECT, body, git={"blobs": sent})
    (repo / "deploy.sh").unlink()
    commit(repo, "drop deploy.sh")
    checkout = {"project": PROJECT, "files": blobs(repo, ["deploy.sh"])}
    check = await client.post(
        "/v1/check",
        headers=auth(key),
        json={
            "command": "terraform apply -target=module.network",
            "project": PROJECT,
            "checkout": checkout,
        },
    )
    assert check.status_code == 200, check.text
    assert [r["freshness"] for r in check.json()["results"]] == ["missing"]
    recall = await client.post(
        "/v1/recall",
        headers=auth(key),
        json={
            "text": "run terraform apply on the network module to fix the NAT gateway",
            "project": PROJECT,
            "checkout": checkout,
        },
    )
    assert recall.status_code == 200, recall.text
    assert [r["freshness"] for r in recall.json()["results"]] == ["missing"]


@pytest.mark.parametrize(
    "checkout",
    [
        {"project": PROJECT, "files": {f"src/{i}.py": None for i in range(501)}},
        {"project": PROJECT, "files": {"src/a.py": "nothex"}},
        {"project": "../etc", "files": {}},
        {"files": {}},
    ],
    ids=["too-many", "bad-blob", "bad-project", "no-project"],
)
async def test_bad_checkout_is_a_422(
    client: httpx.AsyncClient, key: str, checkout: dict[str, Any]
) -> None:
    for route, body in (
        ("/v1/search", {"query": "exporter"}),
        ("/v1/brief", {"project": PROJECT, "worktree": "widgets"}),
        ("/v1/recall", {"text": "fix the exporter in the billing request path"}),
        ("/v1/check", {"command": "terraform apply"}),
    ):
        r = await client.post(route, headers=auth(key), json={**body, "checkout": checkout})
        assert r.status_code in (413, 422), (route, r.text)


async def test_cited_paths_refuses_what_the_key_may_not_read(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    limited = await make_key(projects=[OTHER])
    r = await client.get("/v1/cited-paths", params={"project": PROJECT}, headers=auth(limited))
    assert r.status_code == 403
    r = await client.get("/v1/cited-paths", params={"project": "../x"}, headers=auth(limited))
    assert r.status_code == 422
    r = await client.get(
        "/v1/cited-paths", params={"project": OTHER, "limit": 0}, headers=auth(limited)
    )
    assert r.status_code == 422
