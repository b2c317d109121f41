"""Aggregates over a team's learnings and handoffs, limited to the projects a key may see."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal
from memory_service.insights import queries
from memory_service.insights.schemas import Counts, ProjectCounts
from memory_service.vocabulary import Kind


def _slugs(principal: Principal) -> list[str] | None:
    return list(principal.projects) if principal.projects is not None else None


async def counts(session: AsyncSession, principal: Principal) -> Counts:
    """Learnings by kind, overall and per project (every kind listed, zeros included)."""
    rows = await queries.counts_by_project_and_kind(session, _slugs(principal))
    kinds = [k.value for k in Kind]
    total: Counter[str] = Counter()
    per_project: dict[str, Counter[str]] = {}
    for slug, kind, count in rows:
        total[kind] += count
        per_project.setdefault(slug, Counter())[kind] += count
    return Counts(
        total=sum(total.values()),
        by_kind={k: total[k] for k in kinds},
        projects=[
            ProjectCounts(project=slug, total=sum(c.values()), by_kind={k: c[k] for k in kinds})
            for slug, c in sorted(per_project.items(), key=lambda item: -sum(item[1].values()))
        ],
    )
