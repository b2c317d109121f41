"""Setting up and checking a client: the key check `memory login`, `memory config set` and
`memory status` make, what `memory install` records for the agents' hooks, and the checks of
`memory doctor` (server, key, project detection, installed hooks and whether they reach the
server), each with what to do about it."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import stat
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from memory_client import agent_handoff
from memory_client._core import NO_RETRY
from memory_client.client import MemoryClient
from memory_client.config import (
    ClientConfig,
    agent_env,
    config_file,
    missing_key_message,
    resolve,
    save,
)
from memory_client.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    MemoryClientError,
    PermissionDenied,
)
from memory_client.integrations import claude_code, codex, load_settings
from memory_client.workspace import detect

Outcome = Literal["ok", "warn", "fail"]
CHECK_TIMEOUT_SECONDS = 5.0


def verify(url: str, api_key: str | None, *, timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
    """The server at `url` is ready and accepts `api_key` (without one: only ready). Raises
    `ConnectionFailed`, `ServiceUnavailable`, or `AuthenticationError` (a wrong or revoked
    key)."""
    with MemoryClient(url, api_key or "", retry=NO_RETRY, timeout=timeout) as client:
        client.readyz()
        if not api_key:
            return
        # The cheapest authenticated read; a key without read scope is still a valid key.
        with contextlib.suppress(PermissionDenied):
            client.list_handoffs(limit=1)


def record_for_agents(env: Mapping[str, str] | None = None) -> list[str]:
    """Writes the server and key this shell uses to the config file the agents' hooks and MCP
    servers read, when they would not find them there without the shell's variables. Returns
    what it did."""
    env = os.environ if env is None else env
    bare = agent_env(env)
    try:
        current = resolve(env)
        seen = resolve(bare)
        values: dict[str, str] = {}
        if seen.url != current.url:
            values["url"] = current.url
        if current.api_key and seen.api_key != current.api_key:
            values["api_key"] = current.api_key
        if not values:
            return []
        path = save(values, bare)
    except (ConfigurationError, OSError) as exc:
        # The integration is installed all the same; `memory doctor` will point at this.
        return [f"could not record the server for hooks started without your shell: {exc}"]
    return [
        f"recorded {' and '.join(values)} in {path} (mode 0600): hooks started without your "
        f"shell's variables reach {current.url}"
    ]


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _server_and_key(config: ClientConfig, who: str) -> tuple[Check, Check | None]:
    """The server's readiness and the key's acceptance, for `who` ("this shell", "hooks")."""
    key: Check | None = None
    if not config.api_key:
        key = Check("api key", "fail", f"{who}: none found", missing_key_message())
    try:
        verify(config.url, config.api_key)
    except ConnectionFailed as exc:
        return Check(
            "server",
            "fail",
            f"{who}: {config.url} ({config.url_source}) cannot be reached: {exc}",
            "start it (`make run`), or point memory at it: `memory login --url URL`",
        ), key
    except AuthenticationError as exc:
        key = Check(
            "api key",
            "fail",
            f"{who}: the key from {config.key_source} is refused ({exc.message})",
            "a wrong or revoked key: `memory login` with a valid one "
            "(`memory-service keys create` makes one)",
        )
        return Check("server", "ok", f"{who}: {config.url} ({config.url_source}) ready"), key
    except MemoryClientError as exc:
        return Check(
            "server",
            "fail",
            f"{who}: {config.url} ({config.url_source}) is not ready: {exc}",
            "wait for it to finish starting, or read its log",
        ), key
    return (
        Check("server", "ok", f"{who}: {config.url} ({config.url_source}) ready"),
        key or Check("api key", "ok", f"{who}: accepted (from {config.key_source})"),
    )


def _config_file_check(env: Mapping[str, str]) -> Check | None:
    path = config_file(env)
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Check(
            "config file",
            "warn",
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}); it holds a key",
            f"chmod 600 {path}",
        )
    return Check("config file", "ok", str(path))


def _project_check(cwd: Path) -> Check:
    ws = detect(cwd)
    if not ws.in_git:
        return Check(
            "project",
            "warn",
            f"{cwd} is not in a git checkout: project {ws.project}, worktree {ws.worktree}",
            "run memory inside the repository, or pass --project and --worktree",
        )
    where = f"{ws.project}, worktree {ws.worktree}" + (f" on {ws.branch}" if ws.branch else "")
    if ws.project.startswith("local/"):
        return Check(
            "project",
            "warn",
            f"{where}: no `origin` remote, so the project is a local name other checkouts "
            "of this repository will not share",
            "`git remote add origin URL`, or pass --project SLUG",
        )
    return Check("project", "ok", where)


def _program_missing(command: str) -> str | None:
    """The program of a hook's command when it cannot be run, else None."""
    try:
        program = shlex.split(command)[0]
    except (ValueError, IndexError):
        return command
    if os.sep in program or (os.altsep and os.altsep in program):
        return None if os.access(program, os.X_OK) else program
    return None if shutil.which(program) else program


def _hook_checks(env: Mapping[str, str]) -> tuple[list[Check], bool]:
    """The installed integrations, and whether any is installed."""
    checks: list[Check] = []
    installed = False
    path = claude_code.settings_file(env)
    try:
        settings = load_settings(path)
    except (OSError, ValueError) as exc:
        checks.append(Check("claude-code", "fail", str(exc), "fix the file by hand"))
        settings = {}
    hooks = settings.get("hooks") if isinstance(settings.get("hooks"), dict) else {}
    assert isinstance(hooks, dict)
    found: list[tuple[str, str]] = []
    for event, _, args in claude_code.HOOKS:
        groups = hooks.get(event)
        for group in groups if isinstance(groups, list) else []:
            inner = group.get("hooks") if isinstance(group, dict) else None
            for hook in inner if isinstance(inner, list) else []:
                if claude_code.is_our_hook(hook, args):
                    found.append((event, hook["command"]))
    if found:
        installed = True
        events = {event for event, _ in found}
        missing = [event for event, _, _ in claude_code.HOOKS if event not in events]
        broken = [f"{event}: `{c}`" for event, c in found if _program_missing(c)]
        if broken:
            checks.append(
                Check(
                    "claude-code",
                    "fail",
                    f"hooks in {path} run a program that is not there: {'; '.join(broken)}",
                    "`memory install claude-code` again from the environment memory runs in",
                )
            )
        elif missing:
            checks.append(
                Check(
                    "claude-code",
                    "warn",
                    f"{path} lacks the {', '.join(missing)} hook(s)",
                    "`memory install claude-code` adds them",
                )
            )
        else:
            checks.append(Check("claude-code", "ok", f"{len(found)} hooks in {path}"))
        theirs = agent_handoff.hooks_in(settings)
        if theirs:
            checks.append(
                Check(
                    "agent-handoff",
                    "warn",
                    f"its SessionStart hook `{theirs[0]}` is in {path} too: two tools deliver "
                    "handoffs at session start",
                    "`memory import ~/.agent-handoffs`, then `memory install claude-code "
                    "--replace-agent-handoff`",
                )
            )
    agents = codex.agents_file(env)
    if agents.exists() and codex.BEGIN in agents.read_text(encoding="utf-8"):
        installed = True
        checks.append(Check("codex", "ok", f"memory block in {agents}"))
        if not codex.mcp_registered(env):
            checks.append(
                Check(
                    "codex mcp",
                    "warn",
                    f"no memory MCP server in {codex.config_toml(env)}",
                    "`memory install codex` registers it",
                )
            )
        checks += [Check("codex sandbox", "warn", note) for note in codex.sandbox_hint(env)]
        hooks = codex.hooks_file(env)
        try:
            theirs = agent_handoff.hooks_in(load_settings(hooks))
        except (OSError, ValueError):
            theirs = []
        if theirs:
            checks.append(
                Check(
                    "agent-handoff codex",
                    "warn",
                    f"its SessionStart hook `{theirs[0]}` is in {hooks} too: two tools deliver "
                    "handoffs at Codex's session start",
                    "`memory import ~/.agent-handoffs`, then `memory install codex "
                    "--replace-agent-handoff`",
                )
            )
    if not installed:
        checks.append(
            Check(
                "agents",
                "warn",
                "no agent integration installed",
                "`memory install claude-code` or `memory install codex`",
            )
        )
    return checks, installed


def _reach_check(config: ClientConfig, env: Mapping[str, str]) -> Check:
    """What a hook started without the shell's variables would use, and whether it works."""
    try:
        bare = resolve(agent_env(env))
    except ConfigurationError as exc:
        return Check("hooks reach", "fail", str(exc), "fix the file, or remove it and log in")
    if (bare.url, bare.api_key) != (config.url, config.api_key):
        where = bare.url + ("" if bare.api_key else ", no key")
        return Check(
            "hooks reach",
            "fail",
            f"hooks started without your shell's variables would use {where} "
            f"({bare.url_source}), not {config.url} ({config.url_source})",
            "record this server for them: `memory login`, or `memory install <agent>` again",
        )
    server, key = _server_and_key(bare, "hooks")
    bad = next((c for c in (server, key) if c and c.outcome != "ok"), None)
    if bad is not None:
        return Check("hooks reach", "fail", bad.detail, bad.fix)
    return Check("hooks reach", "ok", f"{bare.url} with the key from {bare.key_source}")


def run_checks(cwd: Path, env: Mapping[str, str] | None = None) -> list[Check]:
    env = os.environ if env is None else env
    try:
        config = resolve(env)
    except ConfigurationError as exc:
        return [Check("config file", "fail", str(exc), "fix the file, or remove it and log in")]
    checks: list[Check] = []
    file_check = _config_file_check(env)
    if file_check:
        checks.append(file_check)
    server, key = _server_and_key(config, "this shell")
    checks += [server, *([key] if key else [])]
    checks.append(_project_check(cwd))
    hook_checks, installed = _hook_checks(env)
    checks += hook_checks
    if installed:
        checks.append(_reach_check(config, env))
    return checks
