"""/v1/handoffs: write (JSON or raw markdown), read, list, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import ValidationError

from memory_service.deps import EmbedderDep, Reader, SessionDep, StateDep, Writer
from memory_service.errors import (
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
    validation_details,
)
from memory_service.handoffs import service
from memory_service.handoffs.schemas import (
    Handoff,
    HandoffCreate,
    HandoffCreated,
    HandoffPage,
    HandoffSummary,
    LearningBrief,
    MarkedRead,
    MarkRead,
)
from memory_service.models import HandoffRow, LearningRow
from memory_service.names import ProjectSlug, WorktreeName
from memory_service.vocabulary import HandoffStatus, Visibility, pattern

router = APIRouter(prefix="/v1", tags=["handoffs"])

_MARKDOWN_TYPES = ("text/markdown", "text/plain", "text/x-markdown")
# Room for JSON escaping and the other fields around a body at the size limit.
_JSON_OVERHEAD = 2
MAX_IDEMPOTENCY_KEY = 200


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _idempotency_key(key: str | None) -> str | None:
    if key is not None and (not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable()):
        raise InvalidInput(f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters")
    return key


def _validation(exc: ValidationError) -> InvalidInput:
    details = validation_details(exc.errors())
    first = details[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return InvalidInput(f"{where}: {first['msg']}", details=details)


def _briefs(learnings: list[LearningRow]) -> list[LearningBrief]:
    return [LearningBrief(id=item.id, kind=item.kind, text=item.text) for item in learnings]


def _summary(row: HandoffRow, project: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "sentinel": row.sentinel,
        "project": project,
        "recipient": row.recipient,
        "sender": row.sender,
        "topic": row.topic,
        "tool": row.tool,
        "branch": row.branch,
        "head": row.head,
        "session_id": row.session_id,
        "visibility": row.visibility,
        "status": row.status,
        "created_at": row.created_at,
        "received_at": row.received_at,
        "claimed_at": row.claimed_at,
        "claimed_by": row.claimed_by,
        **service.labels(row),
    }


# Read by the route itself (JSON or markdown), so published by the app (app.py).
BODY_SCHEMAS = (HandoffCreate,)
_HANDOFF_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HandoffCreate"}},
            "text/markdown": {"schema": {"type": "string", "minLength": 1}},
        },
    }
}


@router.post(
    "/handoffs",
    status_code=201,
    response_model=HandoffCreated,
    openapi_extra=_HANDOFF_BODY,
    responses={409: {"description": "Idempotency-Key reused with another body"}, 413: {}},
)
async def create_handoff(
    request: Request,
    state: StateDep,
    session: SessionDep,
    embedder: EmbedderDep,
    principal: Writer,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    project: Annotated[ProjectSlug | None, Query(description="With text/markdown bodies")] = None,
    recipient: Annotated[WorktreeName | None, Query()] = None,
    sender: Annotated[str | None, Query(max_length=500)] = None,
    topic: Annotated[str | None, Query(max_length=500)] = None,
    tool: Annotated[str | None, Query(max_length=500)] = None,
    branch: Annotated[str | None, Query(max_length=500)] = None,
    head: Annotated[str | None, Query(max_length=500)] = None,
    session_id: Annotated[str | None, Query(max_length=500)] = None,
    visibility: Annotated[str | None, Query(pattern=pattern(Visibility))] = None,
) -> HandoffCreated:
    """Store a handoff for a worktree's inbox and split it into searchable learnings.

    Send JSON (`HandoffCreate`), or the markdown itself as `text/markdown` with `?project=`
    and the rest from its front matter."""
    limit = state.settings.max_body_bytes
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    raw = await _read_limited(request, limit * _JSON_OVERHEAD + 16 * 1024)
    try:
        if content_type in _MARKDOWN_TYPES:
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput("the markdown body is not valid UTF-8") from exc
            if project is None:
                raise InvalidInput("`?project=` is required with a text/markdown body")
            # The query parameters are HandoffCreate's fields (the client's create_handoff sends
            # the same list as JSON); the model below validates them as it would a JSON body.
            fields = {
                "project": project,
                "body": body,
                "recipient": recipient,
                "sender": sender,
                "topic": topic,
                "tool": tool,
                "branch": branch,
                "head": head,
                "session_id": session_id,
                "visibility": visibility,
            }
            data = HandoffCreate.model_validate({k: v for k, v in fields.items() if v is not None})
        elif content_type == "application/json":
            data = HandoffCreate.model_validate_json(raw or b"null")
        else:
            raise UnsupportedMediaType(
                f"unsupported Content-Type {content_type!r}: send application/json or text/markdown"
            )
    except ValidationError as exc:
        raise _validation(exc) from exc
    if len(data.body.encode()) > limit:
        raise PayloadTooLarge(
            f"handoff body is over the {limit}-byte limit; keep handoffs short and "
            "point at files instead of pasting them",
            details={"limit_bytes": limit},
        )
    stored = await service.create_handoff(
        session,
        embedder,
        principal,
        data,
        idempotency_key=_idempotency_key(idempotency_key),
        max_learnings=state.settings.max_learnings_per_handoff,
    )
    return HandoffCreated(
        id=stored.handoff.id,
        sentinel=stored.handoff.sentinel,
        project=stored.project,
        recipient=stored.handoff.recipient,
        created_at=stored.handoff.created_at,
        learnings=_briefs(stored.learnings),
        redactions=stored.handoff.redactions,
        warnings=stored.warnings,
        duplicate=stored.duplicate,
    )


@router.get("/handoffs", response_model=HandoffPage)
async def list_handoffs(
    session: SessionDep,
    principal: Reader,
    project: Annotated[ProjectSlug | None, Query()] = None,
    recipient: Annotated[WorktreeName | None, Query()] = None,
    status: Annotated[str | None, Query(pattern=pattern(HandoffStatus))] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> HandoffPage:
    """Handoffs, newest first, one page at a time (pass `next_cursor` back as `cursor`)."""
    rows, next_cursor = await service.list_handoffs(
        session,
        principal,
        project=project,
        recipient=recipient,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return HandoffPage(
        items=[HandoffSummary.model_validate(_summary(h, slug)) for h, slug in rows],
        next_cursor=next_cursor,
    )


@router.get("/handoffs/{handoff_id}", response_model=Handoff, responses={404: {}})
async def get_handoff(handoff_id: uuid.UUID, session: SessionDep, principal: Reader) -> Handoff:
    """One handoff with its body and learnings. Reading it here does not mark it read."""
    stored = await service.get_handoff(session, principal, handoff_id)
    row = stored.handoff
    return Handoff.model_validate(
        {
            **_summary(row, stored.project),
            "body": row.body,
            "front_matter": row.front_matter,
            "files": row.files,
            "commands": row.commands,
            "suggested_skills": stored.skills,
            "redactions": row.redactions,
            "warnings": row.warnings,
            "learnings": _briefs(stored.learnings),
        }
    )


@router.delete("/handoffs/{handoff_id}", status_code=204, responses={404: {}})
async def delete_handoff(handoff_id: uuid.UUID, session: SessionDep, principal: Writer) -> Response:
    """Delete a handoff and every learning that came from it."""
    await service.delete_handoff(session, principal, handoff_id)
    return Response(status_code=204)


_NOBODY = MarkRead()


@router.post("/handoffs/{handoff_id}/read", response_model=MarkedRead, responses={404: {}})
async def mark_read(
    handoff_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    body: Annotated[MarkRead, Body()] = _NOBODY,
) -> MarkedRead:
    """Mark one handoff read: it was delivered some other way (by the file-based inbox it was
    imported from, say), so no session is given it afterwards. A read handoff stays as it is
    (`changed: false`); nothing makes a handoff unread again."""
    stored, changed = await service.mark_read(session, principal, handoff_id, by=body.by)
    summary = _summary(stored.handoff, stored.project)
    return MarkedRead.model_validate({**summary, "changed": changed})
