"""Micro-batching lever: N concurrent one-query encodes as N model calls vs one call.

Run: .venv/bin/python bench/embed_batching.py
"""

from __future__ import annotations

import asyncio
import time

import anyio.to_thread

from memory_service.embeddings import Embedder

QUERIES = [
    f"why does the deploy pipeline fail on step {i} with a timeout in the cache layer"
    for i in range(64)
]


async def main() -> None:
    embedder = Embedder().load()

    async def separate(n: int) -> float:
        start = time.perf_counter()
        await asyncio.gather(*[anyio.to_thread.run_sync(embedder.encode, [q]) for q in QUERIES[:n]])
        return time.perf_counter() - start

    async def together(n: int) -> float:
        start = time.perf_counter()
        await anyio.to_thread.run_sync(embedder.encode, QUERIES[:n])
        return time.perf_counter() - start

    await separate(4)
    for n in (1, 4, 16):
        a = min([await separate(n) for _ in range(3)])
        b = min([await together(n) for _ in range(3)])
        print(f"{n:>2} concurrent queries: {n} calls {a * 1000:6.1f} ms, ", end="")
        print(f"one call {b * 1000:6.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
