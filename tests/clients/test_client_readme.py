"""The `sh` and `python` blocks of clients/python/README.md, run in order as a user would:
in a git checkout, against the real server, with a HOME of their own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

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
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        assert client.list_handoffs(project=PROJECT, status="read").items
