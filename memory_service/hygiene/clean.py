"""The cleaning every piece of text from outside gets before it is stored: escape sequences and
control characters removed (sanitize.py), then secrets replaced by typed placeholders
(redaction/). One place, so a handoff written over HTTP, a file loaded by `memory-service
import` and a query kept in the audit trail are cleaned alike.

Sanitising comes first: an escape sequence in the middle of a token would hide it from the
detector. The counts of what was redacted are added to a caller's `counts`, so one warning can
sum up a whole handoff (or a whole file)."""

from __future__ import annotations

from memory_service.hygiene.redaction import redact
from memory_service.hygiene.sanitize import sanitize_text

# Longest header field (sender, topic, ...) kept; the API refuses longer ones.
MAX_FIELD = 500


def clean_text(text: str, counts: dict[str, int], *, strip: bool = False) -> str:
    """`text` sanitised (and with `strip`, stripped) then redacted; what was redacted is added
    to `counts` (kind -> replacements)."""
    sanitized = sanitize_text(text)
    cleaned, found = redact(sanitized.strip() if strip else sanitized)
    for kind, n in found.items():
        counts[kind] = counts.get(kind, 0) + n
    return cleaned


def clean_field(value: object, counts: dict[str, int]) -> str | None:
    """A header field as stored: cleaned, stripped, at most MAX_FIELD characters; None when
    nothing is left (or nothing was given)."""
    if value is None:
        return None
    return clean_text(str(value), counts, strip=True)[:MAX_FIELD] or None


def redaction_warning(counts: dict[str, int]) -> str:
    """The warning that says what `counts` redacted."""
    kinds = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(counts.items()))
    return f"redacted {sum(counts.values())} secret(s) before storing: {kinds}"
