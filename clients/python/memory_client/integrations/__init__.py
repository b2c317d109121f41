"""Wiring the memory service into coding agents: Claude Code (SessionStart hook and the
/handoff skill) and Codex (a managed block in AGENTS.md)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def agent_home(variable: str, default: str, env: Mapping[str, str] | None = None) -> Path:
    """An agent's own folder: `$<variable>` when set, else `<HOME>/<default>` (both read from
    `env`, by default the process environment)."""
    env = os.environ if env is None else env
    if env.get(variable):
        return Path(env[variable]).expanduser()
    return Path(env.get("HOME") or Path.home()) / default


def write_atomically(path: Path, text: str) -> None:
    """Replaces `path` in one step, so an agent starting meanwhile never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_settings(path: Path) -> dict[str, Any]:
    """An agent's JSON settings file (Claude Code's settings.json, Codex's hooks.json) as an
    object; {} when missing or empty. A ValueError for one that cannot be read: such a file
    holds the user's other settings, so it is never overwritten."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); fix it, then run this again") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object; fix it, then run this again")
    return data


def debugging() -> bool:
    """`MEMORY_DEBUG` is set to something other than empty, `0`, `false` or `no`."""
    return os.environ.get("MEMORY_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def explain(message: str) -> None:
    """With `MEMORY_DEBUG=1` a hook, silent by design, says on stderr what it did or why it
    said nothing (Claude Code shows a hook's stderr in its debug output: `claude --debug`)."""
    if debugging():
        print(f"memory hook: {message}", file=sys.stderr, flush=True)
