"""Re-embedding after a model change: every learning whose stored model name differs from the
configured one gets a new embedding. Each batch commits on its own, so an interrupted run
resumes where it stopped (the rows not yet done still carry the old model name)."""

from __future__ import annotations

import sys
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from memory_service.embeddings import Embedder
from memory_service.learnings.embedding_text import embedding_text
from memory_service.models import LearningRow
from memory_service.vectors import as_param


async def pending(sessions: async_sessionmaker[AsyncSession], model: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(LearningRow)
            .where(LearningRow.embedding_model != model)
        )
    return int(count or 0)


async def reembed(
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    *,
    batch_size: int = 256,
    progress: bool = True,
) -> int:
    """Returns how many learnings were re-embedded."""
    total = await pending(sessions, embedder.name)
    done = 0
    bar: Any = tqdm(total=total, unit="learning", disable=not progress, file=sys.stderr)
    try:
        while True:
            async with sessions() as session, session.begin():
                # SKIP LOCKED: two re-embedders (or a re-embedder and a delete) never wait on
                # each other; each takes rows nobody else holds.
                rows = (
                    await session.execute(
                        text(
                            "SELECT team_id, id, kind, text, section FROM learnings "
                            "WHERE embedding_model <> :model ORDER BY team_id, id "
                            "LIMIT :n FOR UPDATE SKIP LOCKED"
                        ),
                        {"model": embedder.name, "n": batch_size},
                    )
                ).all()
                if not rows:
                    break
                vectors = await embedder.aencode(
                    [embedding_text(r.kind, r.text, section=r.section) for r in rows]
                )
                await session.execute(
                    text(
                        "UPDATE learnings SET embedding = CAST(:v AS vector), embedding_model = :m "
                        "WHERE team_id = :t AND id = :i"
                    ).bindparams(bindparam("v"), bindparam("m")),
                    [
                        {"v": as_param(v), "m": embedder.name, "t": r.team_id, "i": r.id}
                        for r, v in zip(rows, vectors, strict=True)
                    ],
                )
            done += len(rows)
            bar.update(len(rows))
    finally:
        bar.close()
    return done
