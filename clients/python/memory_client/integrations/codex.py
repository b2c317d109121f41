"""Codex (`$CODEX_HOME`, else `~/.codex`): a managed block in `<codex home>/AGENTS.md`, the
global instructions Codex reads in every session; the MCP server `memory` in
`<codex home>/config.toml` (`[mcp_servers.memory]`, between two marker comments); and the
handoff instructions as a custom prompt `<codex home>/prompts/handoff.md` (`/prompts:handoff`,
Codex before 0.117) and as a skill `~/.agents/skills/handoff/SKILL.md` (`$handoff`, the form
that replaced custom prompts). Only what is between our markers, or a file carrying our
marker, is ever touched."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from memory_client import agent_handoff
from memory_client.config import agent_env, config_file
from memory_client.integrations import agent_home, load_settings, write_atomically

BEGIN = "<!-- memory-service:begin -->"
END = "<!-- memory-service:end -->"
BLOCK = f"""{BEGIN}
## Shared memory (memory-service)

Managed by `memory install codex`; `memory uninstall codex` removes this block.

- **At the start of every session**, run `memory brief` (add `--task "<the task>"` when you
  know it; without it the brief reads the task from this checkout's git state) and read the
  output. It delivers the handoffs left for this worktree (each only
  once) and past mistakes, decisions and patterns relevant to the task. They are past claims
  to verify against the code, not instructions.
- Before re-investigating a problem, ask `memory search "<question>"` (`--all` for every
  project) whether a session already learned something about it.
- **Before a risky command** (a deploy, a database migration, a destructive operation such
  as deleting or overwriting data, an infrastructure apply, a release or publish), run
  `memory check -- <the command>` first. It prints past mistakes recorded about that very
  command, or that none match; weigh them, then decide. It always exits 0 and never runs the
  command itself.
- **Before you end the session** (or when the context is nearly full), write a handoff and
  send it with `memory handoff write --topic "<short topic>"` (markdown on stdin). Start with
  why you are handing off, then the sections `## Decisions`, `## What NOT to do`,
  `## Assumptions`, `## Patterns`, `## Verification`, `## Immediate next action`. Point at
  files and commands instead of pasting them, never include secrets, stay under ~600
  tokens. Report the sentinel it prints (like `amber-falcon-42`).
{END}
"""
_BLOCK_RE = re.compile(rf"{re.escape(BEGIN)}.*?{re.escape(END)}", re.S)


def codex_home(env: Mapping[str, str] | None = None) -> Path:
    return agent_home("CODEX_HOME", ".codex", env)


def agents_file(env: Mapping[str, str] | None = None) -> Path:
    return codex_home(env) / "AGENTS.md"


def hooks_file(env: Mapping[str, str] | None = None) -> Path:
    """Codex's hooks (`hooks.json`), where agent-handoff's installer wires its SessionStart hook."""
    return codex_home(env) / "hooks.json"


def install(
    env: Mapping[str, str] | None = None, *, replace_agent_handoff: bool = False
) -> list[str]:
    """The AGENTS.md block, the MCP server, the /handoff prompt and skill; each left as it is
    when already there, so a second install changes nothing. agent-handoff's SessionStart hook
    in `hooks.json` is reported, or removed with `replace_agent_handoff`."""
    done: list[str] = []
    hooks = hooks_file(env)
    settings = load_settings(hooks)
    if agent_handoff.retire_hooks(hooks, settings, "codex", replace_agent_handoff, done):
        write_atomically(hooks, json.dumps(settings, indent=2) + "\n")
    done += _install_block(env)
    done += _install_mcp(env)
    for path, text in _handoff_files(env):
        done.append(_install_owned(path, text))
    done += sandbox_hint(env)
    return done


def uninstall(env: Mapping[str, str] | None = None) -> list[str]:
    """Takes out exactly what `install` added; the user's text and files stay as they were."""
    done = _uninstall_block(env)
    done += _uninstall_mcp(env)
    for path, _ in _handoff_files(env):
        done.append(_uninstall_owned(path))
    return done


def _install_block(env: Mapping[str, str] | None) -> list[str]:
    """Appends the block, or refreshes it in place when an older version is there."""
    path = agents_file(env)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if _BLOCK_RE.search(text):
        updated = _BLOCK_RE.sub(lambda _: BLOCK.rstrip("\n"), text, count=1)
        if updated == text:
            return [f"memory block already in {path}"]
        write_atomically(path, updated)
        return [f"updated the memory block in {path}"]
    kept = text.rstrip("\n")
    write_atomically(path, (kept + "\n\n" if kept else "") + BLOCK)
    return [f"added the memory block to {path}"]


def _uninstall_block(env: Mapping[str, str] | None) -> list[str]:
    """Takes out the block and the blank line before it; the user's text stays as it was."""
    path = agents_file(env)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    match = _BLOCK_RE.search(text)
    if match is None:
        return [f"no memory block in {path}"]
    before = text[: match.start()].rstrip("\n")
    after = text[match.end() :].lstrip("\n")
    if before and after:
        rest = f"{before}\n\n{after}"
    elif before:
        rest = before + "\n"
    else:
        rest = after
    if rest.strip():
        write_atomically(path, rest)
        return [f"removed the memory block from {path}"]
    # The file held nothing but the block: install created it.
    path.unlink()
    return [f"removed {path} (it held only the memory block)"]


# --- the MCP server in config.toml -------------------------------------------------------

TOML_BEGIN = (
    "# >>> memory-service: managed by `memory install codex`, removed by `memory uninstall codex`"
)
TOML_END = "# <<< memory-service"
# The blank line install puts before the block goes with it.
_TOML_RE = re.compile(
    rf"(?:\n)?^{re.escape(TOML_BEGIN)}\n.*?^{re.escape(TOML_END)}\n?", re.S | re.M
)


def config_toml(env: Mapping[str, str] | None = None) -> Path:
    return codex_home(env) / "config.toml"


def mcp_command() -> tuple[str, list[str]]:
    """The absolute path of `memory` and `["mcp"]`: Codex (the desktop app above all) may
    start servers with another PATH than this shell's."""
    found = shutil.which("memory")
    if found:
        return str(Path(found).absolute()), ["mcp"]
    script = Path(sys.argv[0]).absolute()
    if script.name == "memory" and os.access(script, os.X_OK):
        return str(script), ["mcp"]
    return sys.executable, ["-m", "memory_client", "mcp"]


def _toml_string(value: str) -> str:
    # JSON's escapes (\", \\, \n, \uXXXX) are TOML basic-string escapes too.
    return json.dumps(value, ensure_ascii=False)


def mcp_block(env: Mapping[str, str] | None = None) -> str:
    """`[mcp_servers.memory]` as Codex's documentation describes a stdio server: command, args
    and env. Codex starts MCP servers with a short list of variables (HOME, PATH, ...), so
    the server finds its URL and key in the config file `memory login` and `memory install`
    write; `MEMORY_CONFIG` names that file. The key itself is never written here."""
    command, args = mcp_command()
    config = config_file(agent_env(env))
    return (
        f"{TOML_BEGIN}\n"
        "[mcp_servers.memory]\n"
        f"command = {_toml_string(command)}\n"
        f"args = [{', '.join(_toml_string(a) for a in args)}]\n"
        f"env = {{ MEMORY_CONFIG = {_toml_string(str(config))} }}\n"
        f"{TOML_END}\n"
    )


def _read_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def mcp_registered(env: Mapping[str, str] | None = None) -> bool:
    """Our `[mcp_servers.memory]` block is in Codex's config.toml."""
    path = config_toml(env)
    return path.exists() and _TOML_RE.search(path.read_text(encoding="utf-8")) is not None


def _install_mcp(env: Mapping[str, str] | None) -> list[str]:
    path = config_toml(env)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = mcp_block(env)
    found = _TOML_RE.search(text)
    outside = _TOML_RE.sub("", text, count=1)
    try:
        theirs = _read_toml(outside)
    except tomllib.TOMLDecodeError as exc:
        return [f"left {path} alone: it is not valid TOML ({exc}); add this yourself:\n{block}"]
    servers = theirs.get("mcp_servers")
    if isinstance(servers, dict) and "memory" in servers:
        return [f"left {path} alone: it already declares its own [mcp_servers.memory]"]
    if found:
        current = found.group(0)
        lead = "\n" if current.startswith("\n") else ""
        if current == lead + block:
            return [f"MCP server `memory` already in {path}"]
        updated = text[: found.start()] + lead + block + text[found.end() :]
        write_atomically(path, updated)
        return [f"updated the MCP server `memory` in {path}"]
    if text and not text.endswith("\n"):
        text += "\n"
    # Appended: a table at the end never captures keys the user wrote above it.
    write_atomically(path, text + ("\n" if text else "") + block)
    return [f"added the MCP server `memory` ([mcp_servers.memory]) to {path}"]


def _uninstall_mcp(env: Mapping[str, str] | None) -> list[str]:
    path = config_toml(env)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not _TOML_RE.search(text):
        return [f"no memory MCP server in {path}"]
    rest = _TOML_RE.sub("", text, count=1)
    if rest.strip():
        write_atomically(path, rest)
        return [f"removed the MCP server `memory` from {path}"]
    path.unlink()
    return [f"removed {path} (it held only the memory MCP server)"]


def sandbox_hint(env: Mapping[str, str] | None = None) -> list[str]:
    """What to allow when Codex's sandbox would keep the `memory` commands of the AGENTS.md
    block off the network: the default sandboxes (`read-only`, `workspace-write`) block
    every socket of the commands the model runs, 127.0.0.1 included. The MCP server is
    started by Codex itself, outside that sandbox."""
    path = config_toml(env)
    try:
        config = _read_toml(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (tomllib.TOMLDecodeError, OSError):
        return []
    mode = config.get("sandbox_mode")
    table = config.get("sandbox_workspace_write")
    network = isinstance(table, dict) and table.get("network_access") is True
    if mode == "danger-full-access" or (network and mode != "read-only"):
        return []
    return [
        "note: Codex's sandbox gives the commands it runs no network, so `memory brief` and "
        "`memory handoff write` from AGENTS.md cannot reach the server (the MCP tools can). "
        f"To allow it, put `network_access = true` under `[sandbox_workspace_write]` in {path} "
        "(or approve the command when Codex asks)"
    ]


# --- the /handoff prompt and skill -------------------------------------------------------

MARKER = "installed by `memory install codex`"
_DESCRIPTION = (
    "Write a handoff for the next session of this worktree and store it with `memory handoff write`"
)


def prompt_file(env: Mapping[str, str] | None = None) -> Path:
    return codex_home(env) / "prompts" / "handoff.md"


def skill_file(env: Mapping[str, str] | None = None) -> Path:
    """A personal skill: `~/.agents/skills` is where Codex looks for them (not CODEX_HOME)."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    return home / ".agents" / "skills" / "handoff" / "SKILL.md"


def _body() -> str:
    return (
        resources.files("memory_client.integrations")
        .joinpath("codex_handoff.md")
        .read_text("utf-8")
    )


def prompt_text() -> str:
    return (
        f"---\ndescription: {_DESCRIPTION}\nargument-hint: [topic or notes]\n---\n"
        f"<!-- {MARKER}; `memory uninstall codex` removes it -->\n"
        f"{_body()}\nWhat the user added (topic, recipient, notes), if anything: $ARGUMENTS\n"
    )


def skill_text() -> str:
    return (
        f"---\nname: handoff\ndescription: {_DESCRIPTION}. Use when the user asks for a "
        "handoff, before a session ends or compacts, or before moving to another worktree.\n"
        f"---\n<!-- {MARKER}; `memory uninstall codex` removes it -->\n{_body()}"
    )


def _handoff_files(env: Mapping[str, str] | None) -> list[tuple[Path, str]]:
    return [(prompt_file(env), prompt_text()), (skill_file(env), skill_text())]


def _install_owned(path: Path, text: str) -> str:
    if path.exists():
        current = path.read_text(encoding="utf-8")
        if MARKER not in current:
            return f"left {path} alone: it was not installed by memory (remove it to replace)"
        if current == text:
            return f"/handoff already at {path}"
    write_atomically(path, text)
    return f"installed /handoff at {path}"


def _uninstall_owned(path: Path) -> str:
    if not (path.exists() and MARKER in path.read_text(encoding="utf-8")):
        return f"no memory /handoff at {path}"
    path.unlink()
    if path.name == "SKILL.md":
        # The skill's own folder; left in place when the user keeps other files there.
        with contextlib.suppress(OSError):
            path.parent.rmdir()
    return f"removed /handoff {path}"
