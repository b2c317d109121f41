"""Writing, reading and deleting handoffs. A write turns the markdown into typed, redacted,
embedded learnings and stores the handoff and its learnings in the request's one transaction."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal
from memory_service.db import advisory_key
from memory_service.embeddings import Embedder
from memory_service.errors import BadRequest, Conflict, InvalidInput, NotFound, PayloadTooLarge
from memory_service.handoffs.parsing import parse_handoff
from memory_service.handoffs.schemas import HandoffCreate
from memory_service.handoffs.sentinel import sentinel_for
from memory_service.hygiene.poison import instruction_flags
from memory_service.hygiene.redaction import redact
from memory_service.hygiene.sanitize import sanitize_text
from memory_service.hygiene.textsearch import for_text_search
from memory_service.ids import new_id
from memory_service.learnings.duplicates import link_duplicates, unlink_before_delete
from memory_service.learnings.embedding_text import embedding_text
from memory_service.models import Handoff, Learning, Project
from memory_service.names import check_visible, check_worktree
from memory_service.projects import check_access, get_or_create_project
from memory_service.vocabulary import HandoffStatus, Visibility, values

_META_FIELDS = ("sender", "topic", "tool", "branch", "head", "session_id")
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
MAX_IDEMPOTENCY_KEY = 200


@dataclass
class Stored:
    handoff: Handoff
    project: str
    learnings: list[Learning]
    duplicate: bool = False
    warnings: list[str] = field(default_factory=list)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _clean(value: Any, counts: dict[str, int]) -> str | None:
    if value is None:
        return None
    cleaned, found = redact(sanitize_text(str(value)).strip())
    for kind, n in found.items():
        counts[kind] = counts.get(kind, 0) + n
    return cleaned[:500] or None


# Dates outside this range are typos or probes, and one near year 1 or 9999 can shift out
# of what PostgreSQL and Python both represent once moved to UTC.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


# A writer's clock may run a little ahead; a date further out is a typo or an attempt to keep
# a handoff at the top of every listing and fresh in every ranking.
MAX_FUTURE = timedelta(days=1)


def _in_range(when: datetime) -> bool:
    try:
        return _EARLIEST <= when <= _LATEST
    except OverflowError:
        return False


def _not_ahead(when: datetime, what: str, warnings: list[str]) -> datetime:
    """`when`, or the arrival time with a warning when it is more than MAX_FUTURE ahead."""
    now = datetime.now(UTC)
    if when <= now + MAX_FUTURE:
        return when
    warnings.append(
        f"{what} ({when.isoformat()}) is more than a day in the future; used arrival time"
    )
    return now


def _created_at(front_matter: dict[str, Any], warnings: list[str]) -> datetime:
    raw = front_matter.get("created")
    if raw:
        try:
            parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            if _in_range(parsed):
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


def _redaction_warning(counts: dict[str, int]) -> str:
    kinds = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in sorted(counts.items()))
    return f"redacted {sum(counts.values())} secret(s) before storing: {kinds}"


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters")
    return key


async def create_handoff(
    session: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    data: HandoffCreate,
    *,
    idempotency_key: str | None,
    max_body_bytes: int,
    max_learnings: int | None = None,
) -> Stored:
    if len(data.body.encode()) > max_body_bytes:
        raise PayloadTooLarge(
            f"handoff body is over the {max_body_bytes}-byte limit; keep handoffs short and "
            "point at files instead of pasting them",
            details={"limit_bytes": max_body_bytes},
        )
    check_access(principal, data.project)
    idempotency_key = check_idempotency_key(idempotency_key)
    # `status` left out when unset, so requests hash as they did before the field existed.
    dump = data.model_dump(mode="json", exclude={"status"} if data.status is None else None)
    request_hash = _hash(json.dumps(dump, sort_keys=True))

    counts: dict[str, int] = {}
    sanitized = sanitize_text(data.body)
    body, found = redact(sanitized)
    counts.update(found)
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
    warnings = list(parsed.warnings)
    front_matter = parsed.front_matter

    def pick(name: str, source: dict[str, Any] = front_matter) -> Any:
        given = getattr(data, name)
        if given is not None:
            return given
        for key in _FRONT_MATTER_KEYS[name]:
            if source.get(key) not in (None, ""):
                return source[key]
        return None

    # The recipient as written: sanitising strips bidi controls and byte order marks, and
    # cleaning would strip the rest, but a name with a character nobody sees is another inbox
    # than the one it looks like, so it is refused instead.
    written = front_matter if sanitized == data.body else parse_handoff(data.body).front_matter
    named = pick("recipient", written)
    try:
        check_visible(
            str(named if named is not None else pick("sender", written) or ""), "recipient"
        )
    except ValueError as exc:
        raise InvalidInput(f"recipient: {exc}") from exc
    meta = {name: _clean(pick(name), counts) for name in _META_FIELDS}
    recipient = _clean(pick("recipient"), counts) or meta["sender"]
    if recipient is None:
        raise InvalidInput(
            "recipient is required: pass `recipient`, front matter `to`, or `sender`"
        )
    try:
        recipient = check_worktree(recipient)
    except ValueError as exc:
        raise InvalidInput(f"recipient: {exc}") from exc
    visibility = pick("visibility") or Visibility.team
    if visibility not in values(Visibility):
        raise InvalidInput("visibility must be `team` or `project`")
    created_at = data.created_at or _created_at(front_matter, warnings)
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if not _in_range(created_at):
        raise InvalidInput("created_at must be between 1970 and 2200")
    created_at = _not_ahead(
        created_at, "created_at" if data.created_at else "front matter `created`", warnings
    )
    if counts:
        warnings.append(_redaction_warning(counts))
    if not parsed.learnings:
        warnings.append("no learnings found: nothing from this handoff will show up in search")

    # What is stored, embedded and indexed: text PostgreSQL's text-search parser reads in
    # linear time (the `tsv` column is computed from it; see textsearch.py). Up to ~0.2 s for a
    # hostile body at the size limit: off the event loop.
    texts = await asyncio.to_thread(lambda: [for_text_search(p.text) for p in parsed.learnings])
    # Embedding first, before any row lock is taken; one batched model call for the handoff.
    vectors = await embedder.aencode(
        [
            embedding_text(p.kind, stored, section=p.section)
            for p, stored in zip(parsed.learnings, texts, strict=True)
        ]
    )

    # Off the event loop too: on a long learning the instruction detector (poison.py) takes
    # long enough to stall every other request.
    flags = await asyncio.to_thread(lambda: [instruction_flags(p.text) for p in parsed.learnings])

    project = await get_or_create_project(session, principal.team_id, data.project)
    if idempotency_key is not None:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"),
            {"k": advisory_key(str(principal.team_id), "idem", idempotency_key)},
        )
        existing = await session.scalar(
            select(Handoff).where(
                Handoff.team_id == principal.team_id, Handoff.idempotency_key == idempotency_key
            )
        )
        if existing is not None:
            if existing.request_hash != request_hash:
                # The first handoff's id only for a key that may read it: a key limited to
                # other projects learns nothing about it.
                slug = await session.scalar(
                    select(Project.slug).where(
                        Project.team_id == existing.team_id, Project.id == existing.project_id
                    )
                )
                readable = principal.projects is None or slug in principal.projects
                raise Conflict(
                    "this Idempotency-Key was already used with a different request",
                    details={"handoff_id": str(existing.id)} if readable else None,
                )
            return await _stored(session, existing, duplicate=True)

    content_hash = _hash(body)
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:k)"),
        {"k": advisory_key(str(principal.team_id), str(project.id), recipient, content_hash)},
    )
    twin = await session.scalar(
        select(Handoff).where(
            Handoff.team_id == principal.team_id,
            Handoff.project_id == project.id,
            Handoff.recipient == recipient,
            Handoff.content_hash == content_hash,
            Handoff.status == HandoffStatus.unread,
        )
    )
    if twin is not None:
        stored = await _stored(session, twin, duplicate=True)
        stored.warnings.append(
            f"identical to unread handoff {twin.id} ({twin.sentinel}); nothing new was stored"
        )
        return stored

    handoff_id = new_id()
    handoff = Handoff(
        team_id=principal.team_id,
        id=handoff_id,
        project_id=project.id,
        recipient=recipient,
        front_matter=front_matter,
        body=body,
        files=parsed.files,
        commands=parsed.commands,
        warnings=warnings,
        redactions=sum(counts.values()),
        sentinel=sentinel_for(handoff_id),
        content_hash=content_hash,
        idempotency_key=idempotency_key,
        request_hash=request_hash if idempotency_key else None,
        visibility=visibility,
        created_at=created_at,
        **meta,
    )
    if data.status == HandoffStatus.read:
        # Imported from an inbox where it was already delivered: never delivered again.
        handoff.status, handoff.claimed_at, handoff.claimed_by = (
            HandoffStatus.read,
            datetime.now(UTC),
            "import",
        )
    session.add(handoff)
    learnings = [
        Learning(
            team_id=principal.team_id,
            id=new_id(),
            handoff_id=handoff_id,
            project_id=project.id,
            kind=item.kind,
            text=stored,
            section=item.section,
            position=item.position,
            content_hash=_hash(" ".join(stored.lower().split())),
            embedding=vector,
            embedding_model=embedder.name,
            occurrences=1,
            visibility=visibility,
            flagged=bool(found),
            flag_reason="; ".join(found) or None,
            created_at=created_at,
        )
        for item, stored, vector, found in zip(parsed.learnings, texts, vectors, flags, strict=True)
    ]
    flagged = [x for x in learnings if x.flagged]
    if flagged:
        warnings.append(
            f"{len(flagged)} learning(s) read like instructions to an agent "
            f"({flagged[0].flag_reason}); stored, but shown only as quoted data under a warning"
        )
    await link_duplicates(session, learnings)
    await session.flush()  # the handoff's row, which the learnings' foreign key needs
    if learnings:
        # One multi-row INSERT through Core: the ORM's unit of work (identity map, state
        # tracking, per-object events) cost ~0.3 ms of the event loop per learning, for
        # objects that are only read back for the response.
        await session.execute(insert(_LEARNINGS), [_row(x) for x in learnings])
    return Stored(handoff=handoff, project=data.project, learnings=learnings, warnings=warnings)


_LEARNINGS = cast(Table, Learning.__table__)
_LEARNING_COLUMNS = [c.key for c in _LEARNINGS.columns if c.computed is None]


def _row(learning: Learning) -> dict[str, Any]:
    return {key: getattr(learning, key) for key in _LEARNING_COLUMNS}


async def _stored(session: AsyncSession, handoff: Handoff, *, duplicate: bool) -> Stored:
    learnings = list(
        await session.scalars(
            select(Learning)
            .where(Learning.team_id == handoff.team_id, Learning.handoff_id == handoff.id)
            .order_by(Learning.position)
        )
    )
    slug = await session.scalar(
        select(Project.slug).where(
            Project.team_id == handoff.team_id, Project.id == handoff.project_id
        )
    )
    return Stored(
        handoff=handoff,
        project=slug or "",
        learnings=learnings,
        duplicate=duplicate,
        warnings=list(handoff.warnings),
    )


async def get_handoff(session: AsyncSession, principal: Principal, handoff_id: uuid.UUID) -> Stored:
    handoff = await session.scalar(
        select(Handoff).where(Handoff.team_id == principal.team_id, Handoff.id == handoff_id)
    )
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}")
    stored = await _stored(session, handoff, duplicate=False)
    check_access_or_hide(principal, stored.project, handoff_id)
    return stored


def check_access_or_hide(principal: Principal, slug: str, handoff_id: uuid.UUID) -> None:
    # A key limited to other projects learns nothing, not even that the handoff exists.
    if principal.projects is not None and slug not in principal.projects:
        raise NotFound(f"no handoff {handoff_id}")


async def delete_handoff(
    session: AsyncSession, principal: Principal, handoff_id: uuid.UUID
) -> None:
    stored = await get_handoff(session, principal, handoff_id)
    await unlink_before_delete(session, principal.team_id, [x.id for x in stored.learnings])
    # Learnings go with it (ON DELETE CASCADE on the composite foreign key).
    await session.delete(stored.handoff)
    await session.flush()


def encode_cursor(received_at: datetime, handoff_id: uuid.UUID) -> str:
    raw = json.dumps([received_at.isoformat(), str(handoff_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a `next_cursor` names; anything else is a 400, whatever its shape."""
    invalid = BadRequest("invalid cursor; pass back `next_cursor` unchanged")
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # binascii.Error, UnicodeError, JSONDecodeError
        raise invalid from exc
    if (
        not isinstance(decoded, list)
        or len(decoded) != 2
        or not all(isinstance(part, str) for part in decoded)
    ):
        raise invalid
    try:
        when, ident = datetime.fromisoformat(decoded[0]), uuid.UUID(decoded[1])
    except ValueError as exc:
        raise invalid from exc
    # Always aware and in range when the service wrote it (a naive one would be read in the
    # database session's time zone), and written exactly so: `fromisoformat` lets some other
    # spellings through.
    if when.tzinfo is None or not _in_range(when) or encode_cursor(when, ident) != cursor:
        raise invalid
    return when, ident


async def list_handoffs(
    session: AsyncSession,
    principal: Principal,
    *,
    project: str | None,
    recipient: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Handoff, str]], str | None]:
    query = (
        select(Handoff, Project.slug)
        .join(Project, (Project.team_id == Handoff.team_id) & (Project.id == Handoff.project_id))
        .where(Handoff.team_id == principal.team_id)
    )
    if project is not None:
        check_access(principal, project)
        query = query.where(Project.slug == project)
    if principal.projects is not None:
        query = query.where(Project.slug.in_(principal.projects))
    if recipient is not None:
        query = query.where(Handoff.recipient == recipient)
    if status is not None:
        query = query.where(Handoff.status == status)
    if cursor is not None:
        when, ident = decode_cursor(cursor)
        query = query.where(
            (Handoff.received_at < when) | ((Handoff.received_at == when) & (Handoff.id < ident))
        )
    query = query.order_by(Handoff.received_at.desc(), Handoff.id.desc()).limit(limit + 1)
    rows = [(h, slug) for h, slug in (await session.execute(query)).all()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor(last.received_at, last.id)
    return rows, next_cursor
