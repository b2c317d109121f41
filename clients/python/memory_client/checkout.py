"""What a session sends on behalf of the checkout it runs in (a `Workspace`: project,
worktree, branch, HEAD), written once for the CLI, the MCP server and the importer: the fields
a handoff is written with, and the brief, inbox claim, search and command check of this
worktree."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from memory_client import _core, evidence
from memory_client._core import Call
from memory_client.client import AsyncMemoryClient, MemoryClient
from memory_client.errors import MemoryClientError
from memory_client.models import (
    Brief,
    CheckoutContext,
    CheckoutFiles,
    CheckResponse,
    CitedPaths,
    Inbox,
    Kind,
    Mode,
    RecallResponse,
    SearchResponse,
)
from memory_client.workspace import Workspace

# Written once, in `_core`, where `create_handoff(workspace, ...)` uses them too.
HandoffFields = _core.HandoffFields
handoff_fields = _core.handoff_fields
git_evidence = _core.git_evidence


def cited_paths(ws: Workspace) -> Call[CitedPaths] | None:
    """The request for the paths this project's learnings cite (None outside git: nothing to
    compare them with)."""
    return _core.cited_paths(ws.project, limit=evidence.MAX_READ_PATHS) if ws.in_git else None


def checkout_files(ws: Workspace, cited: CitedPaths | None) -> CheckoutFiles | None:
    """The checkout's blob ids of the cited paths, from one git command: what a brief, search,
    recall or check carries for `freshness` (None: nothing to send)."""
    if not ws.in_git or cited is None or not cited.paths:
        return None
    found = evidence.blob_ids(ws.root, cited.paths[: evidence.MAX_READ_PATHS])
    return CheckoutFiles(project=ws.project, files=found) if found else None


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
    files: CheckoutFiles | None = None,
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
        checkout=files,
    )


def search(
    ws: Workspace,
    query: str,
    *,
    k: int = 10,
    all_projects: bool = False,
    kinds: Sequence[Kind] | None = None,
    mode: Mode = "hybrid",
    files: CheckoutFiles | None = None,
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
        checkout=files,
    )


def check(
    ws: Workspace,
    command: str,
    *,
    session_id: str | None = None,
    k: int = 2,
    files: CheckoutFiles | None = None,
) -> Call[CheckResponse]:
    """The past mistakes of this project that `command` closely matches (nothing for everyday
    commands)."""
    return _core.check(command, project=ws.project, session_id=session_id, k=k, checkout=files)


def recall(
    ws: Workspace,
    text: str,
    *,
    session_id: str | None = None,
    k: int = 3,
    files: CheckoutFiles | None = None,
) -> Call[RecallResponse]:
    """Prompt-time recall for this project's session."""
    return _core.recall(text, project=ws.project, session_id=session_id, k=k, checkout=files)


def read_checkout(client: MemoryClient, ws: Workspace) -> CheckoutFiles | None:
    """Ask which paths the project's learnings cite and look them up in the checkout: the
    `checkout` of a brief, search, recall or check. None when there is nothing to send (not a
    checkout, nothing cited, an older server, git failing); the request then goes without it."""
    call = cited_paths(ws)
    if call is None:
        return None
    try:
        cited = client.run(call)
    except MemoryClientError:
        return None  # the request itself will say what is wrong, if anything is
    return checkout_files(ws, cited)


async def aread_checkout(client: AsyncMemoryClient, ws: Workspace) -> CheckoutFiles | None:
    """`read_checkout` for the async client (the MCP server)."""
    call = cited_paths(ws)
    if call is None:
        return None
    try:
        cited = await client.run(call)
    except MemoryClientError:
        return None
    return await asyncio.to_thread(checkout_files, ws, cited)
