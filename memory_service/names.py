"""Validation of the names that address things: project slugs and worktree names.

They end up in file paths (the CLI's import/export, the file-based inbox layout) and in
terminals, so path traversal, padding and control characters are refused outright. So are
characters nobody sees: a worktree name with a zero-width space or a bidi override looks like
another one on screen while being a different inbox, so it is refused, never silently cleaned."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SLUG_SEGMENT = re.compile(r"^[A-Za-z0-9._~@:+\-]+$")
MAX_NAME = 200
# Unicode categories that print as nothing (or as something else): format characters
# (zero-width spaces and joiners, bidi embeddings, overrides and isolates, the byte order mark,
# soft hyphen, tag characters), controls, line and paragraph separators, private use,
# surrogates and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp", "Co", "Cs", "Cn"})
# Invisible characters filed under other categories: combining grapheme joiner, Hangul and
# halfwidth fillers, Khmer inherent vowels, Mongolian variation selectors, Braille blank,
# variation selectors.
_INVISIBLE_OTHERS = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\uffa0\ufe00-\ufe0f"
    "\U000e0100-\U000e01ef]"
)


def check_visible(value: str, what: str) -> str:
    """Refuses characters a reader cannot see: invisible and format characters, controls,
    and every space but the ASCII one."""
    for char in value:
        category = unicodedata.category(char)
        if (
            category in _INVISIBLE_CATEGORIES
            or (category == "Zs" and char != " ")
            or _INVISIBLE_OTHERS.match(char)
        ):
            name = unicodedata.name(char, "unnamed")
            raise ValueError(
                f"{what} must not contain invisible, control or non-ASCII space characters "
                f"(found U+{ord(char):04X} {name})"
            )
    return value


def _common(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_NAME:
        raise ValueError(f"{what} is longer than {MAX_NAME} characters")
    if value != value.strip():
        raise ValueError(f"{what} must not start or end with whitespace")
    if _CONTROL.search(value):
        raise ValueError(f"{what} must not contain control characters")
    return check_visible(value, what)


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
