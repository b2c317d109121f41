"""Claude Code: the UserPromptSubmit hook (`memory hook claude-code-prompt`).

On every prompt Claude Code pipes the hook a JSON object (`session_id`, `transcript_path`,
`cwd`, `permission_mode`, `hook_event_name: "UserPromptSubmit"`, `prompt`; see
https://code.claude.com/docs/en/hooks#userpromptsubmit). The hook asks the server's
prompt-time recall (`POST /v1/recall`, k=3) and, when something clears its strict floor,
prints

    {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "..."}}

with the learnings framed as past claims to verify, each with its id, kind, project and
freshness. The server keeps what each `session_id` was given, so a learning is said once per
session; small talk and prompts about nothing stored get nothing at all (no output). Like the
SessionStart hook it is fail-open: no output and exit 0 within 2 s whatever goes wrong
(`claude_code.run_fail_open`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO

from memory_client import checkout, render
from memory_client._core import NO_RETRY
from memory_client.client import MemoryClient
from memory_client.integrations import explain
from memory_client.integrations.claude_code import (
    HOOK_HTTP_TIMEOUT_SECONDS,
    run_fail_open,
    server_config,
)
from memory_client.workspace import Workspace, _git, detect, normalize_remote

EVENT = "UserPromptSubmit"
# At most this many learnings on one prompt.
PROMPT_LEARNINGS = 3


def session_project(cwd: str | Path) -> str:
    """The checkout's project with one git command on every prompt (`origin`'s URL, read from
    any folder of the checkout); `detect` (several) only when there is no usable `origin`."""
    url = _git(Path(cwd), "config", "--get", "remote.origin.url")
    slug = normalize_remote(url) if url else None
    return slug or detect(cwd).project


def hook_output(raw: str, *, timeout: float = HOOK_HTTP_TIMEOUT_SECONDS) -> str | None:
    """The JSON Claude Code expects from a UserPromptSubmit hook, or None when there is
    nothing worth saying."""
    payload = json.loads(raw) if raw.strip() else {}
    if not isinstance(payload, dict):
        explain("the hook input is not a JSON object; nothing to do")
        return None
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        explain("no prompt in the hook input; nothing to do")
        return None
    config = server_config()
    if config is None:
        return None
    session_id = payload.get("session_id")
    cwd = Path(payload.get("cwd") or os.getcwd())
    project = session_project(cwd)
    # The checkout as far as freshness needs it: its project, and git run in its folder.
    ws = Workspace(project, cwd.name, None, None, cwd, in_git=True)
    with MemoryClient(config.url, config.api_key, retry=NO_RETRY, timeout=timeout) as client:
        result = client.run(
            checkout.recall(
                ws,
                prompt[:2000],
                session_id=str(session_id)[:500] if session_id else None,
                k=PROMPT_LEARNINGS,
                files=checkout.read_checkout(client, ws),
            )
        )
    if result.abstained or not any(not r.flagged for r in result.results):
        explain(_silence(result.abstained, result.reason, project))
        return None
    explain(f"injected {len(result.results)} learning(s) of {project}")
    return json.dumps(
        {"hookSpecificOutput": {"hookEventName": EVENT, "additionalContext": render.recall(result)}}
    )


def _silence(abstained: bool, reason: str | None, project: str) -> str:
    if abstained:
        return f"nothing injected for {project}: the server abstained ({reason or 'no reason'})"
    return f"nothing injected for {project}: only instruction-like learnings matched"


def run_hook(stdin: TextIO, stdout: TextIO) -> int:
    return run_fail_open(stdin, stdout, lambda raw, timeout: hook_output(raw, timeout=timeout))
