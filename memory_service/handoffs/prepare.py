"""The first step of a write: a handoff request turned into what will be stored, with no
database and no model. Text hygiene (hygiene/clean.py), parsing, the fields the request left
out taken from the front matter, the recipient, visibility and date rules, the warnings, the
texts to embed and the instruction flags. Everything refused is refused here, before anything
is embedded or locked."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from memory_service.errors import InvalidInput, PayloadTooLarge
from memory_service.handoffs.evidence import attach_blobs, extract_citations
from memory_service.handoffs.parsing import ParsedLearning, parse_handoff
from memory_service.handoffs.schemas import HandoffCreate
from memory_service.hygiene.clean import clean_field, clean_text, redaction_warning
from memory_service.hygiene.poison import instruction_flags
from memory_service.hygiene.sanitize import sanitize_text
from memory_service.hygiene.textsearch import for_text_search
from memory_service.learnings.service import embedding_text, text_hash
from memory_service.names import check_visible, check_worktree
from memory_service.vocabulary import HandoffStatus, Visibility, values

META_FIELDS = ("sender", "topic", "tool", "branch", "head", "session_id")
# Front-matter keys that fill a field the request left out.
_FRONT_MATTER_KEYS = {
    "sender": ("from",),
    "recipient": ("to",),
    "topic": ("topic", "name"),
    "tool": ("session_tool", "tool"),
    "branch": ("branch",),
    "head": ("head",),
    "session_id": ("session_id",),
    "visibility": ("visibility",),
}

# Dates outside this range are typos or probes, and one near year 1 or 9999 can shift out
# of what PostgreSQL and Python both represent once moved to UTC.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# A writer's clock may run a little ahead; a date further out is a typo or an attempt to keep
# a handoff at the top of every listing and fresh in every ranking.
MAX_FUTURE = timedelta(days=1)


@dataclass(frozen=True)
class PreparedLearning:
    kind: str
    text: str  # as stored: cleaned, and as the text-search parser reads in linear time
    section: str
    position: int
    content_hash: str
    embedded: str  # the text that is embedded (learnings/embedding_text.py)
    flags: tuple[str, ...]  # why it reads like an instruction to an agent; empty: it does not
    # The repository files it cites (handoffs/evidence.py), with their blob ids when the
    # writer sent its git state: [{"path", "blob", "line", "symbol"}].
    citations: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class PreparedHandoff:
    project: str
    request_hash: str  # of the request as sent: an Idempotency-Key's reuse must match it
    body: str
    content_hash: str
    recipient: str
    meta: dict[str, str | None]  # META_FIELDS, cleaned
    visibility: str
    created_at: datetime
    already_read: bool  # imported from an inbox where it was already delivered
    front_matter: dict[str, Any]
    files: tuple[str, ...]
    commands: tuple[str, ...]
    redactions: int
    warnings: tuple[str, ...]
    learnings: tuple[PreparedLearning, ...]


def content_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def in_range(when: datetime) -> bool:
    try:
        return _EARLIEST <= when <= _LATEST
    except OverflowError:
        return False


def prepare_handoff(data: HandoffCreate, *, max_learnings: int | None = None) -> PreparedHandoff:
    """What `data` stores, or the InvalidInput / PayloadTooLarge that refuses it. CPU-bound (up
    to ~0.2 s for a hostile body at the size limit): run it off the event loop."""
    counts: dict[str, int] = {}
    body = clean_text(data.body, counts)
    if not body.strip():
        raise InvalidInput("handoff body is empty once control characters are removed")
    parsed = parse_handoff(body)
    if max_learnings is not None and len(parsed.learnings) > max_learnings:
        # Refused before anything is embedded: 10,000 bullets were ~40 s of model time.
        raise PayloadTooLarge(
            f"handoff has {len(parsed.learnings)} learnings (bullets or paragraphs); at most "
            f"{max_learnings} are accepted: keep the points that matter to the next session",
            code="too_many_learnings",
            details={"learnings": len(parsed.learnings), "limit": max_learnings},
        )
    front_matter = parsed.front_matter
    # The recipient as written: sanitising strips bidi controls and byte order marks, and
    # cleaning would strip the rest, but a name with a character nobody sees is another inbox
    # than the one it looks like, so it is refused instead.
    unchanged = sanitize_text(data.body) == data.body
    _check_visible_recipient(
        data, front_matter if unchanged else parse_handoff(data.body).front_matter
    )
    meta = {name: clean_field(_pick(data, name, front_matter), counts) for name in META_FIELDS}
    recipient = _recipient(
        clean_field(_pick(data, "recipient", front_matter), counts) or meta["sender"]
    )
    visibility = _pick(data, "visibility", front_matter) or Visibility.team
    if visibility not in values(Visibility):
        raise InvalidInput("visibility must be `team` or `project`")
    warnings = list(parsed.warnings)
    created_at = _created_at(data, front_matter, warnings)
    if counts:
        warnings.append(redaction_warning(counts))
    if not parsed.learnings:
        warnings.append("no learnings found: nothing from this handoff will show up in search")
    blobs = data.git.blobs if data.git is not None else None
    learnings = tuple(_learning(item, parsed.files, blobs) for item in parsed.learnings)
    flagged = [x for x in learnings if x.flags]
    if flagged:
        warnings.append(
            f"{len(flagged)} learning(s) read like instructions to an agent "
            f"({'; '.join(flagged[0].flags)}); stored, but shown only as quoted data under a "
            "warning"
        )
    return PreparedHandoff(
        project=data.project,
        request_hash=_request_hash(data),
        body=body,
        content_hash=content_hash(body),
        recipient=recipient,
        meta=meta,
        visibility=visibility,
        created_at=created_at,
        already_read=data.status == HandoffStatus.read,
        front_matter=front_matter,
        files=tuple(parsed.files),
        commands=tuple(parsed.commands),
        redactions=sum(counts.values()),
        warnings=tuple(warnings),
        learnings=learnings,
    )


def _request_hash(data: HandoffCreate) -> str:
    # `status` left out when unset, so requests hash as they did before the field existed.
    # `git` likewise: requests without it hash as they did before it existed.
    unset = {name for name in ("status", "git") if getattr(data, name) is None}
    dump = data.model_dump(mode="json", exclude=unset or None)
    return content_hash(json.dumps(dump, sort_keys=True))


def _pick(data: HandoffCreate, name: str, front_matter: dict[str, Any]) -> Any:
    """Field `name` as the request gives it, else from the front matter."""
    given = getattr(data, name)
    if given is not None:
        return given
    for key in _FRONT_MATTER_KEYS[name]:
        if front_matter.get(key) not in (None, ""):
            return front_matter[key]
    return None


def _check_visible_recipient(data: HandoffCreate, written: dict[str, Any]) -> None:
    named = _pick(data, "recipient", written)
    if named is None:
        named = _pick(data, "sender", written) or ""
    try:
        check_visible(str(named), "recipient")
    except ValueError as exc:
        raise InvalidInput(f"recipient: {exc}") from exc


def _recipient(recipient: str | None) -> str:
    if recipient is None:
        raise InvalidInput(
            "recipient is required: pass `recipient`, front matter `to`, or `sender`"
        )
    try:
        return check_worktree(recipient)
    except ValueError as exc:
        raise InvalidInput(f"recipient: {exc}") from exc


def _created_at(data: HandoffCreate, front_matter: dict[str, Any], warnings: list[str]) -> datetime:
    created_at = data.created_at or _front_matter_created(front_matter, warnings)
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if not in_range(created_at):
        raise InvalidInput("created_at must be between 1970 and 2200")
    now = datetime.now(UTC)
    if created_at <= now + MAX_FUTURE:
        return created_at
    what = "created_at" if data.created_at else "front matter `created`"
    warnings.append(
        f"{what} ({created_at.isoformat()}) is more than a day in the future; used arrival time"
    )
    return now


def _front_matter_created(front_matter: dict[str, Any], warnings: list[str]) -> datetime:
    raw = front_matter.get("created")
    if raw:
        try:
            parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            if in_range(parsed):
                return parsed
            warnings.append(
                f"front matter `created` ({str(raw)[:40]}) is out of range; used arrival time"
            )
            return datetime.now(UTC)
        except (ValueError, OverflowError):
            warnings.append(
                f"front matter `created` is not an ISO date ({str(raw)[:40]!r}); used arrival time"
            )
    return datetime.now(UTC)


def _learning(
    item: ParsedLearning, files: list[str], blobs: dict[str, str] | None
) -> PreparedLearning:
    # What is stored, embedded and indexed: text PostgreSQL's text-search parser reads in
    # linear time (the `tsv` column is computed from it; see hygiene/textsearch.py).
    stored = for_text_search(item.text)
    return PreparedLearning(
        kind=item.kind,
        text=stored,
        section=item.section,
        position=item.position,
        content_hash=text_hash(stored),
        embedded=embedding_text(item.kind, stored, section=item.section),
        flags=tuple(instruction_flags(item.text)),
        citations=tuple(attach_blobs(extract_citations(item.text, files), blobs)),
    )
