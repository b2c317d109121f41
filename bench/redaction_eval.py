"""How well redaction catches secrets and leaves secret-looking data alone (issue 15).

Runs `redact()` over the labelled lines of tests/data/secrets_eval.json and prints
- recall: the share of planted secrets caught, overall, per split and per format. A secret
  counts as caught only if no fragment of 8 or more of its characters is left in the output
  (a token cut in half still leaks half of it);
- the false-positive rate: the share of non-secret lines (commit SHAs, UUIDs of public objects,
  base64 fixtures, digests, references such as `${GITHUB_TOKEN}`, prose about passwords) that
  redaction changed at all, per split and per category.

The `dev` split was used while writing the rules; `holdout` was only measured at the end.

Run: .venv/bin/python -m bench.redaction_eval [--split dev|holdout|all] [--show] [path]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_service.hygiene.redaction import redact

DEFAULT_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "secrets_eval.json"
FRAGMENT = 8


def leaked(secret: str, output: str) -> bool:
    """True when `output` still holds `secret` or any FRAGMENT-character piece of it."""
    if len(secret) <= FRAGMENT:
        return secret in output
    return any(secret[i : i + FRAGMENT] in output for i in range(len(secret) - FRAGMENT + 1))


@dataclass
class Tally:
    hits: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, item_id: str) -> None:
        self.total += 1
        self.hits += ok
        if not ok:
            self.misses.append(item_id)

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0


@dataclass
class Report:
    recall: Tally
    false_positives: Tally  # hits = non-secrets left unchanged
    by_format: dict[str, Tally]
    by_category: dict[str, Tally]

    @property
    def fp_rate(self) -> float:
        fp = self.false_positives
        return (fp.total - fp.hits) / fp.total if fp.total else 0.0


def evaluate(data: dict[str, Any], split: str = "all") -> Report:
    def wanted(item: dict[str, Any]) -> bool:
        return split == "all" or item["split"] == split

    recall, kept = Tally(), Tally()
    by_format: dict[str, Tally] = defaultdict(Tally)
    by_category: dict[str, Tally] = defaultdict(Tally)
    for item in filter(wanted, data["secrets"]):
        output, _ = redact(item["text"])
        ok = not leaked(item["secret"], output)
        recall.add(ok, item["id"])
        by_format[item["format"]].add(ok, item["id"])
    for item in filter(wanted, data["non_secrets"]):
        output, _ = redact(item["text"])
        ok = output == item["text"]
        kept.add(ok, item["id"])
        by_category[item["category"]].add(ok, item["id"])
    return Report(recall, kept, dict(by_format), dict(by_category))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--split", choices=("dev", "holdout", "all"), default="all")
    parser.add_argument("--show", action="store_true", help="print each miss and false positive")
    args = parser.parse_args(argv)
    data = json.loads(args.path.read_text())
    items = {item["id"]: item for item in data["secrets"] + data["non_secrets"]}

    splits = ("dev", "holdout", "all") if args.split == "all" else (args.split,)
    for split in splits:
        report = evaluate(data, split)
        fp = report.false_positives
        print(
            f"{split:8} recall {report.recall.rate:.3f} ({report.recall.hits}/"
            f"{report.recall.total} secrets, {len(report.by_format)} formats)   "
            f"false positives {report.fp_rate:.3f} ({fp.total - fp.hits}/{fp.total} non-secrets)"
        )
    report = evaluate(data, args.split)
    print(f"\nper format ({args.split}):")
    for name, tally in sorted(report.by_format.items()):
        flag = "" if tally.hits == tally.total else "   missed: " + ", ".join(tally.misses)
        print(f"  {name:28} {tally.hits}/{tally.total}{flag}")
    print(f"\nnon-secrets left unchanged, per category ({args.split}):")
    for name, tally in sorted(report.by_category.items()):
        flag = "" if tally.hits == tally.total else "   changed: " + ", ".join(tally.misses)
        print(f"  {name:28} {tally.hits}/{tally.total}{flag}")
    if args.show:
        for item_id in report.recall.misses + report.false_positives.misses:
            item = items[item_id]
            print(f"\n{item_id} [{item.get('format') or item.get('category')}]")
            print("  in : " + item["text"].replace("\n", "\n       "))
            print("  out: " + redact(item["text"])[0].replace("\n", "\n       "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
