"""How the near-duplicate threshold was chosen (memory_service/learnings/duplicates.py).

Embeds every learning of a dataset the way the service does, then prints
- the highest cosine similarity between two *different* learnings of the same kind (pairs the
  threshold must keep apart: merging them would hide knowledge), and
- the lowest similarity between a learning and a trivially re-worded copy of it (pairs that
  should merge: the same knowledge sent again).

Run: .venv/bin/python bench/dedup_threshold.py [tests/data/dev_eval.json]
"""

from __future__ import annotations

import json
import re
import sys
from itertools import combinations
from pathlib import Path

import numpy as np

from memory_service.embeddings import Embedder
from memory_service.handoffs.parsing import parse_handoff
from memory_service.hygiene.redaction import redact
from memory_service.hygiene.sanitize import sanitize_text
from memory_service.learnings.embedding_text import embedding_text


def rewordings(text: str) -> list[str]:
    """Edits a second session makes when it repeats a point: case, punctuation, contractions,
    a trailing clause dropped."""
    variants = [
        text.lower(),
        re.sub(r"[;:,.!]", " ", text),
        text.replace("Don't", "Do not").replace("don't", "do not"),
        text.rstrip(".") + "!",
        re.split(r"[;:]", text)[0] if re.search(r"[;:]", text) else text + " (again)",
    ]
    return [v for v in variants if v != text]


def main(path: str) -> None:
    data = json.loads(Path(path).read_text())
    items: list[tuple[str, str, str]] = []
    for handoff in data["handoffs"]:
        body, _ = redact(sanitize_text(handoff["body"]))
        parsed = parse_handoff(body)
        items += [(p.kind, p.text, p.section) for p in parsed.learnings]
    embedder = Embedder().load()
    vectors = embedder.encode([embedding_text(k, t, section=s) for k, t, s in items])
    distinct = sorted(
        (
            (float(vectors[i] @ vectors[j]), i, j)
            for i, j in combinations(range(len(items)), 2)
            if items[i][0] == items[j][0] and items[i][1] != items[j][1]
        ),
        reverse=True,
    )
    print(f"{len(items)} learnings; most similar distinct pairs of one kind:")
    for sim, i, j in distinct[:5]:
        print(f"  {sim:.3f}  {items[i][1][:70]!r}\n         {items[j][1][:70]!r}")
    repeats = []
    for kind, text, section in items:
        base = embedder.encode([embedding_text(kind, text, section=section)])[0]
        again = embedder.encode(
            [embedding_text(kind, v, section=section) for v in rewordings(text)]
        )
        repeats += [float(base @ v) for v in again]
        # The same bullet sent again under another heading of the same kind.
        moved = embedder.encode([embedding_text(kind, text, section="Notes from last session")])
        repeats.append(float(base @ moved[0]))
    repeats_arr = np.array(repeats)
    print(
        f"re-worded copies: min {repeats_arr.min():.3f}, p05 {np.percentile(repeats_arr, 5):.3f}, "
        f"median {np.median(repeats_arr):.3f}"
    )
    for threshold in (0.85, 0.90, 0.93, 0.95):
        merged = (repeats_arr >= threshold).mean()
        false = sum(1 for sim, _, _ in distinct if sim >= threshold)
        print(f"threshold {threshold:.2f}: merges {merged:.0%} of copies, {false} distinct pairs")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/dev_eval.json")
