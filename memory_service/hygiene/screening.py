"""A handoff as it is delivered to a session: hidden markup removed from the body, and every
part an agent will read (header fields, the visible body, what was hidden) checked for text that
reads like an instruction to it. The stored handoff is not changed: people read it whole with
`GET /v1/handoffs/{id}`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from memory_service.hygiene.poison import instruction_flags
from memory_service.hygiene.textnorm import flatten, strip_hidden_markup

# The fields a delivery and the brief show besides the body.
HEADER_FIELDS = ("topic", "sender", "tool", "branch", "head")
# At most this many reasons are listed; the first of each part come first.
MAX_REASONS = 8


@dataclass(frozen=True)
class Screened:
    body: str  # without hidden markup
    hidden_markup: bool  # whether anything was removed
    reasons: tuple[str, ...] = ()  # "<part>: <why>"; empty: nothing flagged

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)


def field_flags(value: str | None) -> list[str]:
    """Why a header field reads like an instruction to an agent (empty: it does not)."""
    return instruction_flags(value) if value else []


@lru_cache(maxsize=512)
def _screen(body: str, fields: tuple[tuple[str, str], ...]) -> Screened:
    unhidden = strip_hidden_markup(body)
    reasons: list[str] = []

    def add(part: str, found: Iterable[str]) -> None:
        for reason in found:
            label = f"{part}: {reason}"
            if label not in reasons:
                reasons.append(label)

    for name, value in fields:
        add(name, field_flags(value))
    add("body", instruction_flags(unhidden.text))
    hidden = "\n\n".join(part for part in unhidden.hidden if part.strip())
    if hidden:
        add("hidden markup", instruction_flags(hidden))
    return Screened(
        body=unhidden.text,
        hidden_markup=bool(unhidden.hidden),
        reasons=tuple(reasons[:MAX_REASONS]),
    )


def screen(body: str, fields: dict[str, str | None]) -> Screened:
    """`body` without hidden markup, and why it or one of `fields` reads like an instruction.
    Results are cached: a handoff is screened again on each peek and claim."""
    given = tuple((name, value) for name, value in fields.items() if value)
    return _screen(body, given)


# Characters that cannot make markdown structure within a line (no emphasis, link, image,
# code, HTML, table or heading marks).
_PLAIN = re.compile(r"[\w .,;:@/+=?%-]*")


def inline(value: str, limit: int = 120) -> str:
    """A header field for a line of markdown: on one line, and as inline code unless it is
    plain words, so it cannot start a heading, a list, a link, an image or a quotation."""
    flat = flatten(value, limit)
    if _PLAIN.fullmatch(flat):
        return flat
    return "`" + flat.replace("`", "'") + "`"
