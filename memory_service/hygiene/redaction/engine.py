"""The machinery every detector plugs into: findings, regex rules, and applying them in order.

A stage looks at the text as the earlier stages left it and returns *hits*: the exact span of a
secret and its kind. Hits that overlap an existing placeholder, or each other, are dropped (the
first one wins), so later stages never re-redact or cut into what an earlier one replaced, and
text can be redacted twice without change.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

PLACEHOLDER_PREFIX = "[REDACTED:"
PLACEHOLDER = re.compile(r"\[REDACTED:[a-z_]{1,40}\]")


def placeholder(kind: str) -> str:
    return f"{PLACEHOLDER_PREFIX}{kind}]"


@dataclass(frozen=True, slots=True)
class Hit:
    """Replace text[start:end] by a placeholder of `kind`. `origin` is where the evidence
    began (a keyword before the value, say): evidence read out of an earlier placeholder, such
    as the word "password" in `[REDACTED:password]`, is no evidence, and the hit is dropped."""

    kind: str
    start: int
    end: int
    origin: int = -1


Stage = Callable[[str], Iterable[Hit]]
# A judge looks at one match and returns the hit to redact, or None to leave the text alone.
Judge = Callable[[re.Match[str]], Hit | None]


@dataclass(frozen=True)
class Rule:
    """A regular expression and the judge deciding what, if anything, in each match is secret.

    Every quantifier in `pattern` is bounded (tests/unit/test_redaction.py checks this): the
    input is untrusted and arrives in the request path.
    """

    pattern: re.Pattern[str]
    judge: Judge
    # Substrings one of which every match contains (lowercase: compared case-insensitively):
    # a text without any is skipped without running the pattern.
    needs: tuple[str, ...] = ()

    def __call__(self, text: str) -> Iterator[Hit]:
        if self.needs and not contains_any(text, self.needs):
            return
        for match in self.pattern.finditer(text):
            hit = self.judge(match)
            if hit is not None:
                yield hit


def contains_any(text: str, needles: tuple[str, ...]) -> bool:
    """Whether `text` contains one of `needles`; lowercase needles match in any case."""
    lowered: str | None = None
    for needle in needles:
        if needle.islower():
            if lowered is None:
                lowered = text.lower()
            if needle in lowered:
                return True
        elif needle in text:
            return True
    return False


VALUE_GROUPS = ("val", "qval", "sqval", "bval")


def value_span(match: re.Match[str]) -> tuple[int, int]:
    """The span of the secret: the value group that matched, else the whole match.

    Value groups end their patterns, so the last group closed is the value when there is one.
    """
    if match.lastgroup in VALUE_GROUPS:
        return match.span(match.lastgroup)
    for name in VALUE_GROUPS:
        if name in match.re.groupindex and match.group(name) is not None:
            return match.span(name)
    return match.span()


def value_of(match: re.Match[str]) -> str:
    start, end = value_span(match)
    return match.string[start:end]


def quoted(match: re.Match[str]) -> bool:
    """True when the value came from a quoted alternative of the pattern."""
    if match.lastgroup in VALUE_GROUPS:
        return match.lastgroup != "val"
    return any(
        name in match.re.groupindex and match.group(name) is not None
        for name in ("qval", "sqval", "bval")
    )


def hit(match: re.Match[str], kind: str | None) -> Hit | None:
    if kind is None:
        return None
    start, end = value_span(match)
    return Hit(kind, start, end, match.start())


def always(kind: str) -> Judge:
    return lambda m: hit(m, kind)


def apply(text: str, stages: Iterable[Stage], counts: dict[str, int]) -> str:
    """Run the stages in order; each replaces its hits before the next one looks."""
    taken: _Spans | None = None
    for stage in stages:
        hits = sorted((h for h in stage(text) if h.end > h.start), key=lambda h: (h.start, -h.end))
        if not hits:
            continue
        if taken is None:  # the placeholders change only when a stage replaced something
            taken = _Spans(m.span() for m in PLACEHOLDER.finditer(text))
        parts: list[str] = []
        position = 0
        for h in hits:
            if h.start < position or taken.overlaps(h.start, h.end) or taken.inside(h.origin):
                continue
            parts.append(text[position : h.start])
            parts.append(placeholder(h.kind))
            counts[h.kind] = counts.get(h.kind, 0) + 1
            position = h.end
        parts.append(text[position:])
        if position:
            text = "".join(parts)
            taken = None
    return text


class _Spans:
    """Sorted, disjoint spans (the placeholders already in the text), searched by bisection:
    a text can hold thousands of them, and a scan per hit would be quadratic."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        self._spans = list(spans)
        self._starts = [start for start, _ in self._spans]

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_left(self._starts, end) - 1  # the last span starting before `end`
        return i >= 0 and self._spans[i][1] > start

    def inside(self, position: int) -> bool:
        return position >= 0 and self.overlaps(position, position + 1)
