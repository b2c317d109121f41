"""`memory import`: bring an existing file-based handoff inbox into the service.

Two sources are understood:

- an inbox tree, `<root>/<project folder>/<recipient>/{unread,read}/*.md`: the folders give
  project, recipient and state. The project folder is either a slug spanning several folders
  (`github.com/org/repo`), or one folder named after a repository's path, as agent-handoff
  names them (`home-me-work-widgets`, agent_handoff.py): that one is the project of the git
  repository at that path on this machine (its `origin` remote), unless `mapping` names it.
  A folder that maps to no project is reported ("unmapped") and none of its files is sent;
- loose `HANDOFF.md` files anywhere below `<root>` (or `<root>` itself): the project is the
  git repository they sit in (or `--project`), the recipient their front matter `to`, else
  that repository's worktree name.

The front matter (`from`, `to`, `created`, `branch`, `head`, `session_tool`, `topic`) is read by
the server; a file without a usable `created` is dated by its modification time.

Each file carries an Idempotency-Key that names the handoff, not the file's current state: the
project, the recipient, the markdown after the front matter, and the front matter's `created`
(the writer's, never changed by a receiver; without one, the file name). A receiver's archive
(moved to `read/`, `received_at` stamped, any other front matter added, a new modification
time) therefore keeps the key, and the import makes the service's copy follow the file: read
there when the file was read, never the other way round (a handoff the service delivered stays
read though its file is still in `unread/`). Running the import again stores nothing twice."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from memory_client.agent_handoff import resolve_folder
from memory_client.checkout import handoff_fields
from memory_client.client import MemoryClient
from memory_client.errors import APIError, Conflict, MemoryClientError
from memory_client.frontmatter import front_matter, without_front_matter
from memory_client.models import Status
from memory_client.workspace import check_project_slug, check_worktree, detect

STATES: dict[str, Status] = {"unread": "unread", "read": "read"}
LOOSE_NAME = "HANDOFF.md"
# Folders that hold tools' files, never handoffs; walking them only costs time.
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}
Result = Literal["imported", "marked_read", "skipped", "failed", "unmapped"]
RESULTS: tuple[Result, ...] = ("imported", "marked_read", "skipped", "failed", "unmapped")
# What `claimed_by` says of a handoff the import marked read.
READER = "import"


@dataclass(frozen=True)
class Item:
    path: Path
    project: str
    recipient: str | None
    status: Status
    source: Literal["inbox", "loose"]
    # The inbox folder the project was read from, and how (a mapping, a repository on disk).
    folder: str | None = None
    mapped_by: str | None = None


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
            # Dot files are a tool's temporary or claimed files (agent-handoff's `.tmp-*`,
            # `.claim-*`), never a handoff.
            if not name.startswith("."):
                yield Path(folder) / name


def parse_mapping(lines: Iterable[str], source: str) -> dict[str, str]:
    """`FOLDER=SLUG` lines (a mapping file, or `--map` values): blank lines and lines starting
    with `#` are skipped, spaces around either side ignored. A ValueError names the line."""
    mapping: dict[str, str] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        folder, sep, slug = (part.strip() for part in line.partition("="))
        where = f"{source} line {number}" if source != "--map" else "--map"
        if not sep or not folder or not slug:
            raise ValueError(f"{where}: expected FOLDER=SLUG, got {line!r}")
        try:
            check_project_slug(slug)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
        mapping[folder.rstrip("/") or folder] = slug
    return mapping


class _Projects:
    """The project of each inbox folder, found once per folder."""

    def __init__(self, mapping: dict[str, str], recipients: dict[str, set[str]]) -> None:
        self.mapping = mapping
        self.recipients = recipients
        self.found: dict[str, tuple[str | None, str]] = {}

    def of(self, folder: str) -> tuple[str | None, str]:
        """(project or None, how it was found or why not)."""
        if folder not in self.found:
            self.found[folder] = self._find(folder)
        return self.found[folder]

    def _find(self, folder: str) -> tuple[str | None, str]:
        if folder in self.mapping:
            return self.mapping[folder], "mapped"
        if "/" in folder:
            return folder, "folder"  # github.com/org/repo: the folders spell the slug
        found = resolve_folder(folder, self.recipients.get(folder, ()))
        return found.project, found.detail


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
    root: Path,
    *,
    project: str | None = None,
    loose_status: Status = "unread",
    mapping: dict[str, str] | None = None,
) -> tuple[list[Item], list[Outcome]]:
    """The files to import under `root`, and those refused outright (bad names, no project;
    result "unmapped" for the files of a folder no project was found for). `mapping`: inbox
    folder (relative to `root`) -> project slug, before anything else."""
    root = root.expanduser()
    if root.is_file():
        return [_loose(root, project, loose_status)], []
    if not root.is_dir():
        raise FileNotFoundError(f"no such file or folder: {root}")
    inbox: list[tuple[Path, str, str, Status]] = []
    items: list[Item] = []
    refused: list[Outcome] = []
    # `root` may be one project's folder itself: its own name is then the folder.
    own = root.resolve().name
    for path in _walk(root):
        parts = path.relative_to(root).parts
        if path.suffix == ".md" and len(parts) >= 3 and parts[-2] in STATES:
            folder = "/".join(parts[:-3]) or ("" if project is not None else own)
            inbox.append((path, folder, parts[-3], STATES[parts[-2]]))
        elif path.name == LOOSE_NAME:
            items.append(_loose(path, project, loose_status))
    recipients: dict[str, set[str]] = {}
    for _, folder, recipient, _ in inbox:
        recipients.setdefault(folder, set()).add(recipient)
    projects = _Projects(mapping or {}, recipients)
    for path, folder, recipient, status in inbox:
        slug, how = projects.of(folder) if folder else (project, "--project")
        if slug is None:
            fix = f"pass --map {folder}=SLUG" if folder else "pass --project SLUG"
            if folder and len(path.relative_to(root).parts) == 3:
                fix += " or --project SLUG"
            refused.append(Outcome(path, "unmapped", f"{folder}: {how}; {fix}", status=status))
            continue
        try:
            check_project_slug(slug)
            check_worktree(recipient)
        except ValueError as exc:
            refused.append(Outcome(path, "failed", str(exc)))
            continue
        items.append(Item(path, slug, recipient, status, "inbox", folder or None, how))
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
    """Stable across runs, machines and a receiver's archive: the project, the recipient, the
    markdown after the front matter (whitespace at its ends aside) and the writer's front
    matter `created`, else the file name. Front matter a receiver adds (agent-handoff's
    `received_at`, or anything else), the state folder and the modification time are not
    part of it. A handoff whose text was edited since the last import is a new handoff."""
    created = front_matter(body).get("created")
    written = f"created={created}" if created not in (None, "") else f"name={item.path.name}"
    where = "\x1f".join(["memory-import-v2", item.project, item.recipient or "", written])
    digest = hashlib.sha256(f"{where}\x1e{without_front_matter(body).strip()}".encode())
    return f"import-{digest.hexdigest()}"


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
    except Conflict as exc:
        # The same handoff, imported before in another state (archived since: moved to
        # read/, front matter stamped): the service's copy follows the file.
        earlier = exc.details.get("handoff_id") if isinstance(exc.details, dict) else None
        if not isinstance(earlier, str):
            return _not_stored(item, "failed", exc.message)
        return _follow(client, item, earlier)
    except APIError as exc:
        return _not_stored(item, "failed", exc.message)
    if stored.duplicate:
        # Imported before, or the server found the same text still unread for the same
        # recipient (imported by an earlier version, say): make it follow the file too.
        return _follow(client, item, str(stored.id))
    return Outcome(
        item.path,
        "imported",
        "imported",
        project=stored.project,
        recipient=stored.recipient,
        status=item.status,
        handoff_id=str(stored.id),
        sentinel=stored.sentinel,
    )


def _follow(client: MemoryClient, item: Item, handoff_id: str) -> Outcome:
    """The service's copy of a handoff imported before, made to follow its file: marked read
    when the file was read (delivered by the tool it came from). A file still unread leaves the
    copy as it is: if the service delivered it meanwhile, it stays read."""
    if item.status != "read":
        return Outcome(
            item.path,
            "skipped",
            "already in the service",
            item.project,
            item.recipient,
            item.status,
            handoff_id,
        )
    try:
        marked = client.mark_read(handoff_id, by=READER)
    except APIError as exc:
        return _not_stored(item, "failed", f"imported before; marking it read: {exc.message}")
    return Outcome(
        item.path,
        "marked_read" if marked.changed else "skipped",
        "read since the last import: marked read in the service"
        if marked.changed
        else "already in the service",
        project=marked.project,
        recipient=marked.recipient,
        status=item.status,
        handoff_id=str(marked.id),
        sentinel=marked.sentinel,
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
