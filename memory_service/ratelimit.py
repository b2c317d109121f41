"""Requests per API key per minute: a token bucket per key, refilled continuously, so a key
may burst up to its minute's allowance and is then held to the steady rate.

Kept in the server process: with N replicas a key may make up to N times the limit. That is
the price of adding no shared write to every request; a proxy in front of the replicas is
the place for an exact global limit."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[uuid.UUID, _Bucket] = {}
        self._clock = time.monotonic

    def hit(self, key: uuid.UUID) -> float | None:
        """Takes one request from the key's allowance: None when allowed, else the seconds to
        wait before the next request would be."""
        if self.per_minute <= 0:
            return None
        now = self._clock()
        rate = self.per_minute / 60.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.per_minute), updated=now)
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
