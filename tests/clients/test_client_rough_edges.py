"""Rough edges a new user hit (issue 20): handoffs listed by when they were written, the
inbox naming each handoff as its front matter does, output piped into a reader that stops
early, a server URL that is not a URL, and the Python client writing from a checkout."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from memory_client import ConfigurationError, MemoryClient
from memory_client.workspace import detect

from tests.clients.helpers import MEMORY_BIN, git, run_memory
from tests.helpers import PROJECT


def _handoff(name: str, description: str, created: str, extra: str = "") -> str:
    return f"""---
name: {name}
description: {description}
created: {created}
{extra}---
Handing off: {description.lower()}.

## Decisions
- {name} keeps its settings in `config/{name}.toml`, read once at start-up.

## Immediate next action
- Add the {name} metrics to the dashboard.
"""


def test_handoffs_and_the_inbox_go_by_when_they_were_written(
    repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    # Written later but sent first (an import, a slow network): `created` decides the order.
    later = _handoff("cache-layer", "Price cache in front of the pricing API", "2026-03-02T10:00Z")
    earlier = _handoff("retry-policy", "Retries of the payment client", "2026-03-01T10:00Z")
    for body in (later, earlier):
        written = run_memory("handoff", "write", cwd=repo, env=cli_env, input=body)
        assert written.returncode == 0, written.stderr

    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        page = client.list_handoffs(project=PROJECT)
        assert [h.name for h in page.items] == ["cache-layer", "retry-policy"]
        assert [h.description for h in page.items] == [
            "Price cache in front of the pricing API",
            "Retries of the payment client",
        ]
        first = client.list_handoffs(project=PROJECT, limit=1)
        assert first.next_cursor is not None
        second = client.list_handoffs(project=PROJECT, limit=1, cursor=first.next_cursor)
        assert [h.name for h in first.items + second.items] == ["cache-layer", "retry-policy"]

    listed = run_memory("handoff", "list", cwd=repo, env=cli_env)
    assert listed.stdout.index("cache-layer") < listed.stdout.index("retry-policy")

    # The inbox: oldest first, each under its name, with its description.
    peek = run_memory("inbox", cwd=repo, env=cli_env)
    assert peek.returncode == 0, peek.stderr
    lines = peek.stdout.splitlines()
    assert lines[1].startswith("- retry-policy from widgets, 2026-03-01 10:00 UTC"), peek.stdout
    assert lines[2].strip() == "Retries of the payment client"
    assert lines[3].startswith("- cache-layer from widgets, 2026-03-02 10:00 UTC"), peek.stdout
    assert lines[4].strip() == "Price cache in front of the pricing API"

    claimed = run_memory("inbox", "--claim", cwd=repo, env=cli_env)
    assert "## retry-policy from widgets, 2026-03-01" in claimed.stdout
    assert "Description: Retries of the payment client" in claimed.stdout
    assert claimed.stdout.index("retry-policy") < claimed.stdout.index("cache-layer")
    delivered = json.loads(run_memory("inbox", "--json", cwd=repo, env=cli_env).stdout)
    assert delivered == {"handoffs": []}


def test_json_into_a_reader_that_went_away_exits_quietly(
    repo: Path, cli_env: dict[str, str]
) -> None:
    """`memory ... --json | head`: the reader closes the pipe before everything is written."""
    body = _handoff("cache-layer", "Price cache in front of the pricing API", "2026-03-02T10:00Z")
    assert run_memory("handoff", "write", cwd=repo, env=cli_env, input=body).returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before the first byte is written: deterministic
    try:
        done = subprocess.run(
            [str(MEMORY_BIN), "inbox", "--json"],
            cwd=repo,
            env=cli_env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141  # 128 + SIGPIPE, as other command-line tools


@pytest.mark.parametrize("url", ["not-a-url", "localhost:8765", "ftp://example.com"])
def test_a_server_url_that_is_not_one_is_a_configuration_error(
    repo: Path, cli_env: dict[str, str], url: str
) -> None:
    done = run_memory("inbox", cwd=repo, env={**cli_env, "MEMORY_URL": url})
    assert done.returncode == 2, done.stderr
    assert f"MEMORY_URL: {url!r} is not" in done.stderr
    assert "attempts" not in done.stderr and "reach" not in done.stderr  # never retried
    with pytest.raises(ConfigurationError, match="base_url"):
        MemoryClient(url, "mem_x")


def test_create_handoff_from_a_checkout(repo: Path, server_url: str, key: str) -> None:
    git(repo, "checkout", "-q", "-b", "cache-metrics")
    (repo / "src").mkdir()
    (repo / "src" / "cache.py").write_text("TTL = 300\n")
    git(repo, "add", "src/cache.py")
    git(repo, "commit", "-q", "-m", "cache")
    head = git(repo, "rev-parse", "HEAD")
    body = "## Decisions\n- The cache TTL stays at 5 minutes (`src/cache.py`).\n"

    with MemoryClient(server_url, key) as client:
        created = client.create_handoff(detect(repo), body)
        stored = client.get_handoff(created.id)
        assert (stored.project, stored.recipient, stored.sender) == (PROJECT, "widgets", "widgets")
        assert (stored.branch, stored.head) == ("cache-metrics", head)
        # The front matter and explicit arguments still win over the checkout.
        other = client.create_handoff(
            detect(repo), "---\nto: billing\nbranch: main\n---\n" + body, topic="TTL"
        )
        stored = client.get_handoff(other.id)
        assert (stored.recipient, stored.branch, stored.head) == ("billing", "main", head)
        assert stored.topic == "TTL"
