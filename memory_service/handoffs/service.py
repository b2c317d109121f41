"""Writing, reading and deleting handoffs. A write turns the markdown into typed, redacted,
embedded learnings and stores the handoff and its learnings in the request's one transaction:
first `prepare_handoff` (prepare.py: everything that needs neither the database nor the model),
then `store_handoff` (embed, lock, look for an earlier copy, insert, link near-duplicates)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import record
from memory_service.auth.service import Principal
from memory_service.embeddings import Embedder
from memory_service.errors import BadRequest, Conflict, NotFound
from memory_service.handoffs import queries
from memory_service.handoffs.evidence import check_citations as check_citations
from memory_service.handoffs.parsing import _split_front_matter as split_front_matter
from memory_service.handoffs.parsing import parse_handoff
from memory_service.handoffs.prepare import META_FIELDS as META_FIELDS
from memory_service.handoffs.prepare import PreparedHandoff, in_range, prepare_handoff
from memory_service.handoffs.prepare import content_hash as content_hash
from memory_service.handoffs.schemas import HandoffCreate
from memory_service.handoffs.sentinel import sentinel_for
from memory_service.hygiene.clean import clean_field
from memory_service.ids import new_id
from memory_service.learnings.service import (
    link_duplicates,
    link_later_knowledge,
    unlink_before_delete,
)
from memory_service.models import HandoffRow, LearningRow
from memory_service.projects import check_access, get_or_create_project
from memory_service.vocabulary import HandoffStatus


def without_front_matter(body: str) -> str:
    """The markdown after its front matter block, as the parser splits it (a page shows the
    front matter apart); the whole body when it has none, or one the parser kept as text."""
    return split_front_matter(body)[1]


def title(body: str) -> str | None:
    """A handoff's title as the parser reads it from the markdown (None without one)."""
    return parse_handoff(body).title


# Front matter fields a listing and a delivery show as they are (the agent-handoff convention:
# `name` says which handoff it is, `description` what it is about).
LABELS = ("name", "description")
_LABEL_CHARS = 500


def labels(handoff: HandoffRow) -> dict[str, str | None]:
    """The handoff's front matter `name` and `description`, when they are text."""
    front_matter = handoff.front_matter or {}
    found: dict[str, str | None] = {}
    for name in LABELS:
        value = front_matter.get(name)
        text = value.strip()[:_LABEL_CHARS] if isinstance(value, str) else ""
        found[name] = text or None
    return found


@dataclass
class Stored:
    handoff: HandoffRow
    project: str
    learnings: list[LearningRow]
    duplicate: bool = False
    warnings: list[str] = field(default_factory=list)
    # Its "Suggested skills" section's entries, read from the body (not learnings, no column).
    skills: list[str] = field(default_factory=list)


async def create_handoff(
    session: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    data: HandoffCreate,
    *,
    idempotency_key: str | None,
    max_learnings: int | None = None,
) -> Stored:
    """Prepares and stores `data`, and records `handoff.create` in the audit trail. The body
    size and the Idempotency-Key's form are checked at the HTTP edge (routes.py)."""
    check_access(principal, data.project)
    # Off the event loop: the text-search neutraliser and the instruction detector take long
    # enough on a long body to stall every other request.
    prepared = await asyncio.to_thread(prepare_handoff, data, max_learnings=max_learnings)
    stored = await store_handoff(
        session, embedder, principal, prepared, idempotency_key=idempotency_key
    )
    await record(
        session,
        principal,
        "handoff.create",
        target=("handoff", stored.handoff.id),
        details={
            "project": stored.project,
            "recipient": stored.handoff.recipient,
            "learnings": len(stored.learnings),
            "redactions": stored.handoff.redactions,
            "duplicate": stored.duplicate,
        },
    )
    return stored


async def store_handoff(
    session: AsyncSession,
    embedder: Embedder,
    principal: Principal,
    prepared: PreparedHandoff,
    *,
    idempotency_key: str | None,
) -> Stored:
    """Stores a prepared handoff in the session's transaction, or returns the handoff an
    earlier request with the same Idempotency-Key, or the same body still unread by the same
    recipient, stored."""
    # Embedding first, before any row lock is taken; one batched model call for the handoff.
    vectors = await embedder.aencode([x.embedded for x in prepared.learnings])
    project = await get_or_create_project(session, principal.team_id, prepared.project)
    if idempotency_key is not None:
        earlier = await _by_idempotency_key(session, principal, idempotency_key, prepared)
        if earlier is not None:
            return earlier
    twin = await _unread_twin(session, principal.team_id, project.id, prepared)
    if twin is not None:
        return twin
    handoff = _handoff(principal.team_id, project.id, prepared, idempotency_key)
    session.add(handoff)
    learnings = _learnings(handoff, prepared, vectors, embedder.name)
    await link_duplicates(session, learnings)
    await session.flush()  # the handoff's row, which the learnings' foreign key needs
    if learnings:
        await queries.insert_learnings(session, learnings)
        # What the new learnings replace, likely replace, or complete (learnings/supersession.py).
        await link_later_knowledge(session, handoff, learnings)
    return Stored(
        handoff=handoff,
        project=prepared.project,
        learnings=learnings,
        warnings=list(prepared.warnings),
    )


async def _by_idempotency_key(
    session: AsyncSession, principal: Principal, key: str, prepared: PreparedHandoff
) -> Stored | None:
    """The handoff stored under `key`, when the same request stored it; a Conflict when
    another request did."""
    await queries.lock(session, str(principal.team_id), "idem", key)
    existing = await queries.by_idempotency_key(session, principal.team_id, key)
    if existing is None:
        return None
    if existing.request_hash != prepared.request_hash:
        # The first handoff's id only for a key that may read it: a key limited to other
        # projects learns nothing about it.
        slug = await queries.project_slug(session, existing)
        readable = principal.may_access(slug or "")
        raise Conflict(
            "this Idempotency-Key was already used with a different request",
            details={"handoff_id": str(existing.id)} if readable else None,
        )
    return await _stored(session, existing, duplicate=True)


async def _unread_twin(
    session: AsyncSession, team_id: uuid.UUID, project_id: uuid.UUID, prepared: PreparedHandoff
) -> Stored | None:
    """The same body, still unread by the same recipient: returned instead of a second copy."""
    recipient, content_hash = prepared.recipient, prepared.content_hash
    await queries.lock(session, str(team_id), str(project_id), recipient, content_hash)
    twin = await queries.unread_twin(session, team_id, project_id, recipient, content_hash)
    if twin is None:
        return None
    stored = await _stored(session, twin, duplicate=True)
    stored.warnings.append(
        f"identical to unread handoff {twin.id} ({twin.sentinel}); nothing new was stored"
    )
    return stored


def _handoff(
    team_id: uuid.UUID,
    project_id: uuid.UUID,
    prepared: PreparedHandoff,
    idempotency_key: str | None,
) -> HandoffRow:
    handoff_id = new_id()
    handoff = HandoffRow(
        team_id=team_id,
        id=handoff_id,
        project_id=project_id,
        recipient=prepared.recipient,
        front_matter=prepared.front_matter,
        body=prepared.body,
        files=list(prepared.files),
        commands=list(prepared.commands),
        warnings=list(prepared.warnings),
        redactions=prepared.redactions,
        sentinel=sentinel_for(handoff_id),
        content_hash=prepared.content_hash,
        idempotency_key=idempotency_key,
        request_hash=prepared.request_hash if idempotency_key else None,
        visibility=prepared.visibility,
        created_at=prepared.created_at,
        **prepared.meta,
    )
    if prepared.already_read:
        # Imported from an inbox where it was already delivered: never delivered again.
        handoff.status, handoff.claimed_at, handoff.claimed_by = (
            HandoffStatus.read,
            datetime.now(UTC),
            "import",
        )
    return handoff


def _learnings(
    handoff: HandoffRow, prepared: PreparedHandoff, vectors: npt.NDArray[np.float32], model: str
) -> list[LearningRow]:
    return [
        LearningRow(
            team_id=handoff.team_id,
            id=new_id(),
            handoff_id=handoff.id,
            project_id=handoff.project_id,
            kind=item.kind,
            text=item.text,
            section=item.section,
            position=item.position,
            content_hash=item.content_hash,
            embedding=vector,
            embedding_model=model,
            occurrences=1,
            uses=0,
            helpful=0,
            citations=list(item.citations),
            visibility=prepared.visibility,
            flagged=bool(item.flags),
            flag_reason="; ".join(item.flags) or None,
            created_at=prepared.created_at,
        )
        for item, vector in zip(prepared.learnings, vectors, strict=True)
    ]


async def _stored(session: AsyncSession, handoff: HandoffRow, *, duplicate: bool) -> Stored:
    return Stored(
        handoff=handoff,
        project=await queries.project_slug(session, handoff) or "",
        learnings=await queries.learnings_of(session, handoff),
        duplicate=duplicate,
        warnings=list(handoff.warnings),
    )


async def get_handoff(session: AsyncSession, principal: Principal, handoff_id: uuid.UUID) -> Stored:
    handoff = await queries.get(session, principal.team_id, handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}")
    stored = await _stored(session, handoff, duplicate=False)
    check_access_or_hide(principal, stored.project, handoff_id)
    stored.skills = parse_handoff(handoff.body).skills
    return stored


def check_access_or_hide(principal: Principal, slug: str, handoff_id: uuid.UUID) -> None:
    # A key limited to other projects learns nothing, not even that the handoff exists.
    if not principal.may_access(slug):
        raise NotFound(f"no handoff {handoff_id}")


async def delete_handoff(
    session: AsyncSession, principal: Principal, handoff_id: uuid.UUID
) -> None:
    stored = await get_handoff(session, principal, handoff_id)
    await unlink_before_delete(session, principal.team_id, [x.id for x in stored.learnings])
    await queries.delete(session, stored.handoff)
    await record(session, principal, "handoff.delete", target=("handoff", handoff_id))


async def mark_read(
    session: AsyncSession, principal: Principal, handoff_id: uuid.UUID, *, by: str | None
) -> tuple[Stored, bool]:
    """Marks one handoff read: no session is given it afterwards (it was delivered some other
    way, by the file-based inbox it was imported from, say). A read handoff stays read: nothing
    makes one unread again. Recorded as `handoff.read` in the audit trail, also when it changed
    nothing. Returns the handoff as it is now, and whether this call changed it."""
    await get_handoff(session, principal, handoff_id)  # 404 unless the key may read it
    claimer = clean_field(by, {}) if by else None
    changed = await queries.mark_read(
        session, principal.team_id, handoff_id, claimer=claimer or f"key:{principal.prefix}"
    )
    handoff = await queries.get(session, principal.team_id, handoff_id, fresh=True)
    if handoff is None:  # deleted by another request in between
        raise NotFound(f"no handoff {handoff_id}")
    await record(
        session,
        principal,
        "handoff.read",
        target=("handoff", handoff_id),
        details={"changed": changed, "by": handoff.claimed_by},
    )
    return await _stored(session, handoff, duplicate=False), changed


def encode_cursor(created_at: datetime, handoff_id: uuid.UUID) -> str:
    # Written in UTC: an offset with seconds or microseconds (hypothesis found one) does not
    # survive `fromisoformat` on Python 3.11, and the cursor must read back exactly.
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), str(handoff_id)]).encode()
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
    if when.tzinfo is None or not in_range(when) or encode_cursor(when, ident) != cursor:
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
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[tuple[HandoffRow, str]], str | None]:
    """A page of handoffs, newest first (`since` / `until`: received at or after, before)."""
    if project is not None:
        check_access(principal, project)
    rows = await queries.page(
        session,
        principal.team_id,
        project=project,
        readable=principal.projects,
        recipient=recipient,
        status=status,
        after=decode_cursor(cursor) if cursor is not None else None,
        limit=limit + 1,
        since=since,
        until=until,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor(last.created_at, last.id)
    return rows, next_cursor


async def learning_counts(
    session: AsyncSession, principal: Principal, handoff_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many learnings each handoff of a page has (handoffs the caller listed: read)."""
    return await queries.learning_counts(session, principal.team_id, handoff_ids)
