"""The ONNX Runtime backend gives the vectors PyTorch gives, keeps its export between starts,
and steps aside (to PyTorch) when its export cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from memory_service.config import Settings
from memory_service.embeddings import Embedder

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "dev_eval.json"


def _torch_twin(embedder: Embedder) -> Embedder:
    twin = Embedder(backend="torch")
    twin._model = embedder._model
    return twin


def test_onnx_vectors_equal_torch_vectors(embedder: Embedder) -> None:
    data = json.loads(DEV_SET.read_text())
    texts = [q["query"] for q in data["queries"]][:40]
    texts += [
        line[2:]
        for h in data["handoffs"][:10]
        for line in h["body"].splitlines()
        if line.startswith("- ")
    ]
    assert embedder.backend == "onnx"
    got = embedder.encode(texts)
    expected = _torch_twin(embedder).encode(texts)
    assert got.shape == expected.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # Stored vectors stay comparable whichever backend wrote them.
    assert float((got * expected).sum(axis=1).min()) > 0.9999
    # Batching (sorted by length, padded per batch) does not change a text's vector.
    one_by_one = np.stack([embedder.encode([t])[0] for t in texts[:12]])
    assert np.allclose(one_by_one, got[:12], atol=1e-5)


def test_export_is_kept_and_a_damaged_one_is_replaced(tmp_path: Path) -> None:
    first = Embedder(cache_dir=tmp_path).load()
    assert first.backend == "onnx"
    (exported,) = tmp_path.glob("*.onnx")
    stamp = exported.stat().st_mtime_ns
    second = Embedder(cache_dir=tmp_path).load()
    assert second.backend == "onnx"
    assert exported.stat().st_mtime_ns == stamp  # reused, not exported again

    exported.write_bytes(b"not an onnx graph")
    damaged = Embedder(cache_dir=tmp_path).load()
    assert damaged.backend == "torch"  # still serves, on PyTorch
    assert damaged.encode(["still works"]).shape == (1, 384)
    assert not exported.exists()  # removed, so the next start exports afresh
    again = Embedder(cache_dir=tmp_path).load()
    assert again.backend == "onnx"
    assert exported.exists()


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedding_backend="torch")
    embedder = Embedder.from_settings(settings)
    assert embedder.cache_dir == tmp_path / "models"
    assert embedder.load().backend == "torch"
    assert not (tmp_path / "models").exists()


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="backend"):
        Embedder(backend="tensorflow")
