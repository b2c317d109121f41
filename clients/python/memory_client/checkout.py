"""What a session sends on behalf of the checkout it runs in (a `Workspace`: project,
worktree, branch, HEAD), written once for the CLI, the MCP server and the importer: the fields
a handoff is written with, and the brief, inbox claim, search and command check of this
worktree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from memory_client import _core
from memory_client._core import Call
from memory_client.frontmatter import field
from memory_client.models import (
    Brief,
    CheckoutContext,
    CheckResponse,
    Inbox,
    Kind,
    Mode,
    SearchResponse,
)
from memory_client.workspace import Workspace


class HandoffFields(TypedDict):
    recipient: str | None
    sender: str | None
    branch: str | None
    head: str | None


def handoff_fields(body: str, ws: Workspace, *, recipient: str | None = None) -> HandoffFields:
    """What a handoff written in `ws` is sent with: the checkout's worktree (as recipient and
    sender), branch and HEAD, each only where the front matter does not say (None: the server
    takes it from there). An explicit `recipient` wins over both."""
    return {
        "recipient": recipient or (None if field(body, "to") else ws.worktree),
        "sender": None if field(body, "from") else ws.worktree,
        "branch": None if field(body, "branch") else ws.branch,
        "head": None if field(body, "head") else ws.head,
    }


def claim_inbox(ws: Workspace) -> Call[Inbox]:
    """Take delivery of this worktree's unread handoffs, telling the server where the checkout
    stands (for the drift warning)."""
    return _core.claim_inbox(ws.project, ws.worktree, branch=ws.branch, head=ws.head)


def brief(
    ws: Workspace,
    *,
    task: str | None = None,
    token_budget: int = 800,
    session_id: str | None = None,
) -> Call[Brief]:
    """The start-up brief of this worktree (its handoffs, then read, and learnings for `task`,
    or without one for what the checkout is doing: `ws` from `detect(..., context=True)`
    carries its latest commit subjects and changed paths)."""
    return _core.brief(
        ws.project,
        ws.worktree,
        branch=ws.branch,
        head=ws.head,
        session_id=session_id,
        task=task,
        token_budget=token_budget,
        context=(
            CheckoutContext(commits=list(ws.commits), changed_paths=list(ws.changed_paths))
            if ws.commits or ws.changed_paths
            else None
        ),
    )


def search(
    ws: Workspace,
    query: str,
    *,
    k: int = 10,
    all_projects: bool = False,
    kinds: Sequence[Kind] | None = None,
    mode: Mode = "hybrid",
) -> Call[SearchResponse]:
    """Learnings for `query` in this project (every project of the team with
    `all_projects`), this project's first either way."""
    return _core.search(
        query,
        k=k,
        project=None if all_projects else ws.project,
        prefer_project=ws.project,
        kinds=kinds,
        mode=mode,
    )


def check(
    ws: Workspace, command: str, *, session_id: str | None = None, k: int = 2
) -> Call[CheckResponse]:
    """The past mistakes of this project that `command` closely matches (nothing for everyday
    commands)."""
    return _core.check(command, project=ws.project, session_id=session_id, k=k)
