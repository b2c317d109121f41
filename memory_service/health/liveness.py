"""Liveness: has the database been unreachable for longer than the grace?

A server whose database is gone answers every request with a 503 and cannot recover by
itself if, say, the embedded PostgreSQL it started has died; a supervisor can restart it, but
only if `/healthz` says so. A short outage (a PostgreSQL restart, a failover) must not
restart it: /readyz turns 503 at once, /healthz only after `MEMORY_LIVENESS_DB_GRACE_S`.

Cheap: every statement that succeeds on the primary engine marks the database as seen
(an engine event, no extra query while requests flow). Only when nothing succeeded in the
last second does /healthz probe with `SELECT 1`, at most once a second, one probe at a time
however many health checks arrive at once."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

# A success this recent answers without a probe.
FRESH_S = 1.0
# Probes no more often than this, whatever the rate of health checks.
PROBE_EVERY_S = 1.0
# A probe that takes longer counts as a failure; /healthz waits for it at most this long,
# which keeps its answer within Kubernetes' default probe timeout of 1 s.
PROBE_TIMEOUT_S = 0.9


class DatabaseLiveness:
    """When the database was last seen answering and since when it has failed to.

    `failing_since` is the first failure observed after the last success (a probe, or
    /readyz's check), not the last success: a service nobody called for an hour must not be
    declared dead by its first failed probe after a blip."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.last_ok: float | None = None
        self.failing_since: float | None = None
        self._last_probe = -math.inf
        self._probe: asyncio.Task[None] | None = None

    def watch(self, engine: AsyncEngine) -> None:
        """Every statement the engine completes marks the database as reachable."""
        event.listen(engine.sync_engine, "after_cursor_execute", self._statement_done)

    def _statement_done(self, *_: Any) -> None:
        self.succeeded()

    def succeeded(self) -> None:
        self.last_ok = time.monotonic()
        self.failing_since = None

    def failed(self) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    def unreachable_for(self) -> float:
        """Seconds since the first failure after the last success; 0 while none."""
        if self.failing_since is None:
            return 0.0
        return time.monotonic() - self.failing_since

    async def check(self, engine: AsyncEngine | None) -> float | None:
        """None while alive; else how long the database has been unreachable (longer than
        the grace). Always alive with a grace of 0, and before the engine exists (start)."""
        if self.grace_s <= 0 or engine is None:
            return None
        now = time.monotonic()
        fresh = self.last_ok is not None and now - self.last_ok < FRESH_S
        if not fresh and self._probe is None and now - self._last_probe >= PROBE_EVERY_S:
            self._last_probe = now
            self._probe = asyncio.create_task(self._run_probe(engine))
        probe = self._probe
        if probe is not None:
            # Shared by every concurrent caller; a caller giving up does not cancel it.
            await asyncio.wait({probe}, timeout=PROBE_TIMEOUT_S)
        down = self.unreachable_for()
        return down if down > self.grace_s else None

    async def _run_probe(self, engine: AsyncEngine) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            self.succeeded()
        except Exception:  # any failure to answer counts, whatever its type
            self.failed()
        finally:
            self._probe = None

    async def aclose(self) -> None:
        """Cancels a probe still running (at shutdown, before the engine is disposed)."""
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)
