"""Reading and forgetting single learnings.

A learning may be a near-duplicate of learnings in other projects (learnings/duplicates.py). What a
key gets back, and what it forgets, is limited to the copies it may read: a key limited to
some projects never learns another project's copy exists, and never deletes it."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import record
from memory_service.auth.service import Principal
from memory_service.errors import NotFound
from memory_service.learnings.duplicates import unlink_before_delete
from memory_service.models import Learning, Project
from memory_service.recall.schemas import Learning as LearningOut


async def _find(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> tuple[Learning, str]:
    row = (
        await session.execute(
            select(Learning, Project.slug)
            .join(
                Project,
                (Project.team_id == Learning.team_id) & (Project.id == Learning.project_id),
            )
            .where(Learning.team_id == principal.team_id, Learning.id == learning_id)
        )
    ).first()
    # A key limited to other projects learns nothing, not even that the learning exists.
    if row is None or (principal.projects is not None and row[1] not in principal.projects):
        raise NotFound(f"no learning {learning_id}")
    return row[0], row[1]


async def _readable_copies(
    session: AsyncSession, principal: Principal, learning: Learning
) -> list[Learning]:
    """Every learning of `learning`'s cluster (its canonical learning and the canonical's
    near-duplicates) that the key may read, canonical first, then oldest first."""
    root = learning.canonical_id or learning.id
    query = (
        select(Learning)
        .join(Project, (Project.team_id == Learning.team_id) & (Project.id == Learning.project_id))
        .where(
            Learning.team_id == principal.team_id,
            or_(Learning.id == root, Learning.canonical_id == root),
        )
        .order_by(Learning.canonical_id.is_not(None), Learning.created_at, Learning.id)
    )
    if principal.projects is not None:
        query = query.where(Project.slug.in_(principal.projects))
    return list(await session.scalars(query))


async def get_learning(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> LearningOut:
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
    return LearningOut(
        id=learning.id,
        kind=learning.kind,
        text=learning.text,
        section=learning.section,
        project=slug,
        handoff_id=learning.handoff_id,
        created_at=learning.created_at,
        occurrences=occurrences,
        canonical_id=canonical_id,
        embedding_model=learning.embedding_model,
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
        target_type="learning",
        target_id=learning_id,
        details={"deleted": deleted},
    )
    return deleted


async def _delete_cluster(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> int:
    learning, _ = await _find(session, principal, learning_id)
    if principal.projects is None:
        root = learning.canonical_id or learning.id
        result = await session.execute(
            delete(Learning).where(
                Learning.team_id == principal.team_id,
                or_(Learning.id == root, Learning.canonical_id == root),
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
    ids = [x.id for x in await _readable_copies(session, principal, learning)]
    await unlink_before_delete(session, principal.team_id, ids)
    result = await session.execute(
        delete(Learning).where(Learning.team_id == principal.team_id, Learning.id.in_(ids))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
