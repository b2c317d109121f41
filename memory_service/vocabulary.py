"""The service's words, defined once: the kinds of learning, who may see a handoff, where a
handoff is in its delivery, the search modes and what a query asks for. The database's CHECK
constraints, the parser, the request and response schemas, the ranking's half-lives and intent
weights, the brief's order and the route patterns are all built from these enums, so adding a
kind is one line here (and a migration for the constraint).

Member names equal their values: a member passed to the database driver or compared with a
stored string is that string."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What a learning is. The order is the one the parser and the documentation use."""

    decision = "decision"
    mistake = "mistake"
    pattern = "pattern"
    assumption = "assumption"
    discovery = "discovery"
    next_step = "next_step"
    status = "status"
    note = "note"


class Visibility(StrEnum):
    """Who may see a handoff and its learnings: the whole team, or only its project."""

    team = "team"
    project = "project"


class HandoffStatus(StrEnum):
    """Where a handoff is in its delivery: waiting in its worktree's inbox, or delivered."""

    unread = "unread"
    read = "read"


class SearchMode(StrEnum):
    """Which legs a search runs: nearest neighbours, full text, or both fused."""

    hybrid = "hybrid"
    vector = "vector"
    text = "text"

    @property
    def uses_vector(self) -> bool:
        return self is not SearchMode.text

    @property
    def uses_text(self) -> bool:
        return self is not SearchMode.vector


class Intent(StrEnum):
    """What a search query asks for (memory_service/recall/intent.py): it weighs the kinds of
    learning in the ranking (recall/ranking.py)."""

    pitfalls = "pitfalls"
    practice = "practice"
    open_work = "open_work"
    task = "task"
    general = "general"


class Freshness(StrEnum):
    """How a learning's cited files stand in the reader's checkout: all as they were when it
    was written, one changed since, one gone since, or nothing to compare (no citations,
    another project, or no git state sent)."""

    verified = "verified"
    changed = "changed"
    missing = "missing"
    unknown = "unknown"


class Supersession(StrEnum):
    """How a learning came to be superseded: a person or agent said so (`memory supersede`,
    the REST call), a later handoff's section said so ("Superseded", "Reverted", ...), or the
    measured rule decided it."""

    explicit = "explicit"
    section = "section"
    rule = "rule"


class Feedback(StrEnum):
    """What a report on a learning says."""

    helpful = "helpful"
    wrong = "wrong"
    outdated = "outdated"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


def pattern(enum: type[StrEnum]) -> str:
    """A regular expression matching exactly the enum's values (for query parameters)."""
    return "^(" + "|".join(values(enum)) + ")$"
