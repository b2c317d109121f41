"""Where a session runs: the project slug, the worktree (whose inbox it reads), branch and HEAD,
all inferred from git.

The project is the normalised `origin` remote (`git@github.com:org/repo.git`,
`https://user@github.com/org/repo` and `ssh://git@github.com:22/org/repo.git` are all
`github.com/org/repo`), so every clone and worktree of one repository shares one project.
Without a remote it is `local/<name>`, the name taken from the main worktree so linked
worktrees still agree."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

_SEGMENT = re.compile(r"^[A-Za-z0-9._~@:+\-]+$")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9._~@:+\-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# `[user@]host:path`, git's scp-like syntax; `(?!//)` leaves `scheme://` URLs alone.
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?!//)(?P<path>.+)$")
MAX_NAME = 200
GIT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Workspace:
    project: str
    worktree: str
    branch: str | None
    head: str | None
    root: Path
    in_git: bool

    def named(self, project: str | None = None, worktree: str | None = None) -> Workspace:
        """This checkout under the project and worktree the caller named, where it named them."""
        return replace(self, project=project or self.project, worktree=worktree or self.worktree)


def check_project_slug(value: str) -> str:
    """The server's slug rule (memory_service/names.py), checked here to fail before a call."""
    if not value or len(value) > MAX_NAME or value != value.strip() or _CONTROL.search(value):
        raise ValueError(f"invalid project slug {value!r}")
    for segment in value.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.match(segment):
            raise ValueError(
                f"invalid project slug {value!r}: use `/`-separated parts of letters, digits "
                "and . _ ~ @ : + - (like github.com/org/repo)"
            )
    return value


def check_worktree(value: str) -> str:
    if (
        not value
        or len(value) > MAX_NAME
        or value != value.strip()
        or _CONTROL.search(value)
        or "/" in value
        or "\\" in value
        or value in (".", "..")
    ):
        raise ValueError(f"invalid worktree name {value!r}: a single name, not a path")
    return value


def _segment(raw: str) -> str | None:
    cleaned = _BAD_CHARS.sub("-", raw).strip("-")
    return cleaned if cleaned and cleaned not in (".", "..") else None


def local_slug(name: str) -> str:
    """`local/<name>` for a repository (or folder) without a remote."""
    base = name[:-4] if name.endswith(".git") else name
    return f"local/{_segment(base) or 'unnamed'}"


def normalize_remote(url: str) -> str | None:
    """`host/path` of a remote URL without user, port, scheme or `.git`; None for a remote
    that is a local path (the caller then uses `local/<name>`)."""
    url = url.strip()
    host: str | None
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return None
        host, path = parts.hostname, parts.path
    else:
        match = _SCP_LIKE.match(url)
        # A one-letter "host" is a Windows drive (C:\repo), not a server.
        if match is None or len(match["host"]) == 1:
            return None
        host, path = match["host"], match["path"]
    if not host:
        return None
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    segments = [s for s in (_segment(p) for p in path.split("/")) if s]
    if not segments:
        return None
    slug = "/".join([host.lower(), *segments])
    try:
        return check_project_slug(slug)
    except ValueError:
        return None


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(cwd), *args],  # noqa: S607 - git from PATH, as a user runs it
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


def _worktree_name(path: Path) -> str:
    name = path.name.strip() or "root"
    try:
        return check_worktree(name)
    except ValueError:
        return _segment(name) or "root"


def _remote_url(root: Path) -> str | None:
    url = _git(root, "config", "--get", "remote.origin.url")
    if url is None:
        remotes = (_git(root, "remote") or "").split()
        # No origin: a lone remote under another name is still unambiguous.
        if len(remotes) == 1:
            url = _git(root, "config", "--get", f"remote.{remotes[0]}.url")
    return url


def detect(cwd: Path | str | None = None) -> Workspace:
    """The workspace of `cwd` (default: the current directory). Outside git the folder name
    stands in for the worktree and the project is `local/<folder>`."""
    here = Path(cwd or Path.cwd()).resolve()
    top = _git(here, "rev-parse", "--show-toplevel")
    if top is None:
        return Workspace(
            project=local_slug(here.name or "root"),
            worktree=_worktree_name(here),
            branch=None,
            head=None,
            root=here,
            in_git=False,
        )
    root = Path(top)
    project: str | None = None
    remote = _remote_url(root)
    if remote is not None:
        project = normalize_remote(remote)
        if project is None:
            project = local_slug(Path(remote.rstrip("/")).name)
    if project is None:
        # The main worktree's folder, so linked worktrees of one repository agree.
        common = _git(root, "rev-parse", "--path-format=absolute", "--git-common-dir")
        main = Path(common) if common else root
        project = local_slug(main.parent.name if main.name == ".git" else main.name)
    return Workspace(
        project=project,
        worktree=_worktree_name(root),
        branch=_git(root, "symbolic-ref", "--short", "-q", "HEAD"),
        head=_git(root, "rev-parse", "-q", "--verify", "HEAD"),
        root=root,
        in_git=True,
    )
