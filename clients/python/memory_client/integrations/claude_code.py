"""Claude Code: a SessionStart hook that injects the start-up brief, a UserPromptSubmit hook
that injects the few learnings relevant to the prompt (claude_code_prompt.py), a PreToolUse hook
for the Bash tool that adds past mistakes matching the command about to run
(claude_code_command.py), and a /handoff skill.

`memory install claude-code` edits `<claude dir>/settings.json` (the claude dir is
`$CLAUDE_CONFIG_DIR`, else `~/.claude`) and writes `<claude dir>/skills/handoff/SKILL.md`;
`memory uninstall claude-code` takes out exactly the hook entries and the skill it added.

`install` also looks for agent-handoff (agent_handoff.py), the file-based tool a team may move
over from: its SessionStart hook in that settings file (and in the current project's
`.claude/settings.json`, where its per-project installer puts it) and its /handoff skill (a
link into its clone). Both tools delivering the same handoffs is what must not happen, so
install says how to retire them, and with `replace_agent_handoff` removes exactly those."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from memory_client import agent_handoff, checkout
from memory_client._core import NO_RETRY
from memory_client.client import MemoryClient
from memory_client.config import ClientConfig, missing_key_message, resolve
from memory_client.integrations import agent_home, explain, load_settings, write_atomically
from memory_client.workspace import detect

MATCHER = "startup|resume|clear|compact"
HOOK_ARGS = "hook claude-code"
PROMPT_HOOK_ARGS = "hook claude-code-prompt"
COMMAND_HOOK_ARGS = "hook claude-code-command"
# The hooks `install` adds: (event, matcher or None for events without one, `memory` args).
HOOKS: list[tuple[str, str | None, str]] = [
    ("SessionStart", MATCHER, HOOK_ARGS),
    ("UserPromptSubmit", None, PROMPT_HOOK_ARGS),
    ("PreToolUse", "Bash", COMMAND_HOOK_ARGS),
]
SKILL_MARKER = "installed by `memory install claude-code`"
# Seconds after the process started at which the hook gives up, whatever it is doing: a
# session start never waits 2 s for it, interpreter start-up and imports included.
HOOK_DEADLINE_SECONDS = 1.7
# Left for the brief's HTTP round trip at most (the rest covers git and printing).
HOOK_HTTP_TIMEOUT_SECONDS = 1.3
# Claude Code's own timeout for the hook command, a backstop above ours.
SETTINGS_TIMEOUT_SECONDS = 10
# A user on a slow link or machine raises the deadline (seconds), never to Claude Code's own.
DEADLINE_ENV = "MEMORY_HOOK_DEADLINE"


def claude_dir(env: Mapping[str, str] | None = None) -> Path:
    return agent_home("CLAUDE_CONFIG_DIR", ".claude", env)


def settings_file(env: Mapping[str, str] | None = None) -> Path:
    return claude_dir(env) / "settings.json"


def skill_file(env: Mapping[str, str] | None = None) -> Path:
    return claude_dir(env) / "skills" / "handoff" / "SKILL.md"


def skill_text() -> str:
    return resources.files("memory_client.integrations").joinpath("SKILL.md").read_text("utf-8")


def hook_command(args: str = HOOK_ARGS) -> str:
    """`memory <args>` when `memory` is on PATH (the usual install), else an absolute path
    that works from Claude Code's environment too."""
    if shutil.which("memory"):
        return f"memory {args}"
    script = Path(sys.argv[0]).resolve()
    if script.name == "memory" and os.access(script, os.X_OK):
        return f"{script} {args}"
    return f"{sys.executable} -m memory_client {args}"


def _our_command(args: str) -> re.Pattern[str]:
    """Matches `memory <args>` however `memory` was spelled when installed (bare, absolute
    path, or `python -m memory_client`), so uninstall and re-install find it."""
    words = r"\s+".join(map(re.escape, args.split()))
    return re.compile(rf"(?:^|[/\\\s\"'])memory(?:_client)?\"?\s+{words}\s*$")


def is_our_hook(hook: Any, args: str = HOOK_ARGS) -> bool:
    return (
        isinstance(hook, dict)
        and hook.get("type") == "command"
        and isinstance(hook.get("command"), str)
        and _our_command(args).search(hook["command"]) is not None
    )


def _event_groups(settings: dict[str, Any], path: Path, event: str) -> list[Any]:
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ValueError(f"{path}: `hooks` is not an object; fix it, then run this again")
    groups = hooks.setdefault(event, [])
    if not isinstance(groups, list):
        raise ValueError(f"{path}: `hooks.{event}` is not a list; fix it, then run this again")
    return groups


def install(
    env: Mapping[str, str] | None = None,
    command: str | None = None,
    *,
    replace_agent_handoff: bool = False,
    project_dir: Path | None = None,
) -> list[str]:
    """Adds the hooks and the skill; a second run changes nothing. Returns what it did.
    `command` is the SessionStart hook's command; the others get the same program.
    agent-handoff's hook and skill (in the user's settings, and in `project_dir`'s
    `.claude/settings.json`) are reported, or removed with `replace_agent_handoff`."""
    program = (
        command[: -len(HOOK_ARGS)].rstrip() if command and command.endswith(HOOK_ARGS) else None
    )
    done: list[str] = []
    path = settings_file(env)
    settings = load_settings(path)
    changed = agent_handoff.retire_hooks(path, settings, "claude-code", replace_agent_handoff, done)
    for event, matcher, args in HOOKS:
        wanted = f"{program} {args}" if program else hook_command(args)
        groups = _event_groups(settings, path, event)
        ours = [
            hook
            for group in groups
            if isinstance(group, dict) and isinstance(group.get("hooks"), list)
            for hook in group["hooks"]
            if is_our_hook(hook, args)
        ]
        if ours:
            done.append(f"{event} hook already in {path}")
            continue
        entry = {"type": "command", "command": wanted, "timeout": SETTINGS_TIMEOUT_SECONDS}
        groups.append({"matcher": matcher, "hooks": [entry]} if matcher else {"hooks": [entry]})
        changed = True
        done.append(f"added the {event} hook `{wanted}` to {path}")
    if changed:
        write_atomically(path, json.dumps(settings, indent=2) + "\n")

    if project_dir is not None:
        _agent_handoff_in_project(project_dir, replace_agent_handoff, done)

    skill = skill_file(env)
    text = skill_text()
    theirs = _agent_handoff_skill(skill)
    if theirs and replace_agent_handoff:
        skill.parent.unlink()  # the link only; its clone is left as it is
        done.append(f"removed agent-handoff's /handoff skill link {skill.parent}")
        theirs = False
    if theirs:
        done.append(
            f"left {skill.parent} alone: it is agent-handoff's /handoff skill (a link to "
            f"{skill.parent.resolve()}); `--replace-agent-handoff` replaces it with memory's"
        )
    elif skill.exists() and SKILL_MARKER not in skill.read_text(encoding="utf-8"):
        done.append(f"left {skill} alone: it was not installed by memory (remove it to replace)")
    elif not skill.exists() or skill.read_text(encoding="utf-8") != text:
        write_atomically(skill, text)
        done.append(f"installed the /handoff skill at {skill}")
    else:
        done.append(f"/handoff skill already at {skill}")
    return done


def _agent_handoff_skill(skill: Path) -> bool:
    """`<claude dir>/skills/handoff` is agent-handoff's: a link into its clone's skill folder."""
    folder = skill.parent
    target = ("adapters", "claude-code", "skill")
    return folder.is_symlink() and folder.resolve().parts[-3:] == target


def _agent_handoff_in_project(project_dir: Path, replace: bool, done: list[str]) -> None:
    """The same, in a project's `.claude/settings.json` (agent-handoff's per-project install)."""
    path = project_dir / ".claude" / "settings.json"
    if not path.is_file():
        return
    try:
        settings = load_settings(path)
    except ValueError as exc:
        done.append(f"could not look for agent-handoff's hook: {exc}")
        return
    if agent_handoff.retire_hooks(path, settings, "claude-code", replace, done):
        write_atomically(path, json.dumps(settings, indent=2) + "\n")


def _remove_ours(hooks: dict[str, Any], event: str, args: str) -> int:
    """Takes our hook for `event` out of `hooks`; returns how many entries went. Containers
    are dropped only when our entry was the last thing in them."""
    groups = hooks.get(event)
    if not isinstance(groups, list):
        return 0
    removed = 0
    kept_groups = []
    for group in groups:
        inner = group.get("hooks") if isinstance(group, dict) else None
        if isinstance(inner, list) and any(is_our_hook(h, args) for h in inner):
            kept = [h for h in inner if not is_our_hook(h, args)]
            removed += len(inner) - len(kept)
            if not kept:
                continue  # the group held only our hook: it was ours
            group = {**group, "hooks": kept}
        kept_groups.append(group)
    if removed:
        if kept_groups:
            hooks[event] = kept_groups
        else:
            del hooks[event]
    return removed


def uninstall(env: Mapping[str, str] | None = None) -> list[str]:
    """Removes the hook entries and the skill that `install` added, and nothing else."""
    done: list[str] = []
    path = settings_file(env)
    settings = load_settings(path)
    hooks = settings.get("hooks")
    removed = 0
    if isinstance(hooks, dict):
        for event, _, args in HOOKS:
            if _remove_ours(hooks, event, args):
                removed += 1
                done.append(f"removed the {event} hook from {path}")
        if removed and not hooks:
            del settings["hooks"]
    if removed:
        write_atomically(path, json.dumps(settings, indent=2) + "\n")
    else:
        done.append(f"no memory hook in {path}")

    skill = skill_file(env)
    if skill.exists() and SKILL_MARKER in skill.read_text(encoding="utf-8"):
        skill.unlink()
        # Left in place when the user keeps other files there.
        with contextlib.suppress(OSError):
            skill.parent.rmdir()
        done.append(f"removed the /handoff skill {skill}")
    else:
        done.append("no memory /handoff skill installed")
    return done


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere 0, which makes the
    deadline count from the hook's own start instead)."""
    try:
        stat = Path("/proc/self/stat").read_text()
        # Field 22 (starttime, in clock ticks since boot); the command name in parentheses
        # may contain spaces, so count from after it, where field 3 begins.
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def hook_output(
    raw: str, *, budget: int | None = None, timeout: float = HOOK_HTTP_TIMEOUT_SECONDS
) -> str | None:
    """The JSON Claude Code expects from a SessionStart hook, or None when there is nothing
    to say."""
    payload = json.loads(raw) if raw.strip() else {}
    if not isinstance(payload, dict):
        explain("the hook input is not a JSON object; nothing to do")
        return None
    cwd = payload.get("cwd") or os.getcwd()
    session_id = payload.get("session_id")
    config = server_config()
    if config is None:
        return None
    # The checkout's context (branch, HEAD, changed paths, latest commits) costs two git
    # commands, the same as branch and HEAD alone did.
    ws = detect(cwd, context=True)
    explain(f"brief for {ws.project}, worktree {ws.worktree}, from {config.url}")
    with MemoryClient(config.url, config.api_key, retry=NO_RETRY, timeout=timeout) as client:
        brief = client.run(
            checkout.brief(
                ws,
                session_id=str(session_id) if session_id else None,
                token_budget=budget or 800,
                files=checkout.read_checkout(client, ws),
            )
        )
    if brief.empty:
        explain("the brief is empty (no unread handoff, no relevant learning): nothing injected")
        return None
    explain(f"injected the brief ({len(brief.markdown)} characters)")
    return json.dumps(
        {
            "hookSpecificOutput": {
                "hookEventName": "SessionStart",
                "additionalContext": brief.markdown,
            }
        }
    )


def server_config() -> ClientConfig | None:
    """The server and key a hook uses (and, with MEMORY_DEBUG, where they came from), or None
    without a key."""
    config = resolve()
    if not config.api_key:
        explain(missing_key_message())
        return None
    explain(f"server {config.url} ({config.url_source}), key from {config.key_source}")
    return config


def hook_deadline() -> float:
    """Seconds after the process started at which a hook gives up: HOOK_DEADLINE_SECONDS, or
    MEMORY_HOOK_DEADLINE (a remote server over a slow link, a loaded machine) kept a second
    under Claude Code's own timeout; an unreadable value is ignored, as a hook must not fail."""
    try:
        value = float(os.environ.get(DEADLINE_ENV, ""))
    except ValueError:
        return HOOK_DEADLINE_SECONDS
    if not value > 0:  # also NaN
        return HOOK_DEADLINE_SECONDS
    return min(value, SETTINGS_TIMEOUT_SECONDS - 1.0)


def _give_up(deadline: float) -> None:
    explain(f"gave up after {deadline:g} s (the hook's deadline); nothing injected")
    os._exit(0)


def run_fail_open(
    stdin: TextIO, stdout: TextIO, produce: Callable[[str, float], str | None]
) -> int:
    """Runs a hook fail-open: `produce(stdin text, HTTP timeout)` returns the JSON to print
    or None. Whatever goes wrong (server down, no key, not a repository, slow network, bad
    input), the agent goes on normally, with no output and exit 0, within the deadline."""
    deadline = hook_deadline()
    left = deadline - process_age()
    # A hard stop even for what no timeout covers (DNS, a stuck stdin, a slow disk).
    watchdog = threading.Timer(max(0.0, left), _give_up, args=(deadline,))
    watchdog.daemon = True
    watchdog.start()
    try:
        http = HOOK_HTTP_TIMEOUT_SECONDS + (deadline - HOOK_DEADLINE_SECONDS)
        timeout = max(0.1, min(http, left - 0.2))
        output = produce(stdin.read(), timeout)
    except Exception as exc:  # fail-open by design: any failure means "say nothing"
        explain(f"{type(exc).__name__}: {exc}; nothing injected")
        output = None
    watchdog.cancel()
    if output:
        stdout.write(output + "\n")
        stdout.flush()
    return 0


def run_hook(stdin: TextIO, stdout: TextIO, *, budget: int | None = None) -> int:
    """The SessionStart hook, fail-open (`run_fail_open`)."""
    return run_fail_open(
        stdin, stdout, lambda raw, timeout: hook_output(raw, budget=budget, timeout=timeout)
    )
