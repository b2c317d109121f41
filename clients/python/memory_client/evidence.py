"""The git evidence a client sends, read with ONE git command per request over a bounded list of
paths; the server never reads the repository.

- Writing a handoff: `candidate_paths(body)` is a permissive pass over the body (every token
  that could be a repository path; the server decides which ones a learning cites), and
  `blob_ids` looks them up in the checkout's index; the found ones go as `git.blobs`.
- Reading (brief, search, recall, check): the server names the paths the project's learnings
  cite (`GET /v1/cited-paths`), `checkout_files` looks them up the same way and the request
  carries them as `checkout`, so each learning of this project comes back with `freshness`.

The one command is `git cat-file --batch-check` with one `:<path>` a line on stdin: an exact
lookup of each path in the index (HEAD plus what was staged), no pathspec magic (odd names are
safe, a directory is never expanded), no argument-length limit, and cost proportional to the
paths asked, not to the size of the repository. Outside a git checkout, or when git fails or is
slow, nothing is sent."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

# Bounds the server checks too (larger): paths per write, per read, and a path's length.
MAX_WRITE_PATHS = 1000
MAX_READ_PATHS = 500
MAX_PATH_CHARS = 300
# Evidence is worth less than the brief it rides on: a lookup that takes longer is dropped.
GIT_TIMEOUT = 0.8

_TRIM = "\"'()[]{}<>,;!?*_"
_TRAILING = ".:,;!?)]}>\"'*_"


def _clean(token: str) -> str | None:
    token = token.strip(_TRIM)
    if token.startswith("./"):
        token = token[2:]
    for sep in ("#L", ":"):
        token = token.split(sep, 1)[0] if sep in token else token
    token = token.rstrip(_TRAILING)
    if not 0 < len(token) <= MAX_PATH_CHARS or token[0] in "/~-" or "://" in token:
        return None
    if any(ord(c) < 32 or c == "\\" for c in token):
        return None
    parts = token.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    return token if "." in parts[-1] or "/" in token or parts[-1][:1].isupper() else None


def candidate_paths(body: str, limit: int = MAX_WRITE_PATHS) -> list[str]:
    """Every token of `body` that could name a repository file, in order, at most `limit`."""
    seen: dict[str, None] = {}
    for token in body.replace("`", " ").split():
        if len(token) > 2 * MAX_PATH_CHARS:
            continue
        path = _clean(token)
        if path is not None and path not in seen:
            seen[path] = None
            if len(seen) >= limit:
                break
    return list(seen)


def blob_ids(root: Path | str, paths: Sequence[str]) -> dict[str, str | None] | None:
    """Each path's blob id in the index of the checkout at `root` (None: no such file), from
    one `git cat-file --batch-check`; None when git cannot say (not a checkout, git missing,
    too slow)."""
    asked = [p for p in paths if "\n" not in p and "\r" not in p]
    if not asked:
        return {}
    stdin = "".join(f":{p}\n" for p in asked)
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "-C", str(root), "cat-file", "--batch-check"],  # noqa: S607
            input=stdin.encode(),
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env={
                **os.environ,
                "GIT_TERMINAL_PROMPT": "0",
                "LC_ALL": "C",
                "GIT_OPTIONAL_LOCKS": "0",
            },
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.decode(errors="replace").splitlines()
    if done.returncode != 0 or len(lines) != len(asked):
        return None
    found: dict[str, str | None] = {}
    for path, line in zip(asked, lines, strict=True):
        parts = line.split()
        # "<oid> blob <size>" for a file; "<input> missing" (or a tree, a submodule) otherwise.
        found[path] = parts[0] if len(parts) == 3 and parts[1] == "blob" else None
    return found


def write_blobs(root: Path | str, body: str) -> dict[str, str] | None:
    """What a handoff written in the checkout at `root` sends as `git.blobs`: the blob id of
    every candidate path that exists (None: no git state to send)."""
    found = blob_ids(root, candidate_paths(body))
    if found is None:
        return None
    return {path: blob for path, blob in found.items() if blob is not None}
