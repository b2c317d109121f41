"""The `sh` and `python` blocks of clients/python/README.md, run in order as a user would:
in a git checkout, against the real server, with a HOME of their own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from memory_client import MemoryClient

from tests.helpers import PROJECT

README = Path(__file__).resolve().parents[2] / "clients" / "python" / "README.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.S | re.M)


def test_readme_blocks_run(
    repo: Path, cli_env: dict[str, str], home: Path, server_url: str
) -> None:
    blocks = BLOCK.findall(README.read_text())
    assert [lang for lang, _ in blocks].count("sh") >= 4
    outputs = []
    for lang, code in blocks:
        argv = (
            ["bash", "-euo", "pipefail", "-c", code]
            if lang == "sh"
            else [sys.executable, "-c", code]
        )
        done = subprocess.run(
            argv, cwd=repo, env=cli_env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"README block failed:\n{code}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    text = "\n".join(outputs)
    assert "Stored handoff" in text and "# Session brief: github.com/acme/widgets" in text
    assert "Forgot 1 learning(s)" in text
    assert "Imported 2, skipped 0" in text and "Imported 0, skipped 2" in text
    # agent-handoff's folder, named after this checkout's path: this project, then marked read.
    assert "unread github.com/acme/widgets → widgets" in text
    assert "Imported 1, skipped 0" in text and "Imported 0, marked read 1" in text
    # An agent's own memory: imported once, by kind (agent_memory.py).
    assert "pattern    Integration tests hit a real Postgres, not mocks." in text
    assert "1 learning(s) stored from 1 file(s)" in text
    assert "2 learning(s) stored from 1 file(s)" in text and "0 learning(s) stored" in text
    assert "not found: no handoff" in text and "unread" in text
    # Configured once: `memory login` checked the key and saved it for the agents' hooks.
    assert "the key is accepted" in text and "All good." in text
    config = home / ".config" / "memory" / "config.toml"
    assert config.stat().st_mode & 0o777 == 0o600
    assert tomllib.loads(config.read_text())["url"] == server_url

    # What the blocks left behind: install/uninstall pairs restored the agent files.
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert settings == {}
    assert not (home / ".claude" / "skills" / "handoff").exists()
    assert not (home / ".codex" / "AGENTS.md").exists()
    assert not (home / ".codex" / "config.toml").exists()
    assert not (home / ".codex" / "prompts" / "handoff.md").exists()
    assert not (home / ".agents" / "skills" / "handoff").exists()
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        assert client.list_handoffs(project=PROJECT, status="read").items


MAIN_README = README.parents[2] / "README.md"


def _documents(output: str) -> list[dict[str, Any]]:
    """The JSON documents curl printed one after the other (without separators)."""
    decoder = json.JSONDecoder()
    found, at = [], 0
    while at < len(output.strip()):
        document, at = decoder.raw_decode(output, at)
        found.append(document)
        while at < len(output) and output[at].isspace():
            at += 1
    return found


def test_main_readme_first_example_runs(
    repo: Path, cli_env: dict[str, str], home: Path, server_url: str
) -> None:
    """The README's first example, as a new user runs it after `make run`: the admin key from
    its default place, the server on localhost:8765 (here the test server's address)."""
    using_it = MAIN_README.read_text().split("\n## Using it\n", 1)[1]
    code = BLOCK.search(using_it)
    assert code is not None and code.group(1) == "sh"
    key_file = home / ".local" / "share" / "memory-service" / "admin_key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text(cli_env["MEMORY_API_KEY"] + "\n")
    script = code.group(2).replace("localhost:8765", server_url.removeprefix("http://"))
    env = {k: v for k, v in cli_env.items() if k not in ("MEMORY_URL", "MEMORY_API_KEY")}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    markdown, as_json, claim = _documents(done.stdout)
    # A realistic handoff: each section became the learning kind it names; the verification
    # command stayed with the handoff.
    assert sorted(item["kind"] for item in markdown["learnings"]) == [
        "decision",
        "mistake",
        "next_step",
        "note",
    ]
    assert [item["kind"] for item in as_json["learnings"]] == ["mistake"]
    delivered = {d["id"]: d for d in claim["handoffs"]}
    assert set(delivered) == {markdown["id"], as_json["id"]}
    first = delivered[markdown["id"]]
    assert (first["name"], first["recipient"]) == ("cache-layer", "widgets")
    assert first["description"] == "Price cache in front of the pricing API; metrics are next"
    assert first["drift"]["branch"] is False
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        stored = client.get_handoff(markdown["id"])
    assert stored.commands == ["pytest tests/test_cache.py -q"]
    assert stored.status == "read"
