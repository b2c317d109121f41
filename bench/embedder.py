"""The raw model, loaded in the benchmark process: the ceiling the service's ingest is compared
with, on exactly the texts the service embeds, run by the same backend the service runs
(ONNX Runtime by default), so a faster backend raises both sides alike."""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.corpus import SyntheticHandoff


def service_batch_size() -> int:
    """The service's default `MEMORY_EMBEDDING_BATCH_SIZE` (the benchmark server runs on
    defaults)."""
    from memory_service.config import Settings

    default: int = Settings.model_fields["embedding_batch_size"].default
    return default


def service_backend() -> str:
    """The service's default `MEMORY_EMBEDDING_BACKEND`."""
    from memory_service.config import Settings

    default: str = Settings.model_fields["embedding_backend"].default
    return default


def service_threads() -> int | None:
    """The service's default `MEMORY_EMBEDDING_THREADS` (0: all cores, as None here)."""
    from memory_service.config import Settings

    default: int = Settings.model_fields["embedding_threads"].default
    return default or None


def embedding_texts(handoff: SyntheticHandoff) -> list[str]:
    """What the service embeds for this handoff: the same sanitising, redaction, parsing and
    `embedding_text` as `memory_service.handoffs.service.create_handoff` (imported, so a
    change there is measured here too; `topic` is passed only while `embedding_text` takes it,
    as the service has changed that while it was tuned)."""
    from memory_service.handoffs.parsing import parse_handoff
    from memory_service.hygiene.redaction import redact
    from memory_service.hygiene.sanitize import sanitize_text
    from memory_service.learnings.embedding_text import embedding_text

    body, _ = redact(sanitize_text(handoff.body))
    parsed = parse_handoff(body)
    takes_topic = "topic" in inspect.signature(embedding_text).parameters
    texts = []
    for p in parsed.learnings:
        extra: dict[str, Any] = {"topic": handoff.topic or parsed.title} if takes_topic else {}
        texts.append(embedding_text(p.kind, p.text, section=p.section, **extra))
    return texts


class RawEmbedder:
    """The service's model on the service's backend and threads, called directly (no HTTP, no
    database, no batching across requests): `Embedder.encode`, the call the service's batches
    end in."""

    def __init__(
        self,
        batch_size: int | None = None,
        *,
        backend: str | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        from memory_service.embeddings import Embedder

        self.batch_size = batch_size or service_batch_size()
        self.embedder = Embedder(
            batch_size=self.batch_size,
            backend=backend or service_backend(),
            cache_dir=cache_dir,
            threads=service_threads(),
        ).load()
        # What really runs (the ONNX backend falls back to PyTorch when it cannot be used).
        self.backend = self.embedder.backend
        self.encode(["warm-up: the first call pays for lazy initialisation"] * 8)

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """In as many concurrent calls as the service makes (`parallel_calls`: one per core
        with one-thread ONNX calls), each on a contiguous share of the texts: the raw model
        uses the whole machine, as the service does."""
        items = list(texts)
        calls = min(self.embedder.parallel_calls, max(1, len(items) // self.batch_size))
        if calls <= 1:
            return self.embedder.encode(items)
        step = -(-len(items) // calls)
        parts = [items[i : i + step] for i in range(0, len(items), step)]
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            return np.concatenate(list(pool.map(self.embedder.encode, parts)))

    def warm_up(self, groups: Sequence[Sequence[str]]) -> float:
        """Untimed passes over representative texts, as one call and one call per group.
        The first encode of each new input shape (batch size x padded length) is several
        times slower than later ones (measured here: 12 texts/s on a first pass of per-handoff
        calls, 100 on the second), and a long-running server has seen them all."""
        started = time.perf_counter()
        self.encode([t for g in groups for t in g])
        for group in groups:
            self.encode(group)
        return time.perf_counter() - started

    def throughput(self, texts: Sequence[str]) -> dict[str, float]:
        """Texts per second for one `encode` call over all texts, in batches of the service's
        batch size: the model's best case on these texts."""
        started = time.perf_counter()
        self.encode(texts)
        seconds = time.perf_counter() - started
        return {"texts": len(texts), "seconds": seconds, "per_s": len(texts) / seconds}
