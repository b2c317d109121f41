"""`memory import`: bring an existing file-based handoff inbox into the service.

Two sources are understood:

- an inbox tree, `<root>/<project-slug>/<recipient>/{unread,read}/*.md`, where the slug may
  span several folders (`github.com/org/repo`): the folder gives project, recipient and state;
- loose `HANDOFF.md` files anywhere below `<root>` (or `<root>` itself): the project is the
  git repository they sit in (or `--project`), the recipient their front matter `to`, else
  that repository's worktree name.

The front matter (`from`, `to`, `created`, `branch`, `head`, `session_tool`, `topic`) is read by
the server; a file without a usable `created` is dated by its modification time. Each file
carries an Idempotency-Key derived from where it sits and what it says, so running the import
again stores nothing twice."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from memory_client.checkout import handoff_fields
from memory_client.client import MemoryClient
from memory_client.errors import APIError, Conflict, MemoryClientError
from memory_client.frontmatter import front_matter
from memory_client.models import Status
from memory_client.workspace import check_project_slug, check_worktree, detect

STATES: dict[str, Status] = {"unread": "unread", "read": "read"}
LOOSE_NAME = "HANDOFF.md"
# Folders that hold tools' files, never handoffs; walking them only costs time.
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}
Result = Literal["imported", "skipped", "failed"]


@dataclass(frozen=True)
class Item:
    path: Path
    project: str
    recipient: str | None
    status: Status
    source: Literal["inbox", "loose"]


@dataclass(frozen=True)
class Outcome:
    path: Path
    result: Result
    message: str
    project: str | None = None
    recipient: str | None = None
    status: Status | None = None
    handoff_id: str | None = None
    sentinel: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {**asdict(self), "path": str(self.path)}


def _walk(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            yield Path(folder) / name


def _loose(path: Path, project: str | None, status: Status) -> Item:
    ws = detect(path.parent)
    slug = project or ws.project
    try:
        body = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        body = ""  # reported when the import reads it
    # Addressed by its front matter when it says so; else to the worktree it sits in, as
    # `memory handoff write` would send it from there.
    return Item(path, slug, handoff_fields(body, ws)["recipient"], status, "loose")


def discover(
    root: Path, *, project: str | None = None, loose_status: Status = "unread"
) -> tuple[list[Item], list[Outcome]]:
    """The files to import under `root`, and those refused outright (bad names, no project)."""
    root = root.expanduser()
    if root.is_file():
        return [_loose(root, project, loose_status)], []
    if not root.is_dir():
        raise FileNotFoundError(f"no such file or folder: {root}")
    items: list[Item] = []
    refused: list[Outcome] = []
    for path in _walk(root):
        parts = path.relative_to(root).parts
        if path.suffix == ".md" and len(parts) >= 3 and parts[-2] in STATES:
            slug = "/".join(parts[:-3]) or project
            recipient = parts[-3]
            if slug is None:
                refused.append(
                    Outcome(path, "failed", "no project folder above it; pass --project SLUG")
                )
                continue
            try:
                check_project_slug(slug)
                check_worktree(recipient)
            except ValueError as exc:
                refused.append(Outcome(path, "failed", str(exc)))
                continue
            items.append(Item(path, slug, recipient, STATES[parts[-2]], "inbox"))
        elif path.name == LOOSE_NAME:
            items.append(_loose(path, project, loose_status))
    return items, refused


def _usable_created(value: object) -> bool:
    """Whether the server will date the handoff by this front matter `created`."""
    if isinstance(value, datetime | date):
        return True
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def idempotency_key(item: Item, body: str) -> str:
    """Stable across runs and machines: where the file sits in the inbox (project, recipient,
    file name) and its content. A file edited since the last import is a new handoff."""
    where = "\x1f".join(["memory-import-v1", item.project, item.recipient or "", item.path.name])
    digest = hashlib.sha256(f"{where}\x1e{body}".encode()).hexdigest()
    return f"import-{digest}"


def _not_stored(item: Item, result: Result, message: str) -> Outcome:
    return Outcome(item.path, result, message, item.project, item.recipient, item.status)


def import_one(client: MemoryClient, item: Item) -> Outcome:
    try:
        body = item.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _not_stored(item, "failed", f"cannot read: {exc}")
    if not body.strip():
        return _not_stored(item, "failed", "empty file")
    created_at = None
    if not _usable_created(front_matter(body).get("created")):
        created_at = datetime.fromtimestamp(item.path.stat().st_mtime, UTC)
    try:
        stored = client.create_handoff(
            item.project,
            body,
            recipient=item.recipient,
            created_at=created_at,
            status=item.status if item.status == "read" else None,
            idempotency_key=idempotency_key(item, body),
        )
    except Conflict:
        # Same place, same content, another state or date than at the last import (moved
        # from unread/ to read/, say): it is in the service already.
        return _not_stored(item, "skipped", "imported before (its state or date changed since)")
    except APIError as exc:
        return _not_stored(item, "failed", exc.message)
    return Outcome(
        item.path,
        "skipped" if stored.duplicate else "imported",
        "already in the service" if stored.duplicate else "imported",
        project=stored.project,
        recipient=stored.recipient,
        status=item.status,
        handoff_id=str(stored.id),
        sentinel=stored.sentinel,
    )


def run_import(
    client: MemoryClient,
    items: list[Item],
    *,
    workers: int = 4,
    progress: Callable[[Outcome], object] | None = None,
) -> list[Outcome]:
    """Imports `items` a few at a time (the server embeds each one; a small pool keeps it
    busy without flooding it). Results come back in the order of `items`. A connection
    failure stops the import: every later file would fail the same way."""
    outcomes: list[Outcome | None] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(import_one, client, item) for item in items]
        try:
            for i, future in enumerate(futures):
                outcome = future.result()
                outcomes[i] = outcome
                if progress is not None:
                    progress(outcome)
        except MemoryClientError:
            for future in futures:
                future.cancel()
            raise
    return [o for o in outcomes if o is not None]
