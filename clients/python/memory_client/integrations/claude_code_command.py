"""Claude Code: the PreToolUse hook for the Bash tool (`memory hook claude-code-command`).

Before Claude Code runs a shell command, the hook asks the server (`POST /v1/check`) whether
the command closely matches a past mistake, and if so adds it to Claude's context as
`hookSpecificOutput.additionalContext`, framed as a past claim to verify. It never blocks
and never asks: it sets no `permissionDecision`, so Claude Code's own permission flow decides
as if the hook were not there. Everyday commands get no output at all.

Output format: Claude Code's hooks reference, PreToolUse "decision control"
(https://code.claude.com/docs/en/hooks): `hookSpecificOutput` with `hookEventName:
"PreToolUse"` and `additionalContext`, which is added to Claude's context before the tool
runs. Fail-open like the start-up hook (claude_code.run_fail_open): no output, exit 0 within
2 s on any error."""

from __future__ import annotations

import json
import os
from typing import TextIO

from memory_client import checkout, render
from memory_client._core import NO_RETRY
from memory_client.client import MemoryClient
from memory_client.integrations import explain
from memory_client.integrations.claude_code import run_fail_open, server_config
from memory_client.workspace import detect

EVENT = "PreToolUse"
TOOL = "Bash"
# The server refuses longer commands; a longer one is not looked up at all.
MAX_COMMAND_CHARS = 4000


def hook_output(raw: str, *, timeout: float) -> str | None:
    """The JSON Claude Code expects from a PreToolUse hook, or None when there is nothing to
    add (not the Bash tool, an everyday command, nothing close enough)."""
    payload = json.loads(raw) if raw.strip() else {}
    if not isinstance(payload, dict) or payload.get("tool_name") != TOOL:
        explain(f"not a {TOOL} tool call; nothing to do")
        return None
    tool_input = payload.get("tool_input")
    command = tool_input.get("command") if isinstance(tool_input, dict) else None
    if not isinstance(command, str) or not command.strip() or len(command) > MAX_COMMAND_CHARS:
        explain(f"no command of at most {MAX_COMMAND_CHARS} characters; nothing to check")
        return None
    config = server_config()
    if config is None:
        return None
    ws = detect(payload.get("cwd") or os.getcwd())
    session_id = payload.get("session_id")
    with MemoryClient(config.url, config.api_key, retry=NO_RETRY, timeout=timeout) as client:
        result = client.run(
            checkout.check(
                ws,
                command,
                session_id=str(session_id) if session_id else None,
                files=checkout.read_checkout(client, ws),
            )
        )
    if result.abstained or not any(not r.flagged for r in result.results):
        explain(
            "no past mistake matches this command"
            + (f" ({result.reason})" if result.abstained and result.reason else "")
        )
        return None
    explain(f"added {len(result.results)} past mistake(s) about this command")
    context = (
        "memory-service (shared memory of earlier coding sessions) on this command:\n"
        + render.check(result, command)
    )
    return json.dumps(
        {"hookSpecificOutput": {"hookEventName": EVENT, "additionalContext": context}}
    )


def run_hook(stdin: TextIO, stdout: TextIO) -> int:
    """Fail-open: whatever goes wrong, the command runs as if there were no hook."""
    return run_fail_open(stdin, stdout, lambda raw, timeout: hook_output(raw, timeout=timeout))
