"""Concurrent embedding requests share model calls and each gets its own rows back."""

from __future__ import annotations

import asyncio
import threading
import time
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


class _Overlapping(Embedder):
    """The real model, recording how many of its calls overlap."""

    def __init__(self, real: Embedder, parallel_calls: int) -> None:
        super().__init__()
        self._model = real._model
        self._onnx = real._onnx
        self.parallel_calls = parallel_calls
        self._slots = threading.BoundedSemaphore(parallel_calls)
        self.running = 0
        self.most = 0
        self.calls: list[int] = []

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.running += 1
        self.most = max(self.most, self.running)
        self.calls.append(len(texts))
        try:
            time.sleep(0.05)  # long enough for the other callers to queue up meanwhile
            return super().encode(texts)
        finally:
            self.running -= 1


async def test_model_calls_run_side_by_side_up_to_parallel_calls(embedder: Embedder) -> None:
    overlapping = _Overlapping(embedder, parallel_calls=2)
    requests = [[f"question {i}"] for i in range(9)]
    first = asyncio.ensure_future(overlapping.aencode(requests[0]))
    await asyncio.sleep(0.01)  # the first call is running: the next arrivals get a second one
    rest = await asyncio.gather(*[overlapping.aencode(r) for r in requests[1:]])
    results = [await first, *rest]
    assert overlapping.most == 2  # two calls at once, never more
    assert len(overlapping.calls) < len(requests)  # and the rest still shared calls
    assert sum(overlapping.calls) == len(requests)
    for texts, vectors in zip(requests, results, strict=True):
        assert np.allclose(vectors, embedder.encode(texts), atol=1e-5)
    # All drain tasks ended: a later request starts a new one.
    assert (await overlapping.aencode(["again"])).shape == (1, 384)


def test_model_calls_and_token_counting_from_many_threads_at_once(embedder: Embedder) -> None:
    """A Hugging Face fast tokenizer is one Rust object that two threads must not use at once
    with different settings (the brief counts tokens without truncation or padding while a
    model call pads and truncates): padding got corrupted (ValueError) before token counting
    had a tokenizer of its own; model calls side by side take turns on theirs."""
    assert embedder._onnx is not None
    onnx = embedder._onnx
    expected = onnx.encode(["the ledger export is gzip-compressed"], 64)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(150):
                if (i + j) % 3 == 0:
                    assert embedder.count_tokens(f"a brief line {j} " * (j + 1)) > 0
                else:
                    texts = ["the ledger export is gzip-compressed"] + [f"line {j}"] * (j % 5)
                    got = onnx.encode(texts, 64)
                    assert np.allclose(got[0], expected[0], atol=1e-5)
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
