"""Wiring the memory service into coding agents: Claude Code (SessionStart hook and the
/handoff skill) and Codex (a managed block in AGENTS.md)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


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
