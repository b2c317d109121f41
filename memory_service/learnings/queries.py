"""The statements of reading and forgetting single learnings (near-duplicate linking has its
own: duplicates.py; re-embedding: reembed.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db import statement
from memory_service.models import HandoffRow, LearningRow, Project
from memory_service.vectors import as_params, hnsw_order

_PROJECT = (Project.team_id == LearningRow.team_id) & (Project.id == LearningRow.project_id)


async def with_slug(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID
) -> tuple[LearningRow, str] | None:
    """The learning and its project's slug."""
    row = (
        await session.execute(
            select(LearningRow, Project.slug)
            .join(Project, _PROJECT)
            .where(LearningRow.team_id == team_id, LearningRow.id == learning_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def cluster(
    session: AsyncSession, team_id: uuid.UUID, root: uuid.UUID
) -> list[tuple[LearningRow, str]]:
    """Every learning of the cluster of canonical learning `root` with its project's slug,
    canonical first, then oldest first."""
    rows = await session.execute(
        select(LearningRow, Project.slug)
        .join(Project, _PROJECT)
        .where(
            LearningRow.team_id == team_id,
            or_(LearningRow.id == root, LearningRow.canonical_id == root),
        )
        .order_by(LearningRow.canonical_id.is_not(None), LearningRow.created_at, LearningRow.id)
    )
    return [(learning, slug) for learning, slug in rows]


async def delete_cluster(session: AsyncSession, team_id: uuid.UUID, root: uuid.UUID) -> int:
    """Deletes canonical learning `root` and its duplicates; how many rows went."""
    result = await session.execute(
        delete(LearningRow).where(
            LearningRow.team_id == team_id,
            or_(LearningRow.id == root, LearningRow.canonical_id == root),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_ids(session: AsyncSession, team_id: uuid.UUID, ids: list[uuid.UUID]) -> int:
    result = await session.execute(
        delete(LearningRow).where(LearningRow.team_id == team_id, LearningRow.id.in_(ids))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def citations_of(
    session: AsyncSession, team_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The citations of learnings `ids` (those with any)."""
    rows = await session.execute(
        select(LearningRow.id, LearningRow.citations).where(
            LearningRow.team_id == team_id,
            LearningRow.id.in_(ids),
            LearningRow.citations != text("'[]'::jsonb"),
        )
    )
    return {learning_id: list(citations) for learning_id, citations in rows}


# The learnings a cited-paths listing reads at most (newest first): bounds its cost on a big
# project; older citations come back only when fewer paths fill the listing.
CITED_PATHS_SCAN = 5000

_CITED_PATHS = text(
    """
    SELECT c.value->>'path' AS path, max(l.created_at) AS latest
    FROM (
        SELECT l.created_at, l.citations
        FROM learnings l
        JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
        WHERE l.team_id = :team_id AND p.slug = :project AND l.citations <> '[]'::jsonb
        ORDER BY l.created_at DESC
        LIMIT :scan
    ) l, jsonb_array_elements(l.citations) c
    WHERE c.value->>'blob' IS NOT NULL
    GROUP BY 1
    ORDER BY 2 DESC, 1
    LIMIT :limit
    """
)


async def cited_paths(
    session: AsyncSession, team_id: uuid.UUID, project: str, limit: int
) -> list[str]:
    """Paths the project's learnings cite with a blob id, most recently cited first."""
    rows = await session.execute(
        _CITED_PATHS,
        {"team_id": team_id, "project": project, "scan": CITED_PATHS_SCAN, "limit": limit},
    )
    return [path for path, _ in rows]


@dataclass(frozen=True)
class Nearest:
    id: uuid.UUID
    sim: float
    citations: list[dict[str, Any]]


async def nearest_earlier(
    session: AsyncSession,
    team_id: uuid.UUID,
    project_id: uuid.UUID,
    handoff_id: uuid.UUID,
    before: datetime,
    items: list[tuple[str | None, Any]],
    *,
    open_steps: bool = False,
) -> list[Nearest | None]:
    """For each (kind or None for any kind, vector), in one statement: the nearest current
    learning of the project written before `before` (not superseded, canonical, not of
    `handoff_id`), with its cosine similarity. `open_steps`: only next steps not yet done.
    Written before, not stored before: an import or a late write of an older handoff must
    not replace what came after it."""
    await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    done = "AND l.done_at IS NULL" if open_steps else ""
    rows = (
        await session.execute(
            statement(
                f"""
                SELECT i.ord, nn.id, nn.sim, nn.citations
                  FROM unnest(CAST(:kinds AS text[]), CAST(:vectors AS vector[]))
                       WITH ORDINALITY AS i(kind, v, ord)
                  LEFT JOIN LATERAL (
                       SELECT l.id, 1 - (l.embedding <=> i.v) AS sim, l.citations
                         FROM learnings l
                        WHERE l.team_id = :team AND l.project_id = :project
                          AND (i.kind IS NULL OR l.kind = i.kind)
                          AND l.canonical_id IS NULL AND l.superseded_by IS NULL
                          AND l.handoff_id <> :handoff AND l.created_at < :before {done}
                        ORDER BY {hnsw_order("l.embedding", "i.v")} LIMIT 1) nn ON TRUE
                 ORDER BY i.ord
                """
            ),
            {
                "team": team_id,
                "project": project_id,
                "handoff": handoff_id,
                "before": before,
                "kinds": [kind for kind, _ in items],
                "vectors": as_params(v for _, v in items),
            },
        )
    ).all()
    return [
        None if r.id is None else Nearest(r.id, float(r.sim), list(r.citations or [])) for r in rows
    ]


async def mark_superseded(
    session: AsyncSession,
    team_id: uuid.UUID,
    pairs: list[tuple[uuid.UUID, uuid.UUID, str]],
    now: datetime,
) -> None:
    for old, new, how in pairs:
        await session.execute(
            update(LearningRow)
            .where(LearningRow.team_id == team_id, LearningRow.id == old)
            .values(superseded_by=new, superseded_how=how, superseded_at=now, newer_id=None)
        )


async def mark_newer(
    session: AsyncSession, team_id: uuid.UUID, pairs: list[tuple[uuid.UUID, uuid.UUID]]
) -> None:
    for old, new in pairs:
        await session.execute(
            update(LearningRow)
            .where(LearningRow.team_id == team_id, LearningRow.id == old)
            .values(newer_id=new)
        )


async def mark_done(
    session: AsyncSession,
    team_id: uuid.UUID,
    ids: list[uuid.UUID],
    handoff_id: uuid.UUID,
    now: datetime,
) -> None:
    if ids:
        await session.execute(
            update(LearningRow)
            .where(LearningRow.team_id == team_id, LearningRow.id.in_(ids))
            .values(done_at=now, done_by=handoff_id)
        )


async def clear_superseded(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID
) -> None:
    await session.execute(
        update(LearningRow)
        .where(LearningRow.team_id == team_id, LearningRow.id == learning_id)
        .values(superseded_by=None, superseded_how=None, superseded_at=None)
    )


async def successor(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID
) -> uuid.UUID | None:
    return (
        await session.execute(
            select(LearningRow.superseded_by).where(
                LearningRow.team_id == team_id, LearningRow.id == learning_id
            )
        )
    ).scalar_one_or_none()


async def clear_done(session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID) -> None:
    await session.execute(
        update(LearningRow)
        .where(LearningRow.team_id == team_id, LearningRow.id == learning_id)
        .values(done_at=None, done_by=None)
    )


async def delete_clusters(
    session: AsyncSession, team_id: uuid.UUID, roots: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Deletes the clusters of canonical learnings `roots` (each with its near-duplicates);
    (id, root) of every row that went."""
    result = await session.execute(
        delete(LearningRow)
        .where(
            LearningRow.team_id == team_id,
            or_(LearningRow.id.in_(roots), LearningRow.canonical_id.in_(roots)),
        )
        .returning(LearningRow.id, func.coalesce(LearningRow.canonical_id, LearningRow.id))
    )
    return [(row[0], row[1]) for row in result]


@dataclass(frozen=True)
class ClusterCopy:
    id: uuid.UUID
    project: str
    created_at: datetime
    section: str
    handoff_id: uuid.UUID


def _readable(slugs: list[str] | None) -> Any:
    return True if slugs is None else Project.slug.in_(slugs)


async def cluster_copies(
    session: AsyncSession, team_id: uuid.UUID, root: uuid.UUID, slugs: list[str] | None, limit: int
) -> list[ClusterCopy]:
    """At most `limit` learnings of canonical learning `root`'s cluster in projects `slugs`
    (None: any), canonical first, then oldest first."""
    rows = await session.execute(
        select(
            LearningRow.id,
            Project.slug,
            LearningRow.created_at,
            LearningRow.section,
            LearningRow.handoff_id,
        )
        .join(Project, _PROJECT)
        .where(
            LearningRow.team_id == team_id,
            or_(LearningRow.id == root, LearningRow.canonical_id == root),
            _readable(slugs),
        )
        .order_by(LearningRow.canonical_id.is_not(None), LearningRow.created_at, LearningRow.id)
        .limit(limit)
    )
    return [ClusterCopy(*row) for row in rows]


async def cluster_projects(
    session: AsyncSession, team_id: uuid.UUID, root: uuid.UUID, slugs: list[str] | None
) -> list[tuple[str, int]]:
    """(project, copies) of canonical learning `root`'s cluster in projects `slugs`."""
    rows = await session.execute(
        select(Project.slug, func.count())
        .select_from(LearningRow)
        .join(Project, _PROJECT)
        .where(
            LearningRow.team_id == team_id,
            or_(LearningRow.id == root, LearningRow.canonical_id == root),
            _readable(slugs),
        )
        .group_by(Project.slug)
        .order_by(func.count().desc(), Project.slug)
    )
    return [(slug, int(n)) for slug, n in rows]


async def replaced_by_this(
    session: AsyncSession, team_id: uuid.UUID, learning_id: uuid.UUID, limit: int
) -> list[tuple[uuid.UUID, bool]]:
    """Learnings this one supersedes (True) or likely replaces (False, `newer_id`)."""
    rows = await session.execute(
        select(LearningRow.id, LearningRow.superseded_by == learning_id)
        .where(
            LearningRow.team_id == team_id,
            or_(LearningRow.superseded_by == learning_id, LearningRow.newer_id == learning_id),
        )
        .order_by(LearningRow.created_at)
        .limit(limit)
    )
    return [(row[0], bool(row[1])) for row in rows]


# Front matter a client's import of an agent's own memory writes (`memory import --from`): the
# tool whose memory it was and the file it came from. Bounded: it is shown, never trusted.
MAX_ORIGIN_CHARS = 200


def _origin(key: str) -> Any:
    return func.left(HandoffRow.front_matter[key].astext, MAX_ORIGIN_CHARS)


async def imported_from(
    session: AsyncSession, team_id: uuid.UUID, handoff_id: uuid.UUID
) -> str | None:
    """The agent tool whose own memory the learning's handoff was imported from; None for a
    handoff an agent or person wrote."""
    return (
        await session.execute(
            select(_origin("imported_from")).where(
                HandoffRow.team_id == team_id, HandoffRow.id == handoff_id
            )
        )
    ).scalar_one_or_none()


async def handoff_provenance(
    session: AsyncSession, team_id: uuid.UUID, handoff_id: uuid.UUID
) -> dict[str, Any] | None:
    """Where a learning came from: its handoff's sender, tool, branch, commit and so on."""
    row = (
        await session.execute(
            select(
                _origin("imported_from").label("imported_from"),
                _origin("source").label("imported_source"),
                HandoffRow.id,
                HandoffRow.sentinel,
                HandoffRow.sender,
                HandoffRow.recipient,
                HandoffRow.tool,
                HandoffRow.branch,
                HandoffRow.head,
                HandoffRow.session_id,
                HandoffRow.topic,
                HandoffRow.created_at,
            ).where(HandoffRow.team_id == team_id, HandoffRow.id == handoff_id)
        )
    ).first()
    return None if row is None else dict(row._mapping)
