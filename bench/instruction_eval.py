"""How well the instruction checks catch instruction-like text and leave engineering notes alone
(issue 15).

Runs `instruction_flags()` over the labelled bullets of tests/data/instruction_eval.jsonl and
prints, per split (`dev` was used while writing the rules, `holdout` was written afterwards and
measured once), overall and per category and per form (plain, other languages, zero-width,
homoglyph, fullwidth, bidi, spaced, encoded):
- the detection rate: the share of instruction-like bullets flagged;
- the false-positive rate: the share of benign engineering bullets flagged.

Run: .venv/bin/python -m bench.instruction_eval [--split dev|holdout|holdout2|all] [--show] [path]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_service.hygiene.poison import instruction_flags

DEFAULT_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "instruction_eval.jsonl"
INSTRUCTION, BENIGN = "instruction", "benign"


@dataclass
class Tally:
    flagged: int = 0
    total: int = 0
    wrong: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.flagged / self.total if self.total else 0.0


@dataclass
class Report:
    detection: Tally = field(default_factory=Tally)
    false_positives: Tally = field(default_factory=Tally)
    by_category: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_form: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))


def load(path: Path = DEFAULT_SET) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(items: list[dict[str, Any]]) -> Report:
    report = Report()
    for item in items:
        reasons = instruction_flags(item["text"])
        is_instruction = item["label"] == INSTRUCTION
        tally = report.detection if is_instruction else report.false_positives
        for t in (
            tally,
            report.by_category[(item["label"], item["category"])],
            report.by_form[(item["label"], item["form"])],
        ):
            t.total += 1
            t.flagged += bool(reasons)
        if bool(reasons) != is_instruction:
            tally.wrong.append({**item, "reasons": reasons})
    return report


def _line(name: str, t: Tally) -> str:
    return f"  {name:<34} {t.flagged:>4}/{t.total:<4} {t.rate:6.3f}"


def render(split: str, report: Report, show: bool) -> str:
    out = [
        f"== {split} ==",
        _line("detection (instruction-like)", report.detection),
        _line("false positives (benign)", report.false_positives),
        " per category:",
    ]
    for (label, category), t in sorted(report.by_category.items()):
        out.append(_line(f"{label[:5]} {category}", t))
    out.append(" per form:")
    for (label, form), t in sorted(report.by_form.items()):
        out.append(_line(f"{label[:5]} {form}", t))
    if show:
        for item in report.detection.wrong:
            out.append(f"  MISSED {item['id']} [{item['category']}]: {item['text']!r}")
        for item in report.false_positives.wrong:
            out.append(
                f"  FALSE+ {item['id']} [{item['category']}]: {item['text']!r} {item['reasons']}"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--split", default="all", help="dev, holdout, holdout2 or all")
    parser.add_argument("--show", action="store_true", help="list every miss and false positive")
    args = parser.parse_args(argv)
    items = load(args.path)
    names = list(dict.fromkeys(i["split"] for i in items))
    splits = [*names, "all"] if args.split == "all" else [args.split]
    for split in splits:
        chosen = [i for i in items if split == "all" or i["split"] == split]
        if chosen:
            print(render(split, evaluate(chosen), args.show))
    return 0


if __name__ == "__main__":
    sys.exit(main())
