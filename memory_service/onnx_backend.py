"""The embedding model run by ONNX Runtime instead of PyTorch.

The ONNX graph is exported locally, from the weights sentence-transformers has already loaded
(no hub, no download), once per model and cached on disk. On this service's workload, one
short query at a time, ONNX Runtime answers in about a third of PyTorch's time for the same
vectors (bench/RESULTS.md, "Levers"). Only models made of a Transformer, mean pooling and an
optional normalisation are handled (all-MiniLM-L6-v2 is one); and a freshly built encoder must
reproduce PyTorch's embeddings on a few probe sentences before it is used, so stored vectors
stay comparable whichever backend wrote them. Anything else falls back to PyTorch."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

# Part of the cache key: bump when the export below changes.
EXPORT_VERSION = 1
# Sentences the ONNX encoder must embed like PyTorch before it replaces it.
PROBES = (
    "Do not run the migration twice: it is not idempotent.",
    "Decision: keep the retry budget in the gateway, not in each client.",
    "x",
    "The flaky test passes locally but fails in CI when the cache is cold " * 8,
)
MIN_PROBE_COSINE = 0.9999


class OnnxUnavailable(Exception):
    """The model cannot run on ONNX Runtime here; the caller keeps PyTorch."""


def supported(model: Any) -> bool:
    """A Transformer, mean pooling and (optionally) normalisation, nothing else."""
    names = [type(module).__name__ for module in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return False
    config = model[1].get_config_dict()
    return bool(config.get("pooling_mode") == "mean")


class OnnxEncoder:
    """Tokenizer of the sentence-transformers model + the exported transformer + mean pooling
    and L2 normalisation in numpy."""

    def __init__(self, session: Any, tokenizer: Any, max_length: int, normalize: bool) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.normalize = normalize
        self.inputs = [i.name for i in session.get_inputs()]
        # Model calls run side by side (Embedder.parallel_calls) and share this tokenizer: one
        # Rust object that two threads must not use at once (huggingface/tokenizers#537). They
        # take turns on it; tokenising is ~0.1 ms of a call.
        self.tokenizer_lock = threading.Lock()

    @classmethod
    def build(cls, model: Any, cache_dir: Path, *, threads: int | None = None) -> OnnxEncoder:
        """From a loaded SentenceTransformer: exports (or reuses) its ONNX graph in
        `cache_dir`, then checks it against the model itself. Raises OnnxUnavailable."""
        if not supported(model):
            raise OnnxUnavailable("not a Transformer + mean pooling model")
        try:
            import onnxruntime  # type: ignore[import-untyped]
        except ImportError as exc:
            raise OnnxUnavailable("onnxruntime is not installed") from exc
        path = cache_dir / f"{_cache_key(model)}.onnx"
        if not path.exists():
            _export(model, path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning for more work: between two requests a
        # spinning pool burnt several times the CPU of the inference itself.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a damaged cache file: export again next start
            path.unlink(missing_ok=True)
            raise OnnxUnavailable(f"cannot load {path}: {exc}") from exc
        encoder = cls(
            session,
            model.tokenizer,
            int(model.max_seq_length),
            normalize=type(model[-1]).__name__ == "Normalize",
        )
        encoder.check_against(model)
        return encoder

    def encode(self, texts: list[str], batch_size: int) -> npt.NDArray[np.float32]:
        # Sorted by length so each batch pads to a similar length, as sentence-transformers does.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        parts = [
            self._batch([texts[i] for i in order[start : start + batch_size]])
            for start in range(0, len(order), batch_size)
        ]
        result = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        result[order] = np.concatenate(parts)
        return result

    def _batch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        with self.tokenizer_lock:
            encoded = self.tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
        feed = {name: np.asarray(encoded[name], dtype=np.int64) for name in self.inputs}
        hidden = self.session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if self.normalize:
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.asarray(pooled, dtype=np.float32)

    def check_against(self, model: Any) -> None:
        expected = model.encode(
            list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        got = self.encode(list(PROBES), batch_size=len(PROBES))
        if self.normalize is False:
            got = got / np.linalg.norm(got, axis=1, keepdims=True)
        cosines = (np.asarray(expected) * got).sum(axis=1)
        if float(cosines.min()) < MIN_PROBE_COSINE:
            raise OnnxUnavailable(
                f"ONNX embeddings differ from PyTorch's (cosine {float(cosines.min()):.6f})"
            )


def _cache_key(model: Any) -> str:
    """Changes with the weights, the library versions and this exporter."""
    import torch
    import transformers

    transformer = model[0].auto_model
    digest = hashlib.sha256()
    digest.update(f"{EXPORT_VERSION}|{torch.__version__}|{transformers.__version__}".encode())
    digest.update(repr(transformer.config.to_dict()).encode())
    for name, tensor in sorted(transformer.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return f"{type(transformer).__name__.lower()}-{digest.hexdigest()[:16]}"


def _export(model: Any, path: Path) -> None:
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        import torch
    except ImportError as exc:
        raise OnnxUnavailable("the onnx package is not installed") from exc

    transformer = model[0].auto_model.eval()
    sample = model.tokenizer(["an example sentence"], return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            output: torch.Tensor = self.inner(**dict(zip(names, args, strict=True)))[0]
            return output

    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: several processes starting at once never read half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        # The exporter's warnings (tracer notes on BERT's masking code) concern the exporter's
        # own internals; the probe check below is what decides whether the graph is right.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(),
                tuple(sample[n] for n in names),
                tmp,
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, path)
    except Exception as exc:
        raise OnnxUnavailable(f"export failed: {exc}") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    log.info("exported the embedding model to ONNX: %s", path)
