"""Near-duplicate learnings: a new learning that says what an existing one already says (same
team, same kind) is linked to it, so search shows the knowledge once with its occurrences and
the projects it was seen in.

The threshold is deliberately strict: a false merge hides a distinct piece of knowledge behind
another's text, which is worse than showing two similar bullets. It was chosen on the dev set
(bench/dedup_threshold.py, numbers in bench/RESULTS.md): above every similarity between
distinct dev-set learnings of one kind, below that of the same bullet re-worded trivially."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db import advisory_key, statement
from memory_service.models import LearningRow
from memory_service.vectors import as_params, hnsw_order

NEAR_DUPLICATE_SIMILARITY = 0.93


def text_hash(text: str) -> str:
    """A learning's `content_hash`: the same for texts that differ only in case and spacing,
    which are linked as duplicates without comparing embeddings."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


async def link_duplicates(
    session: AsyncSession,
    learnings: list[LearningRow],
    *,
    threshold: float = NEAR_DUPLICATE_SIMILARITY,
) -> None:
    """Sets `canonical_id` on the new (not yet flushed) learnings that repeat an existing
    canonical learning, and counts them on it. Visibility must match: a project-only learning
    is never folded into a team-wide one, or the reverse."""
    # Nearest-neighbour lookups go through HNSW; keep scanning until a row passes the filters.
    await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    seen: dict[tuple[str, str, str], LearningRow] = {}
    lookup: list[LearningRow] = []
    for item in learnings:
        local = (item.kind, item.visibility, item.content_hash)
        if local not in seen:
            seen[local] = item
            lookup.append(item)
    if lookup:
        await _lock_texts(session, lookup)
        matches = await _stored_matches(session, lookup)
        for item, (exact, near, sim) in zip(lookup, matches, strict=True):
            if exact is not None:
                item.canonical_id = exact
            elif near is not None and sim >= threshold:
                item.canonical_id = near
        for item in learnings:  # the same bullet twice in one handoff: as its first copy
            first = seen[(item.kind, item.visibility, item.content_hash)]
            if first is not item:
                item.canonical_id = first.canonical_id or first.id
    counts: dict[uuid.UUID, int] = {}
    for item in learnings:
        if item.canonical_id is not None:
            counts[item.canonical_id] = counts.get(item.canonical_id, 0) + 1
    stored: dict[uuid.UUID, int] = {}
    for canonical_id, extra in counts.items():
        own = next((x for x in learnings if x.id == canonical_id), None)
        if own is not None:
            own.occurrences = (own.occurrences or 1) + extra
        else:
            stored[canonical_id] = extra
    if not stored:
        return
    team = learnings[0].team_id
    ids = sorted(stored)
    if len(ids) > 1:
        # Rows locked in id order first: two handoffs repeating the same learnings at once
        # then wait for each other instead of deadlocking (an UPDATE's join order is the
        # planner's choice, not the array's).
        await session.execute(
            statement(
                "SELECT 1 FROM learnings WHERE team_id = :team "
                "AND id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE"
            ),
            {"ids": ids, "team": team},
        )
    await session.execute(
        statement(
            "UPDATE learnings l SET occurrences = l.occurrences + u.n "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:ns AS integer[])) AS u(id, n) "
            "WHERE l.team_id = :team AND l.id = u.id"
        ),
        {"ids": ids, "ns": [stored[i] for i in ids], "team": team},
    )


async def _lock_texts(session: AsyncSession, items: list[LearningRow]) -> None:
    """Serialises the writers of the same text: two handoffs carrying a bullet nobody has
    stored yet, written at the same moment, would each look it up, find nothing and both store
    it as canonical (search would then show it twice). Each bullet's (team, kind, text hash) is
    locked until commit, in one order for every writer (no deadlock), before the lookup, whose
    statement then sees what the first writer committed. A near-duplicate that is not the same
    text can still race; identical bullets are what parallel sessions carry over."""
    team = str(items[0].team_id)
    keys = sorted({advisory_key(team, "learning", x.kind, x.content_hash) for x in items})
    await session.execute(
        statement(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) "
            "WITH ORDINALITY AS t(k, n) ORDER BY n"
        ),
        {"keys": keys},
    )


async def _stored_matches(
    session: AsyncSession, items: list[LearningRow]
) -> list[tuple[uuid.UUID | None, uuid.UUID | None, float]]:
    """For each item, in one statement: a stored canonical learning with the same text (hash),
    and the nearest stored canonical learning by embedding with its cosine similarity."""
    same = (
        "l.team_id = :team AND l.kind = i.kind AND l.canonical_id IS NULL "
        "AND l.visibility = i.visibility AND (i.visibility = 'team' OR l.project_id = i.project)"
    )
    rows = (
        await session.execute(
            statement(
                f"""
                SELECT i.ord,
                       (SELECT l.id FROM learnings l
                         WHERE {same} AND l.content_hash = i.hash LIMIT 1) AS exact,
                       nn.id AS near, nn.sim
                  FROM unnest(CAST(:kinds AS text[]), CAST(:visibilities AS text[]),
                              CAST(:projects AS uuid[]), CAST(:hashes AS text[]),
                              CAST(:vectors AS vector[]))
                       WITH ORDINALITY AS i(kind, visibility, project, hash, v, ord)
                  LEFT JOIN LATERAL (
                       SELECT l.id, 1 - (l.embedding <=> i.v) AS sim FROM learnings l
                        WHERE {same} ORDER BY {hnsw_order("l.embedding", "i.v")} LIMIT 1) nn
                    ON TRUE
                 ORDER BY i.ord
                """
            ),
            {
                "team": items[0].team_id,
                "kinds": [x.kind for x in items],
                "visibilities": [x.visibility for x in items],
                "projects": [x.project_id for x in items],
                "hashes": [x.content_hash for x in items],
                "vectors": as_params(x.embedding for x in items),
            },
        )
    ).all()
    return [(r.exact, r.near, float(r.sim) if r.sim is not None else -1.0) for r in rows]


async def unlink_before_delete(
    session: AsyncSession, team_id: uuid.UUID, ids: list[uuid.UUID]
) -> None:
    """Keeps the duplicate links consistent when learnings are about to be deleted: a deleted
    duplicate no longer counts on its canonical learning, and a deleted canonical learning hands
    its role (and the remaining count) to its oldest surviving duplicate."""
    if not ids:
        return
    await session.execute(
        text(
            """
            UPDATE learnings c SET occurrences = c.occurrences - gone.n
              FROM (SELECT canonical_id, count(*) AS n FROM learnings
                     WHERE team_id = :team AND id = ANY(:ids) AND canonical_id IS NOT NULL
                     GROUP BY canonical_id) gone
             WHERE c.team_id = :team AND c.id = gone.canonical_id AND NOT c.id = ANY(:ids)
            """
        ),
        {"team": team_id, "ids": ids},
    )
    heirs = (
        await session.execute(
            text(
                """
                SELECT DISTINCT ON (d.canonical_id) d.canonical_id AS old, d.id AS new
                  FROM learnings d
                 WHERE d.team_id = :team AND d.canonical_id = ANY(:ids) AND NOT d.id = ANY(:ids)
                 ORDER BY d.canonical_id, d.created_at, d.id
                """
            ),
            {"team": team_id, "ids": ids},
        )
    ).all()
    for old, new in heirs:
        await session.execute(
            text(
                """
                UPDATE learnings SET canonical_id = CASE WHEN id = :new THEN NULL ELSE :new END
                 WHERE team_id = :team AND canonical_id = :old AND NOT id = ANY(:ids)
                """
            ),
            {"team": team_id, "old": old, "new": new, "ids": ids},
        )
        await session.execute(
            text(
                """
                UPDATE learnings SET occurrences = 1 + (
                    SELECT count(*) FROM learnings WHERE team_id = :team AND canonical_id = :new)
                 WHERE team_id = :team AND id = :new
                """
            ),
            {"team": team_id, "new": new},
        )
