"""HTTP load against the running server: concurrent ingest, and latency runs of N concurrent
clients over a list of request bodies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.corpus import SyntheticHandoff
from memory_service.evaluation import percentile

REQUEST_TIMEOUT_S = 300.0
# A cell stops after this long even if not every request was sent (a pathological mode on a
# big corpus must not eat the whole run); the report says how many requests were measured.
CELL_TIME_CAP_S = 60.0
WARMUP_REQUESTS = 3


def summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000.0 for s in seconds]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "mean_ms": sum(ms) / len(ms),
        "max_ms": max(ms),
    }


def client(base_url: str, key: str, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=REQUEST_TIMEOUT_S,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


@dataclass
class IngestResult:
    handoffs: int = 0
    learnings: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def extend(self, other: IngestResult) -> None:
        self.handoffs += other.handoffs
        self.learnings += other.learnings
        self.duplicates += other.duplicates
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.errors += other.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "handoffs": self.handoffs,
            "learnings": self.learnings,
            "duplicates": self.duplicates,
            "seconds": self.seconds,
            "learnings_per_s": self.learnings / self.seconds if self.seconds else 0.0,
            "request_latency": summary(self.latencies),
            "errors": self.errors[:20],
            "error_count": len(self.errors),
        }


async def ingest(
    base_url: str,
    key: str,
    handoffs: Sequence[SyntheticHandoff],
    *,
    clients: int,
    progress_every: int = 500,
) -> IngestResult:
    """POSTs every handoff with `clients` concurrent writers; the clock runs from the first
    request to the last answer."""
    result = IngestResult()
    next_index = 0
    t0 = time.perf_counter()

    async def writer(http: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < len(handoffs):
            handoff = handoffs[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                response = await http.post("/v1/handoffs", json=handoff.request())
            except httpx.TransportError as exc:
                result.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            result.latencies.append(time.perf_counter() - started)
            if response.status_code not in (200, 201):
                result.errors.append(f"{response.status_code} {response.text[:200]}")
                continue
            data = response.json()
            result.handoffs += 1
            result.learnings += len(data.get("learnings", []))
            result.duplicates += bool(data.get("duplicate"))
            if result.handoffs % progress_every == 0:
                rate = result.learnings / (time.perf_counter() - t0)
                print(
                    f"  ingest: {result.handoffs}/{len(handoffs)} handoffs, "
                    f"{result.learnings} learnings, {rate:.0f} learnings/s",
                    flush=True,
                )

    async with client(base_url, key, clients) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(writer(http) for _ in range(clients)))
        result.seconds = time.perf_counter() - t0
    if len(result.errors) > len(handoffs) // 100:
        raise RuntimeError(
            f"{len(result.errors)} of {len(handoffs)} handoff writes failed: {result.errors[:3]}"
        )
    return result


@dataclass
class CellResult:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    results_per_request: list[int] = field(default_factory=list)
    seconds: float = 0.0
    capped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = summary(self.latencies)
        out["requests_per_s"] = len(self.latencies) / self.seconds if self.seconds else 0.0
        out["errors"] = len(self.errors)
        if self.errors:
            out["first_errors"] = self.errors[:3]
        if self.results_per_request:
            out["mean_results"] = sum(self.results_per_request) / len(self.results_per_request)
        out["capped_at_s"] = CELL_TIME_CAP_S if self.capped else None
        out.update(self.extra)
        return out


async def latency_cell(
    http: httpx.AsyncClient,
    path: str,
    bodies: Sequence[dict[str, Any]],
    *,
    clients: int,
    result_key: str = "results",
    time_cap_s: float = CELL_TIME_CAP_S,
) -> CellResult:
    """Sends `bodies` (after a few unmeasured warm-up requests) from `clients` concurrent
    callers, each sending its next request as soon as its previous answer arrived."""
    for body in bodies[:WARMUP_REQUESTS]:
        await http.post(path, json=body)
    todo = list(bodies[WARMUP_REQUESTS:])
    cell = CellResult()
    next_index = 0
    deadline = time.perf_counter() + time_cap_s

    async def caller() -> None:
        nonlocal next_index
        while next_index < len(todo):
            if time.perf_counter() > deadline:
                cell.capped = True
                return
            body = todo[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                response = await http.post(path, json=body)
            except httpx.TransportError as exc:
                cell.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                cell.errors.append(f"{response.status_code} {response.text[:200]}")
                continue
            cell.latencies.append(elapsed)
            data = response.json()
            if isinstance(data.get(result_key), list):
                cell.results_per_request.append(len(data[result_key]))

    t0 = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(clients)))
    cell.seconds = time.perf_counter() - t0
    return cell
