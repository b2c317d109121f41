"""How the supersession thresholds were chosen (memory_service/learnings/supersession.py).

Replays every timeline of a timeline set (tests/data/dev_timelines.json) the way the write
path decides, without a database: each later learning of a rule kind against its nearest
earlier learning of the same project and kind, each correction-section bullet against its
nearest earlier learning of any kind, each status bullet against the nearest earlier open
next step. Prints each candidate's cosine with whether the set says it is a replacement, then
precision and recall of the rule's confident band for a sweep of thresholds.

Run: .venv/bin/python bench/supersession_threshold.py [tests/data/dev_timelines.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from memory_service.embeddings import Embedder
from memory_service.handoffs.parsing import parse_handoff
from memory_service.learnings.embedding_text import embedding_text
from memory_service.learnings.supersession import RULE_KINDS, is_correction, says_change


def main(path: str) -> None:
    data = json.loads(Path(path).read_text())
    embedder = Embedder().load()
    rule: list[tuple[float, bool, str]] = []
    section: list[tuple[float, bool, str]] = []
    done: list[tuple[float, bool, str]] = []
    for timeline in data["timelines"]:
        items: list[tuple[int, str, str, str]] = []  # (handoff, kind, text, section)
        for n, h in enumerate(timeline["handoffs"]):
            items += [(n, x.kind, x.text, x.section) for x in parse_handoff(h["body"]).learnings]
        vectors = embedder.encode([embedding_text(k, t, section=s) for _, k, t, s in items])
        pairs = {(p["old"], p["new"]) for p in timeline["supersedes"]}
        steps = set(timeline["done"])

        def expected(old: str, new: str, pairs: set[tuple[str, str]] = pairs) -> bool:
            return any(o in old and n in new for o, n in pairs)

        for i, (h, kind, text, sec) in enumerate(items):
            earlier = [j for j, x in enumerate(items) if x[0] < h]
            if is_correction(sec):
                pool, out = earlier, section
            elif kind in RULE_KINDS:
                pool, out = [j for j in earlier if items[j][1] == kind], rule
            elif kind == "status":
                pool, out = [j for j in earlier if items[j][1] == "next_step"], done
            else:
                continue
            if not pool:
                continue
            sims = vectors[pool] @ vectors[i]
            best = pool[int(np.argmax(sims))]
            old = items[best][2]
            truth = any(s in old for s in steps) if out is done else expected(old, text)
            cue = "cue" if says_change(text) else "   "
            out.append((float(np.max(sims)), truth, f"{cue} {old[:50]!r} -> {text[:50]!r}"))
    for name, rows in (("rule", rule), ("section", section), ("done", done)):
        print(f"\n## {name}: {sum(t for _, t, _ in rows)} true of {len(rows)} candidates")
        for sim, truth, label in sorted(rows, reverse=True):
            print(f"  {sim:.3f} {'YES' if truth else ' no'}  {label}")
    positives = sum(t for _, t, _ in rule)
    print(
        "\nthreshold | similarity alone: n precision recall | with a change cue: n precision recall"
    )
    for threshold in np.arange(0.50, 0.93, 0.02):
        cells = []
        for cued_only in (False, True):
            hit = [
                t
                for s, t, label in rule
                if s >= threshold and (not cued_only or label.startswith("cue"))
            ]
            precision = sum(hit) / len(hit) if hit else 1.0
            cells.append(f"{len(hit):3d} {precision:.2f} {sum(hit) / max(positives, 1):.2f}")
        print(f"  {threshold:.2f} | {cells[0]} | {cells[1]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/dev_timelines.json")
