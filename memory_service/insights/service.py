"""Aggregates over a team's learnings and handoffs, limited to the projects a key may see."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal
from memory_service.insights import queries
from memory_service.insights.schemas import (
    Counts,
    ProjectCounts,
    RecurringMistake,
    Waiting,
    Week,
    Weekly,
)
from memory_service.vocabulary import Kind


def _slugs(principal: Principal) -> list[str] | None:
    return list(principal.projects) if principal.projects is not None else None


async def counts(session: AsyncSession, principal: Principal) -> Counts:
    """Learnings by kind, overall and per project (every kind listed, zeros included)."""
    rows = await queries.counts_by_project_and_kind(session, principal.team_id, _slugs(principal))
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


# How far back the weekly chart goes, and the longest lists the overview shows.
WEEKS = 12
MAX_MISTAKES = 10
MAX_WORKTREES = 50


async def weekly(
    session: AsyncSession, principal: Principal, *, weeks: int = WEEKS, today: date | None = None
) -> Weekly:
    """Learnings written per week and kind over the last `weeks` weeks (this one included)."""
    today = today or datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    start = datetime.combine(starts[0], time(), tzinfo=UTC)
    rows = await queries.weekly_by_kind(session, principal.team_id, _slugs(principal), start)
    counts: dict[date, Counter[str]] = {s: Counter() for s in starts}
    for week, kind, n in rows:
        if week.date() in counts:
            counts[week.date()][kind] += n
    kinds = [k.value for k in Kind]
    out = [
        Week(start=s, by_kind={k: c[k] for k in kinds}, total=sum(c.values()))
        for s, c in counts.items()
    ]
    return Weekly(weeks=out, kinds=kinds, peak=max((w.total for w in out), default=0))


async def recurring_mistakes(
    session: AsyncSession, principal: Principal, *, limit: int = MAX_MISTAKES
) -> list[RecurringMistake]:
    """The mistakes that keep coming back: clusters of near-duplicate mistakes
    (learnings/duplicates.py) with the most copies the key may read, and their projects."""
    rows = await queries.recurring_mistakes(session, principal.team_id, _slugs(principal), limit)
    texts = await queries.texts_of(session, principal.team_id, [r.shown for r in rows])
    return [
        RecurringMistake(
            id=r.shown,
            text=texts.get(r.shown, ""),
            occurrences=r.n,
            projects=sorted(r.projects),
            last_seen=r.last_seen,
        )
        for r in rows
    ]


async def waiting(
    session: AsyncSession, principal: Principal, *, limit: int = MAX_WORKTREES
) -> list[Waiting]:
    """Unread handoffs per worktree (project, recipient), oldest waiting first."""
    rows = await queries.unread_per_worktree(session, principal.team_id, _slugs(principal), limit)
    return [Waiting(project=p, recipient=r, unread=n, oldest=o) for p, r, n, o in rows]


async def projects(session: AsyncSession, principal: Principal) -> list[str]:
    """The team's projects the key may read, by name."""
    return await queries.project_slugs(session, principal.team_id, _slugs(principal))
