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
# The checkout's context is worth less than a brief in time: a `git status` or `git log` that
# takes longer (a huge or cold working tree) is given up, and the brief goes without it.
CONTEXT_GIT_TIMEOUT = 0.6


# What the brief is told about the checkout (the server checks the same bounds, larger).
MAX_COMMITS = 5
MAX_CHANGED_PATHS = 30
MAX_SUBJECT_CHARS = 200
MAX_PATH_CHARS = 300


@dataclass(frozen=True)
class Workspace:
    project: str
    worktree: str
    branch: str | None
    head: str | None
    root: Path
    in_git: bool
    # Filled by `detect(..., context=True)`: the subjects of the branch's latest commits
    # (newest first) and the paths with uncommitted changes.
    commits: tuple[str, ...] = ()
    changed_paths: tuple[str, ...] = ()

    def named(self, project: str | None = None, worktree: str | None = None) -> Workspace:
        """This checkout under the project and worktree the caller named, where it named them.
        Named as another project, its files are no evidence about that project's learnings:
        `in_git` is then False, so no git state is sent for it."""
        return replace(
            self,
            project=project or self.project,
            worktree=worktree or self.worktree,
            in_git=self.in_git and project in (None, self.project),
        )


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


def _git(cwd: Path, *args: str, strip: bool = True, timeout: float = GIT_TIMEOUT) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(cwd), *args],  # noqa: S607 - git from PATH, as a user runs it
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
            # GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock from under a
            # git command the user runs at the same moment.
            env={
                **os.environ,
                "GIT_TERMINAL_PROMPT": "0",
                "LC_ALL": "C",
                "GIT_OPTIONAL_LOCKS": "0",
            },
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = done.stdout.strip() if strip else done.stdout
    return out if done.returncode == 0 and out else None


@dataclass(frozen=True)
class _Status:
    branch: str | None
    head: str | None
    changed_paths: tuple[str, ...]


def parse_status(raw: str) -> _Status:
    """`git status --porcelain=v2 --branch -z`: branch (None when detached), HEAD (None
    before the first commit) and the changed paths (renames by their new path, untracked
    files included), at most MAX_CHANGED_PATHS of them."""
    branch = head = None
    paths: list[str] = []
    fields = iter(raw.split("\0"))
    for entry in fields:
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ").strip()
            head = oid if oid != "(initial)" else None
        elif entry.startswith("# branch.head "):
            name = entry.removeprefix("# branch.head ").strip()
            branch = name if name != "(detached)" else None
        elif entry[:2] in ("1 ", "u ", "2 ", "? "):
            # Fields before the path: 1 -> 8, 2 -> 9 (then the original path as its own
            # entry), u -> 10, ? -> 1. A path may hold spaces, so split no further.
            count = {"1": 8, "2": 9, "u": 10, "?": 1}[entry[0]]
            parts = entry.split(" ", count)
            if entry[0] == "2":
                next(fields, None)
            if len(parts) == count + 1 and len(paths) < MAX_CHANGED_PATHS:
                paths.append(parts[-1][:MAX_PATH_CHARS])
    return _Status(branch, head, tuple(dict.fromkeys(paths)))


def _branch_commits(root: Path, branch: str | None) -> tuple[str, ...]:
    """Subjects of the latest commits (no merges), newest first: on a feature branch those
    no other branch (local or remote, its own upstream aside) holds, so a branch just made
    from main says nothing rather than main's news; on a default branch or a detached HEAD
    the latest ones. One git command."""
    args = ["log", f"-n{MAX_COMMITS}", "--no-merges", "--format=%s", "HEAD"]
    if branch and branch not in _DEFAULT_BRANCHES:
        # `origin/HEAD` may point at this very branch (a clone of it), so it goes too.
        args += ["--not", f"--exclude={branch}", "--branches"]
        args += [f"--exclude=*/{branch}", "--exclude=*/HEAD", "--remotes"]
    out = _git(root, *args, timeout=CONTEXT_GIT_TIMEOUT) or ""
    subjects = (" ".join(line.split())[:MAX_SUBJECT_CHARS] for line in out.splitlines())
    return tuple(s for s in subjects if s)


_DEFAULT_BRANCHES = frozenset({"main", "master", "trunk", "develop", "development"})


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


def detect(cwd: Path | str | None = None, *, context: bool = False) -> Workspace:
    """The workspace of `cwd` (default: the current directory). Outside git the folder name
    stands in for the worktree and the project is `local/<folder>`.

    With `context` (the brief), also what the checkout is doing: branch, HEAD and changed
    paths from one `git status`, which replaces the two commands that otherwise read branch
    and HEAD, and the branch's latest commit subjects from one `git log`. Whatever git cannot
    say (no repository, no commit yet, detached HEAD, git missing or slow) is left out."""
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
    if context:
        raw = _git(
            root,
            "status",
            "--porcelain=v2",
            "--branch",
            "-z",
            strip=False,
            timeout=CONTEXT_GIT_TIMEOUT,
        )
        status = parse_status(raw or "")
        return Workspace(
            project=project,
            worktree=_worktree_name(root),
            branch=status.branch,
            head=status.head,
            root=root,
            in_git=True,
            commits=_branch_commits(root, status.branch) if status.head else (),
            changed_paths=status.changed_paths,
        )
    return Workspace(
        project=project,
        worktree=_worktree_name(root),
        branch=_git(root, "symbolic-ref", "--short", "-q", "HEAD"),
        head=_git(root, "rev-parse", "-q", "--verify", "HEAD"),
        root=root,
        in_git=True,
    )
