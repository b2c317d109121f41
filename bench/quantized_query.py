"""Lever study: embed *queries* with an int8 copy of the model (ONNX Runtime dynamic
quantisation, made locally from the exported graph), while every stored learning keeps its
float32 vector from the published model.

Measured on one database of learnings (a kept benchmark database), the same queries through
both query encoders: CPU per query, the cosine between the two vectors of a query, and how much
of the exact top 10 (float32 query, all stored vectors, exact cosine) the int8 query's exact
top 10 keeps — to set next to what the HNSW index already gives up (recall@10 in RESULTS.md).
The development set's quality with int8 queries: `MEMORY_QUERY_ENCODER=int8 make eval`.

Run: .venv/bin/python bench/quantized_query.py postgresql://...  [--queries 500]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import psutil

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import Corpus, make_queries
from memory_service.embeddings import Embedder


def _cpu() -> float:
    return sum(psutil.Process().cpu_times()[:2])


def _encode_each(encode: object, texts: list[str]) -> tuple[np.ndarray, float]:
    """One text per call, as a search embeds its query; (vectors, CPU ms per text)."""
    for text in texts[:20]:  # warm-up
        encode([text])  # type: ignore[operator]
    cpu0 = _cpu()
    vectors = np.concatenate([encode([t]) for t in texts])  # type: ignore[operator]
    return vectors, (_cpu() - cpu0) / len(texts) * 1000


def _top(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ matrix.T
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri", help="a database holding learnings (e.g. a kept bench database)")
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()

    import onnxruntime  # type: ignore[import-untyped]
    import psycopg
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    with tempfile.TemporaryDirectory() as cache:
        embedder = Embedder(cache_dir=Path(cache), threads=1).load()
        encoder = embedder._onnx
        assert encoder is not None, "needs the ONNX backend"
        (graph,) = Path(cache).glob("*.onnx")
        int8_path = Path(cache) / "int8.onnx"
        quantize_dynamic(str(graph), str(int8_path), weight_type=QuantType.QInt8, per_channel=True)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        float_session = encoder.session
        int8_session = onnxruntime.InferenceSession(
            str(int8_path), options, providers=["CPUExecutionProvider"]
        )

        def with_session(session: object):  # type: ignore[no-untyped-def]
            def encode(texts: list[str]) -> np.ndarray:
                encoder.session = session
                return encoder.encode(texts, 8)

            return encode

        fp32, int8 = with_session(float_session), with_session(int8_session)

        with psycopg.connect(args.uri) as conn:
            rows = conn.execute(
                "SELECT embedding::text FROM learnings WHERE canonical_id IS NULL"
            ).fetchall()
        docs = np.array([json.loads(r[0]) for r in rows], dtype=np.float32)
        docs /= np.linalg.norm(docs, axis=1, keepdims=True)

        rng = random.Random(11)
        queries = [q for q, _ in make_queries(rng, Corpus(), args.queries)]
        qf, cpu_f = _encode_each(fp32, queries)
        qi, cpu_i = _encode_each(int8, queries)
        cos = (qf * qi).sum(axis=1)
        tf, ti = _top(docs, qf, 10), _top(docs, qi, 10)
        overlap = [len(set(a) & set(b)) / 10 for a, b in zip(tf, ti, strict=True)]
        top1 = float(np.mean(tf[:, 0] == ti[:, 0]))
        print(f"{len(docs)} stored canonical learnings, {len(queries)} synthetic queries")
        print(f"query CPU ms: float32 {cpu_f:.2f}, int8 {cpu_i:.2f}")
        print(
            f"cosine(float32 query, int8 query): median {np.median(cos):.4f}, "
            f"p05 {np.percentile(cos, 5):.4f}, min {cos.min():.4f}"
        )
        print(
            f"exact top 10 kept by the int8 query: mean {np.mean(overlap):.3f}, "
            f"p05 {np.percentile(overlap, 5):.2f}; same top 1: {top1:.3f}"
        )


if __name__ == "__main__":
    main()
