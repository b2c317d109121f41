"""Time-ordered UUIDs (version 7), so new rows land at the right end of every btree."""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b: 62 bits
    return uuid.UUID(int=value)


# A learning's short id: the last SHORT_ID_CHARS hex digits of its UUID. The leading digits
# are its creation time (learnings written together share them), the last 62 bits are random:
# 10 hex digits are 40 random bits, so among a team's million learnings a given short id
# names another one too with a chance of about one in a million (then the API answers 409
# with the candidates, and the full id settles it).
SHORT_ID_CHARS = 10
SHORT_ID_MIN_CHARS = 8
_HEX = frozenset("0123456789abcdef")


def short_id(value: uuid.UUID) -> str:
    return value.hex[-SHORT_ID_CHARS:]


def parse_ref(ref: str) -> uuid.UUID | str | None:
    """A learning as a person or agent names it: its full id (a UUID, with or without dashes)
    or a short id (the last 8-12 hex digits, case-insensitive). None when it is neither."""
    text = ref.strip().lower()
    if len(text) in (32, 36):
        try:
            return uuid.UUID(text)
        except ValueError:
            return None
    if SHORT_ID_MIN_CHARS <= len(text) <= 12 and set(text) <= _HEX:
        return text
    return None
