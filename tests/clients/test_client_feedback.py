"""Feedback from the client side (issue 18, point 4): `memory feedback SHORT_ID wrong --note`
and `--undo` against the real server, and the sync and async client methods."""

from __future__ import annotations

import json
from pathlib import Path

from memory_client import AsyncMemoryClient, MemoryClient
from memory_client.errors import NotFound, ValidationError

from tests.clients.helpers import run_memory

PROJECT = "github.com/acme/widgets"
HANDOFF = (
    "## What NOT to do\n"
    "- Don't cache error responses from the pricing API: one outage poisoned the cache.\n"
)


def test_cli_feedback_by_short_id_and_undo(
    repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    assert (
        run_memory(
            "handoff", "write", "--to", "elsewhere", cwd=repo, env=cli_env, input=HANDOFF
        ).returncode
        == 0
    )
    brief = json.loads(
        run_memory(
            "brief", "--task", "caching error responses", "--json", cwd=repo, env=cli_env
        ).stdout
    )
    [shown] = [x for x in brief["learnings"] if "pricing API" in x["text"]]
    short = shown["short_id"]
    assert f"id {short}" in brief["markdown"]

    done = run_memory(
        "feedback", short, "wrong", "--note", "we cache nothing now", cwd=repo, env=cli_env
    )
    assert done.returncode == 0, done.stderr
    assert f"Recorded wrong on learning {short}" in done.stdout
    assert "no longer appears in briefs" in done.stdout
    found = json.loads(
        run_memory("search", "caching error responses", "--json", cwd=repo, env=cli_env).stdout
    )
    assert shown["id"] not in [r["id"] for r in found["results"]]

    listed = MemoryClient(server_url, cli_env["MEMORY_API_KEY"]).list_feedback(short)
    [report] = listed.feedback
    assert (report.value, report.note, report.writer) == ("wrong", "we cache nothing now", True)
    undone = run_memory(
        "feedback", short, "--undo", str(report.id), "--json", cwd=repo, env=cli_env
    )
    assert undone.returncode == 0 and json.loads(undone.stdout)["undone_at"]
    assert run_memory("feedback", short, cwd=repo, env=cli_env).returncode == 2  # no value
    missing = run_memory("feedback", "0123456789", "helpful", cwd=repo, env=cli_env)
    assert missing.returncode == 1 and "no learning" in missing.stderr


async def test_client_methods(repo: Path, cli_env: dict[str, str], server_url: str) -> None:
    key = cli_env["MEMORY_API_KEY"]
    with MemoryClient(server_url, key) as client:
        client.create_handoff(PROJECT, HANDOFF, recipient="elsewhere")
        hit = client.search("caching error responses", project=PROJECT).results[0]
        out = client.feedback(hit.short_id, "outdated")
        assert out.outdated and out.learning_id == hit.id
        again = client.search("caching error responses", project=PROJECT).results[0]
        assert again.outdated and again.short_id == hit.short_id
        try:
            client.feedback(hit.id, "great")  # type: ignore[arg-type]
        except ValidationError:
            pass
        else:
            raise AssertionError("a bad value must be refused")
    async with AsyncMemoryClient(server_url, key) as aclient:
        undone = await aclient.undo_feedback(hit.id, out.id)
        assert undone.undone_at is not None and not undone.outdated
        helped = await aclient.feedback(hit.id, "helpful", note="yes")
        assert helped.helpful == 1
        try:
            await aclient.feedback("0123456789", "helpful")
        except NotFound:
            pass
        else:
            raise AssertionError("an unknown learning must be a 404")
