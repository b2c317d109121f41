"""The client's side of evidence and freshness (issue 18), in real git repositories against a
real server: `memory handoff write` sends the blob ids of the files the body cites (one git
command), and `memory search`, `memory brief`, `memory recall`, `memory check` and the Claude
Code hooks send the checkout's blobs of the paths the project's learnings cite, so each
learning says whether its files are as they were, changed or gone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import TextContent
from memory_client import MemoryClient
from memory_client.evidence import blob_ids, candidate_paths

from tests.clients.helpers import MEMORY_BIN, git, run_memory
from tests.helpers import PROJECT

HANDOFF = """---
to: elsewhere
---
# Billing

## What NOT to do
- Never call the legacy exporter from `src/export.py:40` inside a request; it blocks the loop.
- Do not cache prices in src/prices.py for longer than five minutes; stale prices were served.
- Avoid retrying webhooks from `src/hooks.py`; Stripe already retries them.
- Never run `terraform apply` without a plan; it deleted the NAT gateway once.
"""


def add_files(repo: Path) -> None:
    (repo / "src").mkdir()
    for name in ("export.py", "prices.py", "hooks.py"):
        (repo / "src" / name).write_text(f"# {name}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "billing")


def learnings(server_url: str, key: str, handoff_id: str) -> list[dict[str, Any]]:
    with MemoryClient(server_url, key) as client:
        handoff = client.get_handoff(handoff_id)
        return [client.get_learning(x.id).model_dump(mode="json") for x in handoff.learnings]


def freshness_by_file(results: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for r in results:
        for name in ("export", "prices", "hooks", "terraform"):
            if name in r["text"]:
                out[name] = r["freshness"]
    return out


def test_write_sends_blob_ids_and_reads_say_what_changed(
    repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    add_files(repo)
    done = run_memory("handoff", "write", "--json", cwd=repo, env=cli_env, input=HANDOFF)
    assert done.returncode == 0, done.stderr
    stored = learnings(server_url, cli_env["MEMORY_API_KEY"], json.loads(done.stdout)["id"])
    index = {
        line.split("\t")[1]: line.split()[1] for line in git(repo, "ls-files", "-s").splitlines()
    }
    cited = {c["path"]: c["blob"] for x in stored for c in x["citations"]}
    assert cited == {p: index[p] for p in ("src/export.py", "src/prices.py", "src/hooks.py")}

    # One file rewritten, one deleted, one untouched; the command is run from a subfolder.
    (repo / "src" / "prices.py").write_text("# prices, rewritten\n")
    git(repo, "rm", "-q", "src/hooks.py")
    git(repo, "commit", "-q", "-am", "rewrite prices, drop hooks")
    where = repo / "src"
    found = run_memory("search", "--json", "exporter prices webhooks", cwd=where, env=cli_env)
    assert found.returncode == 0, found.stderr
    assert freshness_by_file(json.loads(found.stdout)["results"]) == {
        "export": "verified",
        "prices": "changed",
        "hooks": "missing",
    }
    plain = run_memory("search", "exporter prices webhooks", cwd=where, env=cli_env).stdout
    assert "file deleted since: src/hooks.py" in plain and "cited files unchanged" in plain
    brief = run_memory(
        "brief", "--task", "retry the stripe webhooks from the hooks module", cwd=where, env=cli_env
    )
    assert brief.returncode == 0, brief.stderr
    assert "(file deleted since: `src/hooks.py`)" in brief.stdout

    # The start-up hook sends the same checkout.
    payload = json.dumps({"cwd": str(repo), "session_id": "s-1", "source": "startup"})
    out = run_memory("hook", "claude-code", cwd=repo, env=cli_env, input=payload)
    context = json.loads(out.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "file deleted since" in context and "file changed since" in context

    check = run_memory("check", "--json", "--", "terraform", "apply", cwd=repo, env=cli_env)
    results = json.loads(check.stdout)["results"]
    assert results and {r["freshness"] for r in results} == {"unknown"}  # it cites no file


def test_outside_git_nothing_is_sent(
    tmp_path: Path, cli_env: dict[str, str], server_url: str
) -> None:
    plain = tmp_path / "plain"
    (plain / "src").mkdir(parents=True)
    (plain / "src" / "export.py").write_text("x\n")
    done = run_memory(
        "handoff", "write", "--json", "--project", PROJECT, cwd=plain, env=cli_env, input=HANDOFF
    )
    assert done.returncode == 0, done.stderr
    stored = learnings(server_url, cli_env["MEMORY_API_KEY"], json.loads(done.stdout)["id"])
    assert {c["blob"] for x in stored for c in x["citations"]} == {None}
    found = run_memory("search", "--json", "--project", PROJECT, "exporter", cwd=plain, env=cli_env)
    assert {r["freshness"] for r in json.loads(found.stdout)["results"]} == {"unknown"}


def test_one_lookup_handles_odd_names_and_directories(repo: Path) -> None:
    odd = ["we ird*.py", ":colon.py", "-dash.py", "ünï.py"]
    for name in odd:
        (repo / name).write_text(name)
    (repo / "dir").mkdir()
    (repo / "dir" / "x.py").write_text("x")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "odd")
    found = blob_ids(repo / "dir", [*odd, "dir", "nope.py", "README.md", "*.py"])
    assert found is not None
    assert all(found[name] for name in [*odd, "README.md"])
    assert found["dir"] is None and found["nope.py"] is None and found["*.py"] is None
    assert blob_ids(repo.parent, ["README.md"]) is None  # not a checkout


def test_candidate_paths_are_bounded() -> None:
    body = " ".join(f"src/f{i}.py" for i in range(5000)) + " " + "a/" * 10_000
    assert len(candidate_paths(body)) == 1000
    assert candidate_paths("see `src/a.py:4`, ../x.py, /etc/passwd and https://x/y.py") == [
        "src/a.py"
    ]


async def test_mcp_write_and_search_carry_the_evidence(
    repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    add_files(repo)
    params = StdioServerParameters(command=str(MEMORY_BIN), args=["mcp"], env=cli_env, cwd=repo)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        written = await session.call_tool("write_handoff", {"body": HANDOFF})
        assert not written.is_error, written.content
        git(repo, "rm", "-q", "src/export.py")
        git(repo, "commit", "-q", "-m", "drop the exporter")
        found = await session.call_tool("search", {"query": "legacy exporter in a request"})
        out = "\n".join(c.text for c in found.content if isinstance(c, TextContent))
    assert "file deleted since: src/export.py" in out
