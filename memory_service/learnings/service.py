"""Reading and forgetting single learnings.

A learning may be a near-duplicate of learnings in other projects (learnings/duplicates.py). What a
key gets back, and what it forgets, is limited to the copies it may read: a key limited to
some projects never learns another project's copy exists, and never deletes it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import record
from memory_service.auth.service import Principal
from memory_service.errors import NotFound
from memory_service.ids import short_id
from memory_service.learnings import queries
from memory_service.learnings.duplicates import (
    NEAR_DUPLICATE_SIMILARITY as NEAR_DUPLICATE_SIMILARITY,
)
from memory_service.learnings.duplicates import link_duplicates as link_duplicates
from memory_service.learnings.duplicates import text_hash as text_hash
from memory_service.learnings.duplicates import unlink_before_delete
from memory_service.learnings.embedding_text import embedding_text as embedding_text
from memory_service.learnings.queries import citations_of as citations_of
from memory_service.learnings.reembed import reembed as reembed
from memory_service.learnings.schemas import (
    Copy,
    Learning,
    LearningView,
    Provenance,
    Replaced,
)
from memory_service.learnings.supersession import Linked as Linked
from memory_service.learnings.supersession import link_later_knowledge as link_later_knowledge
from memory_service.learnings.supersession import reopen as reopen
from memory_service.learnings.supersession import supersede as supersede
from memory_service.learnings.supersession import unsupersede as unsupersede
from memory_service.models import LearningRow
from memory_service.projects import check_access

# Also published here for the other packages (architecture.md: they import `service` and
# `schemas` only): `link_duplicates` and `unlink_before_delete` for the handoffs' write and
# delete, `text_hash` and `embedding_text` for what a write or an import stores, `reembed` for
# the CLI.
__all__ = [
    "citations_of",
    "cited_paths",
    "embedding_text",
    "forget",
    "forget_clusters",
    "get_learning",
    "link_duplicates",
    "link_later_knowledge",
    "reembed",
    "reopen",
    "supersede",
    "text_hash",
    "unlink_before_delete",
    "unsupersede",
    "view",
]


# What the response says as the learning's row has it.
_AS_STORED = (
    "id",
    "kind",
    "text",
    "section",
    "handoff_id",
    "created_at",
    "embedding_model",
    "citations",
    "superseded_by",
    "superseded_how",
    "newer_id",
    "done_at",
    "uses",
    "last_used_at",
    "helpful",
)


async def _find(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> tuple[LearningRow, str]:
    found = await queries.with_slug(session, principal.team_id, learning_id)
    # A key limited to other projects learns nothing, not even that the learning exists.
    if found is None or not principal.may_access(found[1]):
        raise NotFound(f"no learning {learning_id}")
    return found


async def _readable_copies(
    session: AsyncSession, principal: Principal, learning: LearningRow
) -> list[LearningRow]:
    """Every learning of `learning`'s cluster (its canonical learning and the canonical's
    near-duplicates) that the key may read, canonical first, then oldest first."""
    root = learning.canonical_id or learning.id
    copies = await queries.cluster(session, principal.team_id, root)
    return [copy for copy, slug in copies if principal.may_access(slug)]


async def get_learning(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> Learning:
    learning, slug = await _find(session, principal, learning_id)
    canonical_id, occurrences = learning.canonical_id, learning.occurrences
    if principal.projects is not None:
        # What the key may read stands for the cluster: the first readable copy is its
        # canonical learning (with the readable count), the others repeat that one.
        copies = await _readable_copies(session, principal, learning)
        first = copies[0] if copies else learning
        if first.id == learning.id:
            canonical_id, occurrences = None, max(len(copies), 1)
        else:
            canonical_id, occurrences = first.id, 1
    return Learning.model_validate(
        {
            **{name: getattr(learning, name) for name in _AS_STORED},
            "project": slug,
            "occurrences": occurrences,
            "canonical_id": canonical_id,
            "short_id": short_id(learning.id),
            "wrong": learning.wrong_at is not None,
            "outdated": learning.outdated_at is not None,
            "imported_from": await queries.imported_from(
                session, principal.team_id, learning.handoff_id
            ),
        }
    )


async def forget(session: AsyncSession, principal: Principal, learning_id: uuid.UUID) -> int:
    """Deletes the learning together with its near-duplicates that the key may read:
    forgetting a piece of knowledge must not let a copy of it take its place in search. Copies
    in projects the key cannot read stay (one of them becomes canonical). Returns how many rows
    went; the audit trail says so too."""
    deleted = await _delete_cluster(session, principal, learning_id)
    await record(
        session,
        principal,
        "learning.forget",
        target=("learning", learning_id),
        details={"deleted": deleted},
    )
    return deleted


async def _delete_cluster(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> int:
    learning, _ = await _find(session, principal, learning_id)
    if principal.projects is None:
        return await queries.delete_cluster(
            session, principal.team_id, learning.canonical_id or learning.id
        )
    ids = [x.id for x in await _readable_copies(session, principal, learning)]
    await unlink_before_delete(session, principal.team_id, ids)
    return await queries.delete_ids(session, principal.team_id, ids)


async def cited_paths(
    session: AsyncSession, principal: Principal, project: str, limit: int
) -> list[str]:
    """Paths `project`'s learnings cite with a blob id, most recently cited first: what a
    reader's client looks up in its checkout for freshness (recall/freshness.py)."""
    check_access(principal, project)
    return await queries.cited_paths(session, principal.team_id, project, limit)


async def forget_clusters(
    session: AsyncSession, team_id: uuid.UUID, roots: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The team-wide forget path (the forgetting policy, memory_service/forgetting): deletes
    each canonical learning of `roots` with every near-duplicate, as an unrestricted key's
    `forget` does. (id, root) of each learning deleted; the caller audits each."""
    if not roots:
        return []
    return await queries.delete_clusters(session, team_id, roots)


# The most cluster copies and replaced learnings a learning's view lists.
MAX_COPIES = 50
MAX_REPLACED = 20


async def view(session: AsyncSession, principal: Principal, learning_id: uuid.UUID) -> LearningView:
    """One learning as a person inspects it: `get_learning`, its flags, its handoff, the copies
    of its near-duplicate cluster and their projects (only those the key may read), and the
    learnings it replaces. A fixed number of statements, each bounded."""
    learning, _ = await _find(session, principal, learning_id)
    shown = await get_learning(session, principal, learning_id)
    slugs = list(principal.projects) if principal.projects is not None else None
    root = learning.canonical_id or learning.id
    copies = await queries.cluster_copies(session, principal.team_id, root, slugs, MAX_COPIES)
    projects = await queries.cluster_projects(session, principal.team_id, root, slugs)
    replaced = await queries.replaced_by_this(session, principal.team_id, learning.id, MAX_REPLACED)
    origin = await queries.handoff_provenance(session, principal.team_id, learning.handoff_id)
    provenance = None
    if origin is not None:
        origin["handoff_id"] = origin.pop("id")
        origin["written_at"] = origin.pop("created_at")
        provenance = Provenance.model_validate(origin)
    return LearningView(
        learning=shown,
        flagged=learning.flagged,
        flag_reason=learning.flag_reason,
        superseded_at=learning.superseded_at,
        provenance=provenance,
        copies=[Copy.model_validate(c, from_attributes=True) for c in copies],
        projects=projects,
        replaces=[Replaced(id=i, superseded=s) for i, s in replaced],
    )
