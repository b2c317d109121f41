"""The pure parts of the 1M benchmark harness (bench/million.py): synthetic vectors, the
resumable embedding cache, distinct texts, template recognition and the export file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bench import million
from bench.corpus import Corpus
from memory_service.embeddings import Embedder
from memory_service.learnings.duplicates import NEAR_DUPLICATE_SIMILARITY
from memory_service.portability import FORMAT, ImportReport, RowImporter, read_records


def _clustered(groups: int, per_group: int, seed: int = 0) -> tuple[np.ndarray, list[tuple]]:
    """Unit vectors around `groups` random centres (within-group cosine ~0.5, as measured
    between real embeddings of one template)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((groups, 384))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors, labels = [], []
    for g in range(groups):
        for _ in range(per_group):
            v = centres[g] + rng.standard_normal(384) * million.noise_scale(0.7)
            vectors.append(v / np.linalg.norm(v))
            labels.append(("domain", "Decisions", g))
    return np.array(vectors, dtype=np.float32), labels


def test_synthetic_vectors_are_unit_distinct_and_stay_with_their_group() -> None:
    real, real_groups = _clustered(groups=6, per_group=8)
    wanted = [("domain", "Decisions", g % 6) for g in range(600)]
    out, report = million.synthetic_vectors(real, real_groups, wanted, np.random.default_rng(1))
    assert out.shape == (600, 384)
    assert out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # Distinct: no two synthetic vectors, and none and a real one, are (near-)equal.
    sims = out @ out.T
    np.fill_diagonal(sims, 0)
    assert sims.max() < 0.99
    assert (out @ real.T).max() < NEAR_DUPLICATE_SIMILARITY
    # Neighbours stay neighbours: each is nearest, among the real vectors, to one of its group.
    nearest = np.argmax(out @ real.T, axis=1)
    assert all(real_groups[n] == wanted[j] for j, n in enumerate(nearest))
    assert report["donors_from"] == {"template": 600, "section": 0, "any": 0}
    # As alike to the real vectors of its group as two of them are to each other: the
    # group's neighbourhood keeps its real spread (neither collapsed nor scattered).
    assert (
        abs(
            report["to_random_real_of_group_cosine_mean"]
            - report["real_pairs_of_group_cosine_mean"]
        )
        < 0.05
    )
    assert report["donor_cosine_max"] < NEAR_DUPLICATE_SIMILARITY


def test_synthetic_vectors_fall_back_to_the_section_then_anything() -> None:
    real, real_groups = _clustered(groups=2, per_group=4)
    wanted = [("domain", "Decisions", 99), ("other", "Patterns", 0)]
    _, report = million.synthetic_vectors(real, real_groups, wanted, np.random.default_rng(2))
    assert report["donors_from"] == {"template": 0, "section": 1, "any": 1}
    with pytest.raises(ValueError, match="at least one real"):
        million.synthetic_vectors(real[:0], [], wanted, np.random.default_rng(2))


def test_noise_scale_gives_the_asked_cosine() -> None:
    rng = np.random.default_rng(3)
    v = rng.standard_normal(384)
    v /= np.linalg.norm(v)
    for cosine in (0.98, 0.8, 0.5):
        noisy = v + rng.standard_normal((2000, 384)) * million.noise_scale(cosine)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        assert abs(float(np.mean(noisy @ v)) - cosine) < 0.02
    assert million.noise_scale(1.0) == 0.0


class _Clock:
    """Advances one second per text the model embeds: the budget counts model time."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.now = 0.0
        self.calls: list[int] = []

    def __call__(self) -> float:
        return self.now

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        self.now += len(texts)
        return self.embedder.encode(list(texts))


def test_embedding_cache_stops_at_the_budget_and_resumes(
    tmp_path: Path, embedder: Embedder
) -> None:
    texts = [f"Decision (Decisions): retry number {i} of the ledger writer" for i in range(10)]
    cache = million.EmbeddingCache(tmp_path, embedder.name, chunk=4)
    clock = _Clock(embedder)
    # 4 s per chunk: after the first, a second fits a budget of 9 s, a third does not.
    first, report = cache.embed(texts, clock.encode, budget_s=9, clock=clock)
    assert clock.calls == [4, 4]
    assert report["real"] == 8 and report["embedded_now"] == 8
    assert np.allclose(first, embedder.encode(texts[:8]), atol=1e-5)

    again = million.EmbeddingCache(tmp_path, embedder.name, chunk=4)
    clock.calls.clear()
    whole, report = again.embed(texts, clock.encode, budget_s=100, clock=clock)
    assert clock.calls == [2]  # only the chunk never embedded
    assert report["reused_from_cache"] == 8 and report["real"] == 10
    assert np.allclose(whole[:8], first)

    # A chunk whose texts changed is embedded again, not served from the cache.
    changed = [*texts[:4], "Decision (Decisions): something else entirely", *texts[5:]]
    clock.calls.clear()
    mixed, _ = again.embed(changed, clock.encode, budget_s=100, clock=clock)
    assert clock.calls == [4]
    assert np.allclose(mixed[4], embedder.encode([changed[4]])[0], atol=1e-5)

    # No budget: nothing new is embedded, and the cached chunks come back as a prefix: the
    # second chunk now holds the changed texts, so the first is all that matches, and the
    # third (cached, matching) is not returned after the gap.
    clock.calls.clear()
    cached, report = again.embed(texts, clock.encode, budget_s=0, clock=clock)
    assert clock.calls == [] and report["real"] == 4
    assert np.allclose(cached, first[:4])
    cached, report = again.embed(changed, clock.encode, budget_s=0, clock=clock)
    assert clock.calls == [] and report["real"] == 10 and report["reused_from_cache"] == 10


def test_every_corpus_bullet_is_matched_to_its_template() -> None:
    corpus = million.build_distinct(Corpus(seed=11), 600)
    assert all(item.group[2] >= 0 for item in corpus.learnings)
    assert million.template_of("Decisions", "Nothing like any template.") == -1


def test_distinct_corpus_has_distinct_texts_and_the_exact_count() -> None:
    corpus = million.build_distinct(Corpus(seed=5), 3000, workers=2)
    texts = corpus.texts
    assert len(texts) == 3000
    assert len(set(texts)) == 3000
    # The corpus does repeat itself at this size; those repeats are what was left out.
    assert corpus.repeats_left_out > 0
    assert sum(len(p.learnings) for p in corpus.prepared) == 3000
    # Prepared in worker processes or here: the same corpus.
    alone = million.build_distinct(Corpus(seed=5), 3000, workers=1)
    assert alone.texts == texts and alone.repeats_left_out == corpus.repeats_left_out


def test_export_file_is_what_the_import_reads_unchanged(embedder: Embedder) -> None:
    corpus = million.build_distinct(Corpus(seed=5), 300)
    vectors = np.random.default_rng(0).standard_normal((300, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    lines = list(million.export_lines(corpus, vectors, team="bench", model=embedder.name))
    records = list(read_records(lines))
    assert records[0][1]["format"] == FORMAT
    end = records[-1][1]
    assert end == {
        "type": "end",
        "counts": {
            "projects": end["counts"]["projects"],
            "handoffs": len(corpus.handoffs),
            "learnings": 300,
        },
    }
    report = ImportReport(team="bench")
    importer = RowImporter(None, report, embedder.name)  # type: ignore[arg-type]
    learnings = []
    for number, record in records[1:-1]:
        importer.record(record["type"], record, number)
        stored = importer.pending[-1].values
        if record["type"] == "learning":
            # The import's hygiene changed nothing: the text and its hash are as stored.
            assert stored["text"] == record["text"]
            assert stored["content_hash"] == record["content_hash"]
            learnings.append(stored)
    assert report.redactions == {} and report.other_model == {}
    assert [x["text"] for x in learnings] == [x.prepared.text for x in corpus.learnings]
    got = np.array([x["embedding"] for x in learnings])
    assert np.allclose(got, vectors, atol=1e-6)
    assert len({x["id"] for x in learnings}) == 300
    json.loads(lines[1])  # one JSON object per line


def test_index_name_is_read_from_the_build_statement() -> None:
    statement = (
        "CREATE INDEX ix_learnings_embedding_hnsw ON learnings USING hnsw "
        "((CAST(embedding AS halfvec(384))) halfvec_cosine_ops) WITH (m = 16)"
    )
    assert million.index_name(statement) == "ix_learnings_embedding_hnsw"
    assert million.index_name('REINDEX INDEX CONCURRENTLY "ix_learnings_tsv"') == (
        "ix_learnings_tsv"
    )
    assert million.index_name("create index if not exists ix_a on t (x)") == "ix_a"
    assert million.index_name("SELECT 1") is None


def test_run_takes_the_bulk_sizes_and_server_settings() -> None:
    from bench.run import PRESETS, parse_args

    args = parse_args(["--size", "1m", "--server-env", "MEMORY_EMBEDDED_SHARED_BUFFERS_MB=2048"])
    assert args.size == "1m" and PRESETS["1m"]["bulk"] and PRESETS["1m"]["sizes"] == [1_000_000]
    assert PRESETS["100k"]["bulk"] and PRESETS["100k"]["sizes"] == [100_000]
    assert args.server_env == [("MEMORY_EMBEDDED_SHARED_BUFFERS_MB", "2048")]
    assert args.embed_budget_minutes == 60.0
    # The HTTP-ingested presets stay as they were.
    assert not PRESETS["small"].get("bulk") and not PRESETS["default"].get("bulk")
    with pytest.raises(SystemExit):
        parse_args(["--server-env", "EMBEDDED_SHARED_BUFFERS_MB"])


def test_measured_call_reports_the_commands_own_peak_rss(tmp_path: Path) -> None:
    """A child's ru_maxrss starts from its parent's on Linux; this process holds ~600 MiB, so
    the plain wait4 of a tiny child says >= 600 MiB, and measured_call says what the child
    itself used (the first 1M run reported the bench's 11.6 GiB as the import's)."""
    import os
    import subprocess
    import sys

    ballast = bytearray(600 * 2**20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # touched: resident
    tiny = [sys.executable, "-c", "pass"]
    plain = subprocess.Popen(tiny)
    _, _, usage = os.wait4(plain.pid, 0)
    assert usage.ru_maxrss / 1024 >= 600

    measured = million.measured_call(tiny, tmp_path / "usage.json")
    assert measured["code"] == 0
    assert measured["maxrss_kib"] / 1024 < 200
    assert measured["cpu_s"] > 0
    del ballast

    failing = million.measured_call([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "u")
    assert failing["code"] == 3
