"""Validation of the names that address things: project slugs and worktree names.

They end up in file paths (the CLI's import/export, the file-based inbox layout) and in
terminals, so path traversal, padding and control characters are refused outright."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SLUG_SEGMENT = re.compile(r"^[A-Za-z0-9._~@:+\-]+$")
MAX_NAME = 200


def _common(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_NAME:
        raise ValueError(f"{what} is longer than {MAX_NAME} characters")
    if value != value.strip():
        raise ValueError(f"{what} must not start or end with whitespace")
    if _CONTROL.search(value):
        raise ValueError(f"{what} must not contain control characters")
    return value


def check_project_slug(value: str) -> str:
    """A canonical slug such as `github.com/org/repo`: `/`-separated segments, no `.`/`..`."""
    _common(value, "project")
    segments = value.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ValueError(
                "project must be a slug like github.com/org/repo (no empty, . or .. parts)"
            )
        if not _SLUG_SEGMENT.match(segment):
            raise ValueError(
                "project may only contain letters, digits and . _ ~ @ : + - between slashes"
            )
    return value


def check_worktree(value: str) -> str:
    """A worktree basename (the inbox a handoff is delivered to); inner spaces are allowed
    because people address handoffs to names like `next agent on parley-chat`."""
    _common(value, "worktree")
    if "/" in value or "\\" in value or value in (".", ".."):
        raise ValueError("worktree must be a single name, not a path")
    return value


ProjectSlug = Annotated[str, AfterValidator(check_project_slug)]
WorktreeName = Annotated[str, AfterValidator(check_worktree)]
