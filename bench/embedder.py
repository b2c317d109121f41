"""The raw model, loaded in the benchmark process: the ceiling the service's ingest is compared
with, on exactly the texts the service embeds."""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
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


def embedding_texts(handoff: SyntheticHandoff) -> list[str]:
    """What the service embeds for this handoff: the same sanitising, redaction, parsing and
    `embedding_text` as `memory_service.handoffs.service.create_handoff` (imported, so a
    change there is measured here too; `topic` is passed only while `embedding_text` takes it,
    as the service has changed that while it was tuned)."""
    from memory_service.handoffs.parsing import parse_handoff
    from memory_service.handoffs.redaction import redact
    from memory_service.handoffs.sanitize import sanitize_text
    from memory_service.recall.text import embedding_text

    body, _ = redact(sanitize_text(handoff.body))
    parsed = parse_handoff(body)
    takes_topic = "topic" in inspect.signature(embedding_text).parameters
    texts = []
    for p in parsed.learnings:
        extra: dict[str, Any] = {"topic": handoff.topic or parsed.title} if takes_topic else {}
        texts.append(embedding_text(p.kind, p.text, section=p.section, **extra))
    return texts


class RawEmbedder:
    """A SentenceTransformer of the service's model, called like the service calls it."""

    def __init__(self, batch_size: int | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        from memory_service.config import DEFAULT_EMBEDDING_MODEL
        from memory_service.embeddings import resolve_model

        self.batch_size = batch_size or service_batch_size()
        self.model: Any = SentenceTransformer(resolve_model(DEFAULT_EMBEDDING_MODEL), device="cpu")
        self.encode(["warm-up: the first call pays for lazy initialisation"] * 8)

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

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
