"""What a checkout is doing, as a search query: the start-up brief's query when no task is
given. Pure (no database, no model): the branch name turned into words, the subjects of the
last commits, the meaningful parts of the changed paths (directories and file stems) and the
next steps of the handoffs delivered in the same brief.

`feat/history-keyset-pagination` reads "history keyset pagination"; `feat(push): retry dead
tokens (#412)` reads "push: retry dead tokens"; `core/src/main/kotlin/save/SaveMigrator.kt`
gives "save" and "save migrator". Words that say nothing about the work (branch types such as
`feat` or `fix`, ticket numbers, `src`, `lib`, `test`, file extensions) are left out. The query
is a bag of words ordered from the most specific (the branch) to the least (the paths), cut to
what the embedding model reads; the bounds are in recall/ranking.py."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from memory_service.recall.ranking import (
    CONTEXT_MAX_COMMITS,
    CONTEXT_MAX_NEXT_STEPS,
    CONTEXT_MAX_PATH_WORDS,
    CONTEXT_MAX_PATHS,
    CONTEXT_PART_CHARS,
    CONTEXT_QUERY_CHARS,
)


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A branch's first segment that only says what kind of change it is.
_BRANCH_TYPES = _set(
    "feat feature features fix fixes bugfix hotfix chore perf refactor build ci docs doc test "
    "tests ops release releases ui wip spike exp experiment tmp temp topic dev users user "
    "dependabot renovate revert style improvement enhancement task story bug"
)
# Branches that say nothing about the work at hand.
_GENERIC_BRANCHES = _set(
    "main master trunk develop development dev head staging production prod stable default next"
)
# Path parts every project has: they tell nothing about what a change is about.
_GENERIC_PATH_PARTS = _set(
    "src source sources lib libs main java kotlin scala groovy swift objc python py js ts "
    "resources res test tests spec specs android test unittest testing e2e "
    "internal pkg cmd include inc public private static dist out target bin obj vendor "
    "com org net io www index init mod readme changelog license "
    "app apps core common shared util utils misc tmp temp"
)
# Subjects that say nothing (merge commits are already left out by the client's `git log`).
_EMPTY_SUBJECT = re.compile(
    r"^(?:wip|w\.i\.p\.|tmp|temp|fixup|typo|typos|lint|format|formatting|\.|-|update|updates|"
    r"merge\b.*|initial commit|init)\s*$",
    re.IGNORECASE,
)
# `feat(push)!: ...` -> scope "push"; `fixup! ` / `squash! ` / `amend! ` prefixes; `Revert "..."`.
_CONVENTIONAL = re.compile(r"^\s*[A-Za-z]+(?:\((?P<scope>[^)]{1,60})\))?!?:\s*")
_AUTOSQUASH = re.compile(r"^\s*(?:(?:fixup|squash|amend)!\s*)+", re.IGNORECASE)
_REVERT = re.compile(r'^\s*Revert\s+"(?P<inner>.*)"\s*$')
_PR_SUFFIX = re.compile(r"\s*\((?:#|!)\d+\)\s*$")
_TICKET_ID = re.compile(r"\b[A-Z][A-Z0-9]{1,9}-\d+\b")
_TICKET = re.compile(r"^(?:[A-Za-z]{1,10}-)?\d+$|^[0-9a-f]{7,40}$")
_SEPARATORS = re.compile(r"[\s/_\-.+@:#,]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORDY = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class CheckoutQuery:
    """The query and what it was made of (for the response and the audit trail)."""

    text: str
    parts: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.text


def words(name: str) -> list[str]:
    """`SaveMigrator` -> ["save", "migrator"]; `use-cart_store.v2` -> ["use", "cart",
    "store", "v2"]: lower-case words, ticket numbers and hashes left out."""
    out: list[str] = []
    for chunk in _SEPARATORS.split(_TICKET_ID.sub(" ", name)):
        for word in _CAMEL.split(chunk):
            low = word.lower()
            if low and _WORDY.search(low) and not _TICKET.match(low):
                out.append(low)
    return out


def branch_words(branch: str | None) -> list[str]:
    """The branch as words without its type prefix: `feat/history-keyset-pagination` ->
    ["history", "keyset", "pagination"]; `main`, `HEAD` and ticket-only names -> []."""
    if not branch:
        return []
    name = branch.strip().removeprefix("refs/heads/")
    if name.lower() in _GENERIC_BRANCHES:
        return []
    segments = [s for s in name.split("/") if s]
    # Leading segments that only say what kind of change it is (`feat/`, `fix/`, `release/`).
    while len(segments) > 1 and segments[0].lower() in _BRANCH_TYPES | _GENERIC_BRANCHES:
        segments = segments[1:]
    return _unique(w for s in segments for w in words(s))


def commit_subject(subject: str) -> str:
    """A commit subject without what only git tooling reads: conventional-commit type (its
    scope kept), autosquash markers, `Revert "..."`, a trailing PR number; "" for a subject
    that says nothing (`wip`, `fixup`, a merge)."""
    text = " ".join(subject.split())
    text = _AUTOSQUASH.sub("", text)
    if match := _REVERT.match(text):
        text = match["inner"]
    if match := _CONVENTIONAL.match(text):
        scope = match["scope"]
        text = text[match.end() :]
        if scope:
            text = f"{scope}: {text}"
    text = _PR_SUFFIX.sub("", text).strip()
    if not text or _EMPTY_SUBJECT.match(text) or not _WORDY.search(text):
        return ""
    return text[:CONTEXT_PART_CHARS]


def path_words(paths: Iterable[str]) -> list[str]:
    """The changed paths' meaningful parts, most shared first: the directories (without the
    ones every project has) and the file stems, as words. A directory many changed files sit
    in says more about the work than a file touched once."""
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for raw in list(paths)[:CONTEXT_MAX_PATHS]:
        path = PurePosixPath(raw.strip().replace("\\", "/"))
        parts = [p for p in path.parts if p not in ("/", ".", "..")]
        if not parts:
            continue
        stem = parts[-1].split(".", 1)[0] if not parts[-1].startswith(".") else parts[-1][1:]
        seen: set[str] = set()
        for part in [*parts[:-1], stem]:
            for word in words(part):
                if word in _GENERIC_PATH_PARTS or len(word) < 2 or word in seen:
                    continue
                seen.add(word)
                counts[word] += 1
                order.setdefault(word, len(order))
    ranked = sorted(counts, key=lambda w: (-counts[w], order[w]))
    return ranked[:CONTEXT_MAX_PATH_WORDS]


def build_query(
    *,
    branch: str | None,
    commits: Sequence[str] = (),
    changed_paths: Sequence[str] = (),
    next_steps: Sequence[str] = (),
) -> CheckoutQuery:
    """The brief's query for a checkout: one line per part, most specific first, within
    CONTEXT_QUERY_CHARS. Empty when the checkout says nothing (a `main` branch, no commits
    of its own, nothing changed, no handoff)."""
    parts: list[str] = []
    if branch_text := " ".join(branch_words(branch)):
        parts.append(branch_text)
    subjects = [s for s in (commit_subject(c) for c in commits[:CONTEXT_MAX_COMMITS]) if s]
    parts.extend(_unique(subjects))
    steps = [" ".join(s.split())[:CONTEXT_PART_CHARS] for s in next_steps]
    parts.extend(_unique(s for s in steps if s)[:CONTEXT_MAX_NEXT_STEPS])
    if files := " ".join(path_words(changed_paths)):
        parts.append(files)
    kept: list[str] = []
    size = 0
    for part in parts:
        if size + len(part) + 1 > CONTEXT_QUERY_CHARS:
            break
        kept.append(part)
        size += len(part) + 1
    return CheckoutQuery(text="\n".join(kept), parts=tuple(kept))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
