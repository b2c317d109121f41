"""A search's plan: what it searches (which projects, what is visible, the preferred project),
how the vector leg scans (exactly or through the HNSW index), which query terms the text leg
leaves out, and the transaction's settings. The few lookups behind it are the project ids and
the cached statistics (recall/stats.py); the numbers it plans with are in recall/ranking.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.auth.service import Principal
from memory_service.errors import Forbidden
from memory_service.recall import queries
from memory_service.recall.ranking import (
    COMMON_TERM_ROWS,
    COMMON_TERM_SHARE,
    EXACT_SCAN_ALWAYS_ROWS,
    EXACT_SCAN_COST_RATIO,
    EXACT_SCAN_MAX_ROWS,
    HNSW_EF_SEARCH,
    HNSW_ITERATIVE_SCAN,
    HNSW_MAX_SCAN_TUPLES,
    HYBRID_COMMON_TERM_ROWS,
    HYBRID_COMMON_TERM_SHARE,
)
from memory_service.recall.stats import SearchStats
from memory_service.tenancy import set_local
from memory_service.vocabulary import SearchMode


@dataclass(frozen=True)
class Query:
    text: str
    k: int = 10
    project: str | None = None
    projects: list[str] | None = None
    prefer_project: str | None = None
    kinds: list[str] | None = None
    since: datetime | None = None
    mode: str = SearchMode.hybrid
    # Also learnings a writer reported wrong (memory_service/feedback); left out otherwise.
    include_wrong: bool = False

    @property
    def uses_vector(self) -> bool:
        return SearchMode(self.mode).uses_vector

    @property
    def uses_text(self) -> bool:
        return SearchMode(self.mode).uses_text


@dataclass(frozen=True)
class _Projects:
    # Project ids to search, or None for every project of the team.
    scope: list[uuid.UUID] | None
    # The project whose `project`-visibility learnings are visible.
    visible: uuid.UUID | None
    # The preferred project (ranked a little higher).
    prefer: uuid.UUID | None
    # The projects the key may read, or None for every project of the team.
    readable: list[uuid.UUID] | None


@dataclass(frozen=True)
class SearchPlan:
    """Everything the statement is built from (recall/statement.py)."""

    query: Query
    team: uuid.UUID
    projects: _Projects
    # The vector leg scans the rows behind the filters exactly, not through the HNSW index.
    exact: bool = False
    # Lexemes the text leg's lookup leaves out (not its scores).
    common: tuple[str, ...] = ()


def exact_scan_is_cheaper(behind: int, table: int) -> bool:
    """Whether to scan the `behind` rows the filters leave exactly rather than walk the HNSW
    index over all `table` rows."""
    if behind <= EXACT_SCAN_ALWAYS_ROWS:
        return True
    return behind <= EXACT_SCAN_MAX_ROWS and behind * behind <= EXACT_SCAN_COST_RATIO * table


def local_settings(q: Query, timeout_ms: int | None) -> dict[str, str]:
    """The search's transaction-local settings."""
    local: dict[str, str] = {}
    if timeout_ms is not None:
        # A runaway search is cancelled by PostgreSQL instead of holding a connection.
        local["statement_timeout"] = str(timeout_ms)
    if q.uses_vector:
        # For HNSW scans only (the exact path does not use the index).
        local["hnsw.ef_search"] = str(HNSW_EF_SEARCH)
        local["hnsw.iterative_scan"] = HNSW_ITERATIVE_SCAN
        local["hnsw.max_scan_tuples"] = str(HNSW_MAX_SCAN_TUPLES)
    return local


async def plan_search(
    session: AsyncSession,
    principal: Principal,
    q: Query,
    stats: SearchStats | None,
    timeout_ms: int | None,
) -> SearchPlan | None:
    """The plan, or None when no project is left to search. `stats` is the process's cache of
    table statistics (None: read them now)."""
    # Transaction-local settings, before anything else (with the team's, in one round trip).
    await set_local(session, local_settings(q, timeout_ms))
    projects = await _project_ids(session, principal, q)
    if projects.scope == []:
        return None
    stats = stats or SearchStats(ttl_s=0)
    common: list[str] = []
    if q.uses_text:
        share, min_rows = (
            (HYBRID_COMMON_TERM_SHARE, HYBRID_COMMON_TERM_ROWS)
            if q.mode == SearchMode.hybrid
            else (COMMON_TERM_SHARE, COMMON_TERM_ROWS)
        )
        common = await stats.common_terms(session, share, min_rows)
    exact = False
    if q.uses_vector:
        behind = await stats.rows(session, principal.team_id, projects.scope, q.kinds)
        table = max(await stats.table_rows(session), behind)
        exact = exact_scan_is_cheaper(behind, table)
    return SearchPlan(q, principal.team_id, projects, exact, tuple(common))


async def _project_ids(session: AsyncSession, principal: Principal, q: Query) -> _Projects:
    wanted: set[str] | None = None
    if q.project is not None:
        wanted = {q.project}
    if q.projects is not None:
        wanted = set(q.projects) if wanted is None else wanted & set(q.projects)
    if principal.projects is not None:
        if wanted is not None and not all(principal.may_access(s) for s in wanted):
            raise Forbidden("this API key is not allowed on some of the requested projects")
        wanted = set(principal.projects) if wanted is None else wanted
    slugs = {s for s in (wanted or set()) | {q.prefer_project or "", q.project or ""} if s}
    slugs |= set(principal.projects or ())
    ids = await queries.project_ids(session, principal.team_id, slugs) if slugs else {}
    return _Projects(
        scope=[ids[s] for s in wanted if s in ids] if wanted is not None else None,
        visible=ids.get(q.project) if q.project else None,
        prefer=ids.get(q.prefer_project or q.project or ""),
        readable=(
            [ids[s] for s in principal.projects if s in ids]
            if principal.projects is not None
            else None
        ),
    )
