"""What one running app holds: settings, database engine, sessions, embedder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from memory_service.config import Settings
from memory_service.db import EmbeddedPostgres
from memory_service.embeddings import Embedder
from memory_service.ratelimit import RateLimiter
from memory_service.usage.service import UsageBuffer

if TYPE_CHECKING:
    # Named for their types only: every route imports this module (through deps.py), so a
    # runtime import of a package from here would close a loop; the app builds both.
    from memory_service.health.liveness import DatabaseLiveness
    from memory_service.recall.stats import SearchStats


@dataclass
class AppState:
    settings: Settings
    embedder: Embedder
    registry: CollectorRegistry
    limiter: RateLimiter
    # When the primary database was last seen answering, for /healthz.
    liveness: DatabaseLiveness
    # How many learnings each team has (per project and kind), for search's choice of plan.
    search_stats: SearchStats
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    read_engine: AsyncEngine | None = None
    # Sessions for read-only work that may lag the primary a little (search); the primary's
    # sessions when no replica is configured.
    read_sessions: async_sessionmaker[AsyncSession] | None = None
    embedded: EmbeddedPostgres | None = None
    database_url: str | None = None
    admin_key_created: bool = field(default=False)
    # Uses of learnings (briefs, searches, recalls) not yet written; a background task
    # flushes them (memory_service/usage).
    usage: UsageBuffer = field(default_factory=UsageBuffer)
