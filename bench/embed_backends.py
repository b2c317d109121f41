"""Embedding backend lever: PyTorch (sentence-transformers as is) vs ONNX Runtime (the graph
exported locally by memory_service/onnx_backend.py), on the same texts in the same run.

Per backend: one short query at a time (what a search pays: wall ms and process CPU ms per
query), and throughput on batches of 64 handoff-like bullets (texts per wall second and per
CPU-second). Also ONNX Runtime with idle threads allowed to spin, the library's default.

Run: .venv/bin/python bench/embed_backends.py [--queries 200] [--texts 1024]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import Corpus, make_queries
from memory_service.embeddings import Embedder


def _measure(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    proc = psutil.Process()
    cpu0 = sum(proc.cpu_times()[:2])
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0, sum(proc.cpu_times()[:2]) - cpu0


def run(embedder: Embedder, queries: list[str], texts: list[str]) -> dict[str, float]:
    for q in queries[:20]:  # warm-up: first shapes are slow on every backend
        embedder.encode([q])
    embedder.encode(texts[:128])
    wall, cpu = _measure(lambda: [embedder.encode([q]) for q in queries])
    batch_wall, batch_cpu = _measure(lambda: embedder.encode(texts))
    return {
        "query_wall_ms": wall / len(queries) * 1000,
        "query_cpu_ms": cpu / len(queries) * 1000,
        "batch_texts_per_s": len(texts) / batch_wall,
        "batch_texts_per_cpu_s": len(texts) / batch_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--texts", type=int, default=1024)
    args = parser.parse_args()
    rng = random.Random(5)
    corpus = Corpus(seed=5)
    queries = [q for q, _ in make_queries(rng, corpus, args.queries)]
    texts: list[str] = []
    for handoff in corpus.handoffs():
        texts.extend(line[2:] for line in handoff.body.splitlines() if line.startswith("- "))
        if len(texts) >= args.texts:
            break
    texts = texts[: args.texts]
    with tempfile.TemporaryDirectory() as cache:
        variants: dict[str, Embedder] = {
            "torch": Embedder(backend="torch").load(),
            "onnx": Embedder(backend="onnx", cache_dir=Path(cache)).load(),
        }
        results = {name: run(e, queries, texts) for name, e in variants.items()}
        encoder = variants["onnx"]._onnx
        if encoder is not None:
            import onnxruntime  # type: ignore[import-untyped]

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = psutil.cpu_count() or 1
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "1")
            (graph,) = Path(cache).glob("*.onnx")
            encoder.session = onnxruntime.InferenceSession(
                str(graph), options, providers=["CPUExecutionProvider"]
            )
            results["onnx, spinning threads"] = run(variants["onnx"], queries, texts)
    print(f"{len(queries)} queries one at a time; {len(texts)} bullets in batches of 64")
    print("| backend | query wall ms | query CPU ms | batch texts/s | batch texts/CPU-s |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['query_wall_ms']:.1f} | {r['query_cpu_ms']:.1f} | "
            f"{r['batch_texts_per_s']:.0f} | {r['batch_texts_per_cpu_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
