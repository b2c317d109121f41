"""Concurrent embedding requests share model calls and each gets its own rows back."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import numpy.typing as npt

from memory_service.embeddings import Embedder, EmbedderError


class _CountingEmbedder(Embedder):
    """The real model, counting its calls."""

    def __init__(self, real: Embedder) -> None:
        super().__init__()
        self._model = real._model
        self._onnx = real._onnx
        self.calls: list[int] = []

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        return super().encode(texts)


async def test_concurrent_requests_are_batched(embedder: Embedder) -> None:
    counting = _CountingEmbedder(embedder)
    requests = [[f"query {i}"] for i in range(12)] + [["a", "b", "c"]]
    results = await asyncio.gather(*[counting.aencode(r) for r in requests])
    assert len(counting.calls) < len(requests)  # shared model calls
    assert sum(counting.calls) == 15
    for texts, vectors in zip(requests, results, strict=True):
        expected = embedder.encode(texts)
        assert vectors.shape == expected.shape
        assert np.allclose(vectors, expected, atol=1e-5)


class _Failing(Embedder):
    def __init__(self, real: Embedder) -> None:
        super().__init__()
        self._model = real._model
        self._onnx = real._onnx

    def encode(self, texts: list[str]) -> Any:
        raise RuntimeError("boom")


async def test_a_failed_call_fails_its_waiters_and_recovers(embedder: Embedder) -> None:
    failing = _Failing(embedder)
    outcomes = await asyncio.gather(
        *[failing.aencode(["x"]) for _ in range(3)], return_exceptions=True
    )
    assert all(isinstance(o, EmbedderError) for o in outcomes)
    ok = _CountingEmbedder(embedder)
    assert (await ok.aencode(["fine"])).shape == (1, 384)


async def test_query_embeddings_are_cached(embedder: Embedder) -> None:
    counting = _CountingEmbedder(embedder)
    first = await counting.aencode_query("why is the cache cold after deploy")
    again = await counting.aencode_query("why is the cache cold after deploy")
    assert counting.calls == [1]
    assert np.array_equal(first, again)
