"""The bulk-loaded sizes of the benchmark (`bench/run.py --size 1m`, `--size 100k`): the
synthetic corpus with distinct learning texts, embedded by the service's model within a time
budget, written as a team export (portability.py's JSON Lines format) and loaded with
`memory-service import` (`--bulk --rebuild-indexes` where the CLI has it). Then run.py's own
search, brief, recall, memory and cold-start measurements run on it.

Why not the HTTP write path: at 1M learnings it would take the service ~3 h of model time plus
the writes, and the same model time is what limits this run (~90 texts per CPU-second here).

How the rows are made: each synthetic handoff goes through the service's own
`prepare_handoff` (cleaning, redaction, parsing, the text that is embedded) and the rows
`store_handoff` would insert (`_handoff`, `_learnings`), so the file holds what the write
path would have stored, ids included, minus near-duplicate links.

Distinct texts: the corpus draws bullets from templates, and a few templates have few slots
(at 100k learnings ~9 % of embedded texts repeat an earlier one). A learning whose embedded
text was already seen is left out of the learnings (it stays in its handoff's body), so every
learning in the file has its own text; `distinct` in the results says how many were left out.

Embeddings: the distinct texts are embedded in a seeded random order (so the real ones are a
uniform sample of the corpus, not its first handoffs), in chunks cached on disk
(`EmbeddingCache`), until `--embed-budget-minutes` is spent; an interrupted run resumes from
its chunks. Each learning left without a real embedding gets a synthetic one
(`synthetic_vectors`): the real embedding of a learning of the same template, section and
domain, moved by half the difference between two other real ones of that group, plus a little
Gaussian noise, renormalised. Neighbours stay neighbours,
every vector is distinct, and how alike a synthetic vector is to the real ones of its group is
measured against how alike two real ones are; what it does to recall and to results is in
bench/RESULTS.md (issue 21, points 2-3).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import string
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.corpus import TEMPLATES, Corpus, SyntheticHandoff

EMBEDDING_DIMENSIONS = 384
# Texts per cached chunk: ~10-25 s of model time on this machine, so an interruption loses
# little and a 1M run writes a few hundred files.
CACHE_CHUNK = 2_000
# The noise added to a synthetic vector's mix of two real ones: small (cosine 0.98 with the
# mix), enough that two synthetic vectors from the same donors still differ.
SYNTHETIC_NOISE_COSINE = 0.98
# How far a synthetic vector moves from its donor along a within-group difference b - c:
# with members of a group at cosine ~0.5 to each other (|b - c| ~ 1), 0.5 leaves it at cosine
# ~0.89 to its donor, below the service's near-duplicate similarity (0.93).
SYNTHETIC_STEP = 0.5
PAIRS_PER_GROUP = 50
EXPORT_DECIMALS = 6
# Handoffs sent to the preparing processes at a time.
PREPARE_BATCH = 2_048


# --------------------------------------------------------------------------------------------
# Corpus: distinct learnings, as the service would store them
# --------------------------------------------------------------------------------------------


def _template_patterns() -> dict[str, list[re.Pattern[str]]]:
    """Each section's templates as regexes (a slot matches any text), to tell which template
    a bullet was drawn from."""
    out: dict[str, list[re.Pattern[str]]] = {}
    for section, templates in TEMPLATES.items():
        patterns = []
        for template in templates:
            parts = []
            for literal, slot, _, _ in string.Formatter().parse(template):
                parts.append(re.escape(literal))
                if slot is not None:
                    parts.append(".+?")
            patterns.append(re.compile("".join(parts), re.IGNORECASE | re.DOTALL))
        out[section] = patterns
    return out


_PATTERNS = _template_patterns()


def template_of(section: str, text: str) -> int:
    """The index of the template of `section` that `text` fills, or -1."""
    for i, pattern in enumerate(_PATTERNS.get(section, ())):
        if pattern.fullmatch(text):
            return i
    return -1


@dataclass
class Learning:
    handoff: int  # index into BulkCorpus.handoffs
    prepared: Any  # PreparedLearning
    group: tuple[str, str, int]  # (domain, section, template) of the donor search


@dataclass
class BulkCorpus:
    handoffs: list[SyntheticHandoff] = field(default_factory=list)
    prepared: list[Any] = field(default_factory=list)  # PreparedHandoff, learnings kept only
    learnings: list[Learning] = field(default_factory=list)
    repeats_left_out: int = 0

    @property
    def texts(self) -> list[str]:
        return [item.prepared.embedded for item in self.learnings]


def _prepare(request: dict[str, Any]) -> Any:
    from memory_service.handoffs.prepare import prepare_handoff
    from memory_service.handoffs.schemas import HandoffCreate

    return prepare_handoff(HandoffCreate(**request))


def _prepared_stream(
    corpus: Corpus, workers: int
) -> Generator[tuple[SyntheticHandoff, Any], None, None]:
    """The corpus's handoffs with what the service's `prepare_handoff` makes of each, in
    order; prepared by `workers` processes (~10 ms a handoff: 15-20 min for 1M learnings on
    one core)."""
    stream = corpus.handoffs()
    if workers <= 1:
        for handoff in stream:
            yield handoff, _prepare(handoff.request())
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Spawned, not forked: the parent already runs the model's (ONNX Runtime) threads, and a
    # fork copies their locks in whatever state they are.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        while True:
            batch = [next(stream) for _ in range(PREPARE_BATCH)]
            prepared = pool.map(_prepare, [h.request() for h in batch], chunksize=64)
            yield from zip(batch, prepared, strict=True)


def build_distinct(corpus: Corpus, total: int, *, workers: int = 1) -> BulkCorpus:
    """Handoffs of `corpus` prepared as the service prepares a write, until `total` learnings
    with distinct embedded texts; a learning repeating an earlier text is left out. The same
    corpus whatever `workers` is."""
    domains = {p.slug: p.domain.name for p in corpus.projects}
    out = BulkCorpus()
    seen: set[str] = set()
    stream = _prepared_stream(corpus, workers)
    try:
        while len(out.learnings) < total:
            handoff, prepared = next(stream)
            kept: list[Any] = []
            for item in prepared.learnings:
                if item.embedded in seen or len(out.learnings) + len(kept) >= total:
                    out.repeats_left_out += item.embedded in seen
                    continue
                seen.add(item.embedded)
                kept.append(item)
            if not kept:
                continue
            index = len(out.handoffs)
            out.handoffs.append(handoff)
            out.prepared.append(dataclasses.replace(prepared, learnings=tuple(kept)))
            for item in kept:
                section = item.section
                group = (domains[handoff.project], section, template_of(section, item.text))
                out.learnings.append(Learning(index, item, group))
    finally:
        stream.close()  # stops the worker processes
    return out


# --------------------------------------------------------------------------------------------
# Embeddings: real within a budget, cached; synthetic for the rest
# --------------------------------------------------------------------------------------------


def _digest(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()


class EmbeddingCache:
    """Embeddings of a list of texts, `chunk` at a time, each chunk saved as
    `<dir>/<model>/chunk-NNNNNN.npy` next to a digest of its texts: a chunk is reused only for
    exactly the texts it was made from, so a rerun with the same corpus resumes where the last
    one stopped and a changed corpus re-embeds."""

    def __init__(self, directory: Path, model: str, chunk: int = CACHE_CHUNK) -> None:
        self.directory = directory / re.sub(r"[^A-Za-z0-9._-]", "_", model)
        self.chunk = chunk
        self.directory.mkdir(parents=True, exist_ok=True)

    def _paths(self, number: int) -> tuple[Path, Path]:
        stem = self.directory / f"chunk-{number:06d}"
        return stem.with_suffix(".npy"), stem.with_suffix(".sha256")

    def load(self, number: int, texts: Sequence[str]) -> npt.NDArray[np.float32] | None:
        vectors, digest = self._paths(number)
        try:
            if digest.read_text().strip() != _digest(texts):
                return None
            array: npt.NDArray[np.float32] = np.load(vectors)
        except (OSError, ValueError):
            return None
        return array if array.shape == (len(texts), EMBEDDING_DIMENSIONS) else None

    def save(self, number: int, texts: Sequence[str], array: npt.NDArray[np.float32]) -> None:
        vectors, digest = self._paths(number)
        # Written then renamed: a kill mid-write leaves no chunk that looks complete.
        tmp = vectors.with_suffix(".tmp.npy")
        np.save(tmp, array.astype(np.float32))
        os.replace(tmp, vectors)
        digest.write_text(_digest(texts) + "\n")

    def embed(
        self,
        texts: Sequence[str],
        encode: Callable[[Sequence[str]], npt.NDArray[np.float32]],
        *,
        budget_s: float,
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[str], None] | None = None,
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        """The embeddings of a prefix of `texts`: every cached chunk, then new chunks while
        the budget (seconds of encoding in this call) allows one more at the rate seen so
        far. Returns them and what was reused, embedded and left out."""
        parts: list[npt.NDArray[np.float32]] = []
        reused = embedded = 0
        spent = 0.0
        for number, start in enumerate(range(0, len(texts), self.chunk)):
            part = texts[start : start + self.chunk]
            cached = self.load(number, part)
            if cached is not None:
                parts.append(cached)
                reused += len(part)
                continue
            if embedded:
                per_text = spent / embedded
                if spent + per_text * len(part) > budget_s:
                    break
            elif budget_s <= 0:
                break
            started = clock()
            array = np.asarray(encode(part), dtype=np.float32)
            spent += clock() - started
            self.save(number, part, array)
            parts.append(array)
            embedded += len(part)
            if progress is not None:
                done = reused + embedded
                progress(
                    f"embed: {done:,}/{len(texts):,} texts ({embedded:,} new at "
                    f"{embedded / spent:.0f}/s, {reused:,} from the cache)"
                )
        vectors = (
            np.concatenate(parts) if parts else np.zeros((0, EMBEDDING_DIMENSIONS), np.float32)
        )
        return vectors, {
            "texts": len(texts),
            "real": len(vectors),
            "reused_from_cache": reused,
            "embedded_now": embedded,
            "embed_seconds": spent,
            "texts_per_s": embedded / spent if spent else None,
            "budget_s": budget_s,
        }


def noise_scale(cosine: float, dim: int = EMBEDDING_DIMENSIONS) -> float:
    """Per-component standard deviation s of the Gaussian noise e added to a unit vector v so
    that cos(v, (v + e) / |v + e|) is `cosine` in expectation (|e|² ≈ dim·s², e ⟂ v nearly):
    cos = 1 / sqrt(1 + dim·s²)."""
    cosine = min(max(cosine, 1e-3), 1.0)
    return math.sqrt(max(0.0, 1.0 / cosine**2 - 1.0) / dim)


def group_spread(
    vectors: npt.NDArray[np.float32],
    groups: Sequence[tuple[str, str, int]],
    rng: np.random.Generator,
    pairs: int = PAIRS_PER_GROUP,
) -> dict[tuple[str, str, int], float]:
    """Per group, the mean cosine between random pairs of its (unit) vectors."""
    members: dict[tuple[str, str, int], list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    out: dict[tuple[str, str, int], float] = {}
    for g, idx in members.items():
        if len(idx) < 2:
            continue
        a = rng.choice(idx, size=pairs)
        b = rng.choice(idx, size=pairs)
        keep = a != b
        if not keep.any():
            continue
        out[g] = float(np.mean(np.sum(vectors[a[keep]] * vectors[b[keep]], axis=1)))
    return out


def synthetic_vectors(
    real: npt.NDArray[np.float32],
    real_groups: Sequence[tuple[str, str, int]],
    groups: Sequence[tuple[str, str, int]],
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
    """Vectors for learnings of `groups` that have no real embedding. Each starts from a
    donor a, a real embedding of the same group (template, section, domain; else of the same
    section and domain, else any), moved by half the difference b - c of two other real
    embeddings of that group, plus a little isotropic Gaussian noise (cosine
    SYNTHETIC_NOISE_COSINE), renormalised: a + STEP·(b - c) + e. The step follows a direction
    along which the group's real embeddings do vary, so the vector stays where the group
    lies (random directions would make it less similar to every query than a real one), and
    about as far from the group's other members as they are from each other (a mix of two
    members, tried first, sat nearer the group's centre: 0.69 to a random member against 0.51
    between two real ones). Two different triples never give the same vector."""
    dim = real.shape[1] if real.ndim == 2 else EMBEDDING_DIMENSIONS
    if len(groups) == 0:
        return np.zeros((0, dim), dtype=np.float32), {"count": 0}
    if len(real) == 0:
        raise ValueError("synthetic vectors need at least one real embedding to start from")
    by_group: dict[tuple[str, str, int], list[int]] = {}
    by_section: dict[tuple[str, str], list[int]] = {}
    for i, g in enumerate(real_groups):
        by_group.setdefault(g, []).append(i)
        by_section.setdefault(g[:2], []).append(i)
    donors = np.empty((len(groups), 3), dtype=np.int64)
    how = {"template": 0, "section": 0, "any": 0}
    everyone = list(range(len(real)))
    for j, g in enumerate(groups):
        pool = by_group.get(g)
        if pool and len(pool) >= 3:
            how["template"] += 1
        else:
            pool = by_section.get(g[:2])
            how["section" if pool else "any"] += 1
        pool = pool or everyone
        # Three different members whenever there are three (b = c would add nothing).
        picks = rng.choice(len(pool), size=min(3, len(pool)), replace=False)
        picks = np.resize(picks, 3)
        donors[j] = [pool[k] for k in picks]
    a = real[donors[:, 0]].astype(np.float64)
    out = a + SYNTHETIC_STEP * (real[donors[:, 1]] - real[donors[:, 2]])
    out += rng.standard_normal((len(groups), dim)) * noise_scale(SYNTHETIC_NOISE_COSINE, dim)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    donor = np.sum(out * real[donors[:, 0]], axis=1)
    # How alike a synthetic vector and a real one of its group are, next to two real ones of
    # that group: equal spreads mean the group's neighbourhood has the real shape.
    spread = group_spread(real, real_groups, rng)
    sample = rng.choice(len(groups), size=min(len(groups), 5_000), replace=False)
    synthetic_to_real = []
    for j in sample:
        pool = by_group.get(groups[j])
        if pool and len(pool) >= 2 and groups[j] in spread:
            synthetic_to_real.append(float(out[j] @ real[pool[rng.integers(len(pool))]]))
    real_pairs = [spread[groups[j]] for j in sample if groups[j] in spread]
    return out.astype(np.float32), {
        "count": len(groups),
        "donors_from": how,
        "donor_cosine_mean": float(np.mean(donor)),
        "donor_cosine_max": float(np.max(donor)),
        "to_random_real_of_group_cosine_mean": (
            float(np.mean(synthetic_to_real)) if synthetic_to_real else None
        ),
        "real_pairs_of_group_cosine_mean": float(np.mean(real_pairs)) if real_pairs else None,
    }


def all_vectors(
    texts: Sequence[str],
    groups: Sequence[tuple[str, str, int]],
    cache: EmbeddingCache,
    encode: Callable[[Sequence[str]], npt.NDArray[np.float32]],
    *,
    budget_s: float,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], dict[str, Any]]:
    """A unit vector for every text (in the order given), real for a seeded random sample that
    fits the budget, synthetic for the rest; with a mask of the real ones and a report."""
    order = np.random.default_rng(seed).permutation(len(texts))
    real, report = cache.embed(
        [texts[i] for i in order], encode, budget_s=budget_s, progress=progress
    )
    vectors = np.empty((len(texts), EMBEDDING_DIMENSIONS), dtype=np.float32)
    is_real = np.zeros(len(texts), dtype=bool)
    done = order[: len(real)]
    vectors[done] = real
    is_real[done] = True
    rest = order[len(real) :]
    synthetic, how = synthetic_vectors(
        real, [groups[i] for i in done], [groups[i] for i in rest], np.random.default_rng(seed)
    )
    if len(rest):
        vectors[rest] = synthetic
    report["synthetic"] = how
    return vectors, is_real, report


# --------------------------------------------------------------------------------------------
# The export file
# --------------------------------------------------------------------------------------------


def _record(kind: str, row: Any, columns: Sequence[Any]) -> dict[str, Any]:
    from memory_service.portability import to_json

    record: dict[str, Any] = {"type": kind}
    for column in columns:
        value = getattr(row, column.name, None)
        if value is None:
            continue  # the import gives it the column's default, as a fresh write gets
        if column.name == "embedding":
            value = np.round(np.asarray(value, dtype=np.float64), EXPORT_DECIMALS)
        record[column.name] = to_json(value)
    return record


def export_lines(
    corpus: BulkCorpus, vectors: npt.NDArray[np.float32], *, team: str, model: str
) -> Iterator[str]:
    """The corpus as `memory-service export` writes a team: header, projects, handoffs,
    learnings (embeddings rounded to 6 decimals: float32 holds ~7 significant digits, the
    HNSW index 2-byte floats), end line."""
    from memory_service.handoffs.service import _handoff, _learnings
    from memory_service.ids import new_id
    from memory_service.portability import (
        FORMAT,
        FORMAT_VERSION,
        HANDOFFS,
        LEARNINGS,
        export_columns,
        export_line,
    )

    team_id = uuid.UUID(int=0)  # not exported: the import decides the team
    yield export_line(
        {
            "type": "header",
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "team": team,
            "embedding_model": model,
            "exported_at": datetime.now(UTC).isoformat(),
        }
    )
    slugs = sorted({h.project for h in corpus.handoffs})
    project_ids = {slug: new_id() for slug in slugs}
    created = datetime(2025, 1, 1, tzinfo=UTC).isoformat()
    for slug in slugs:
        yield export_line(
            {"type": "project", "id": str(project_ids[slug]), "slug": slug, "created_at": created}
        )
    handoff_rows = []
    columns = export_columns(HANDOFFS)
    for handoff, prepared in zip(corpus.handoffs, corpus.prepared, strict=True):
        row = _handoff(team_id, project_ids[handoff.project], prepared, None)
        handoff_rows.append(row)
        yield export_line(_record("handoff", row, columns))
    columns = export_columns(LEARNINGS)
    position = 0
    for row, prepared in zip(handoff_rows, corpus.prepared, strict=True):
        count = len(prepared.learnings)
        for learning in _learnings(row, prepared, vectors[position : position + count], model):
            yield export_line(_record("learning", learning, columns))
        position += count
    counts = {"projects": len(slugs), "handoffs": len(handoff_rows), "learnings": position}
    yield export_line({"type": "end", "counts": counts})


def write_export(path: Path, lines: Iterator[str]) -> dict[str, Any]:
    started = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="ascii") as out:
        for line in lines:
            out.write(line)
    os.replace(tmp, path)
    return {"seconds": time.perf_counter() - started, "bytes": path.stat().st_size}


# --------------------------------------------------------------------------------------------
# The load
# --------------------------------------------------------------------------------------------


def cli_has_bulk() -> bool:
    """Whether this checkout's `memory-service import` has `--bulk` (issue 21, point 1)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "memory_service", "import", "--help"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return "--bulk" in help_text


_INDEX_NAME = re.compile(
    r"\b(?:CREATE|REINDEX)\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    r"\"?([A-Za-z_][A-Za-z0-9_]*)",
    re.IGNORECASE,
)


def index_name(statement: str) -> str | None:
    """The index a CREATE INDEX / REINDEX INDEX statement builds."""
    match = _INDEX_NAME.search(statement)
    return match.group(1) if match else None


class IndexBuildWatch:
    """Polls pg_stat_progress_create_index while an import runs: the seconds each index build
    was seen in progress and its phases. A non-concurrent CREATE INDEX shows index_relid 0,
    so the index is named from the statement its backend runs (pg_stat_activity)."""

    def __init__(self, uri: str, interval_s: float = 0.5) -> None:
        self.uri = uri
        self.interval_s = interval_s
        self.seen: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-watch", daemon=True)

    def __enter__(self) -> IndexBuildWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        from memory_service.db import libpq_url

        with psycopg.connect(libpq_url(self.uri), autocommit=True) as conn:
            while not self._stop.wait(self.interval_s):
                now = time.monotonic()
                rows = conn.execute(
                    "SELECT p.pid, p.relid::regclass::text, p.phase, a.query "
                    "FROM pg_stat_progress_create_index p "
                    "LEFT JOIN pg_stat_activity a ON a.pid = p.pid"
                ).fetchall()
                for pid, table, phase, query in rows:
                    name = index_name(query or "") or f"an index of {table} (backend {pid})"
                    entry = self.seen.setdefault(name, {"first": now, "phases": []})
                    entry["last"] = now
                    if phase not in entry["phases"]:
                        entry["phases"].append(phase)

    def report(self) -> dict[str, Any]:
        return {
            name: {"seconds_seen": e["last"] - e["first"], "phases": e["phases"]}
            for name, e in self.seen.items()
        }


# Runs a command and writes its exit code, CPU seconds and peak RSS as JSON to argv[1]. The
# import is started through this small process, not by the bench directly: Linux folds the
# exec'ing process's old high-water mark into its `ru_maxrss`, so a child started by a process
# that holds the corpus (GiBs at 1M) reports that process's peak as its own (the first 1M run's
# "11.6 GiB" import was the bench's). A grandchild forked from this small process is not.
_MEASURE = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "cpu_s": usage.ru_utime + usage.ru_stime,
               "maxrss_kib": usage.ru_maxrss}, out)
sys.exit(code)
"""


def measured_call(command: list[str], usage_file: Path, **popen: Any) -> dict[str, Any]:
    """Runs `command` to its end through _MEASURE: {"code", "cpu_s", "maxrss_kib"} of the
    command alone."""
    subprocess.call([sys.executable, "-c", _MEASURE, str(usage_file), *command], **popen)
    usage: dict[str, Any] = json.loads(usage_file.read_text())
    return usage


def run_import(path: Path, uri: str, *, team: str, bulk: bool, workdir: Path) -> dict[str, Any]:
    """`memory-service import` of the file into the running server's database, as a
    subprocess; its wall time, CPU seconds and peak RSS (its own, see _MEASURE)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env.update(
        MEMORY_DATABASE_URL=uri,
        MEMORY_DATA_DIR=str(workdir / "import-data"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    command = [sys.executable, "-m", "memory_service", "import", str(path), "--team", team]
    if bulk:
        command += ["--bulk", "--rebuild-indexes"]
    (workdir / "import-data").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with (workdir / "import.log").open("wb") as log:
        usage = measured_call(
            command,
            workdir / "import-usage.json",
            cwd=workdir / "import-data",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    seconds = time.perf_counter() - started
    output = (workdir / "import.log").read_text(errors="replace")
    if usage["code"] != 0:
        raise RuntimeError(f"memory-service import failed ({usage['code']}):\n{output[-2000:]}")
    return {
        "command": " ".join(["memory-service", *command[3:]]),
        "bulk": bulk,
        "seconds": seconds,
        "cli_cpu_s": usage["cpu_s"],
        "cli_peak_rss_mib": usage["maxrss_kib"] / 1024,
        "output": output.strip().splitlines()[-5:],
    }


def reindex_hnsw(uri: str) -> float:
    """Builds the HNSW index again (when the import maintained it row by row instead of
    building it): its build time at this size, with the memory a bulk build gets."""
    import psycopg

    from memory_service.db import libpq_url

    started = time.perf_counter()
    with psycopg.connect(libpq_url(uri), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("REINDEX INDEX ix_learnings_embedding_hnsw")
    return time.perf_counter() - started


def prepare_file(
    corpus: Corpus,
    total: int,
    *,
    workdir: Path,
    cache_dir: Path,
    encode: Callable[[Sequence[str]], npt.NDArray[np.float32]],
    model: str,
    team: str,
    budget_s: float,
    seed: int,
    log: Callable[[str], None],
) -> tuple[Path, BulkCorpus, dict[str, Any]]:
    """Corpus, embeddings and export file for `total` learnings; with what each step took."""
    report: dict[str, Any] = {}
    started = time.perf_counter()
    bulk = build_distinct(corpus, total, workers=os.cpu_count() or 1)
    report["corpus"] = {
        "seconds": time.perf_counter() - started,
        "handoffs": len(bulk.handoffs),
        "learnings": len(bulk.learnings),
        "repeats_left_out": bulk.repeats_left_out,
        "templates_recognised": sum(1 for x in bulk.learnings if x.group[2] >= 0)
        / max(1, len(bulk.learnings)),
    }
    log(f"bulk corpus: {report['corpus']}")
    vectors, is_real, embedding = all_vectors(
        bulk.texts,
        [x.group for x in bulk.learnings],
        EmbeddingCache(cache_dir, model),
        encode,
        budget_s=budget_s,
        seed=seed,
        progress=log,
    )
    report["embedding"] = embedding
    log(f"embeddings: {embedding['real']:,} real, {embedding['synthetic']['count']:,} synthetic")
    path = workdir / f"corpus-{total}.jsonl"
    report["export_file"] = write_export(path, export_lines(bulk, vectors, team=team, model=model))
    log(
        f"export file: {report['export_file']['bytes'] / 2**20:.0f} MiB in "
        f"{report['export_file']['seconds']:.0f} s"
    )
    report["real_share"] = float(is_real.mean()) if len(is_real) else 0.0
    return path, bulk, report
