"""Prompt-time recall (`POST /v1/recall`, issue 17): does it stay silent when it should and
speak when it should?

Loads the development set (tests/data/dev_eval.json) into a fresh in-process service (a
temporary embedded PostgreSQL, the real model; `memory_service.evaluation.fresh_service`) and
sends through `/v1/recall` (k=3, each prompt in a session of its own):

- the prompts of tests/data/prompts_eval.json that must get nothing (small talk, meta requests,
  off-topic asks, work on technologies the dev set never mentions): the **noise rate** is the
  share that got anything, per category;
- its work prompts, typed as a person types them in Claude Code, each about a dev-set
  learning: the **wrong-abstention rate** (nothing returned), the **hit rate** (a relevant
  learning among those returned) and the **precision** (returned learnings that are relevant);
- the dev set's own questions (every type): wrong abstentions and hit rate, per type.

`--sweep` re-runs all of it for a grid of floors (query gate x min cosine x relative floor) by
swapping `memory_service.recall.prompt.PROMPT_RANKING` in this process, which is how the
numbers in recall/ranking.py were chosen; `--show` lists every miss and every noisy answer.

Run: .venv/bin/python -m bench.prompt_eval [--sweep] [--show] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from memory_service import evaluation
from memory_service.recall import prompt

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "tests" / "data" / "prompts_eval.json"
DEV_SET = ROOT / "tests" / "data" / "dev_eval.json"
K = 3

GATES = (0.35, 0.40, 0.42, 0.45, 0.50)
MIN_SIMS = (0.35,)
RELATIVE = (0.7, 0.8, 0.9)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    text: str
    project: str | None
    expect: str  # "nothing" | "learning"
    category: str
    relevant: tuple[str, ...]


def load_cases(prompts: Path, dev_set: Path) -> list[Case]:
    cases = [
        Case(
            p["id"],
            p["text"],
            p.get("project"),
            p["expect"],
            p["category"],
            tuple(p.get("relevant") or ()),
        )
        for p in json.loads(prompts.read_text(encoding="utf-8"))["prompts"]
    ]
    dataset = evaluation.load_dataset(dev_set)
    cases += [
        Case(q.id, q.query, q.project, "learning", f"dev:{q.type}", tuple(q.relevant))
        for q in dataset.queries
    ]
    return cases


async def run_cases(
    client: httpx.AsyncClient, key: str, cases: list[Case]
) -> list[tuple[Case, dict[str, Any]]]:
    headers = {"Authorization": f"Bearer {key}"}
    answers = []
    for case in cases:
        body: dict[str, Any] = {"text": case.text, "k": K, "session_id": str(uuid.uuid4())}
        if case.project:
            body["project"] = case.project
        response = await client.post("/v1/recall", json=body, headers=headers)
        response.raise_for_status()
        answers.append((case, response.json()))
    return answers


def summarise(answers: list[tuple[Case, dict[str, Any]]]) -> dict[str, Any]:
    groups: dict[str, dict[str, float]] = defaultdict(
        lambda: {"n": 0, "answered": 0, "hits": 0, "returned": 0, "relevant": 0}
    )
    misses, noise = [], []
    for case, answer in answers:
        texts = [r["text"] for r in answer["results"]]
        relevant = sum(any(s in t for s in case.relevant) for t in texts)
        for name in (case.category, "all " + case.expect):
            g = groups[name]
            g["n"] += 1
            g["answered"] += bool(texts)
            g["hits"] += relevant > 0
            g["returned"] += len(texts)
            g["relevant"] += relevant
        if case.expect == "nothing" and texts:
            noise.append({"id": case.id, "text": case.text, "got": texts})
        if case.expect == "learning" and not relevant:
            misses.append(
                {"id": case.id, "text": case.text, "reason": answer["reason"], "got": texts}
            )
    table = {}
    for name, g in sorted(groups.items()):
        n = g["n"]
        if name.endswith("nothing") or name in {"small_talk", "meta", "off_topic", "unknown_tech"}:
            table[name] = {"n": n, "noise_rate": round(g["answered"] / n, 3)}
        else:
            table[name] = {
                "n": n,
                "wrong_abstention_rate": round(1 - g["answered"] / n, 3),
                "hit_rate": round(g["hits"] / n, 3),
                "precision": round(g["relevant"] / g["returned"], 3) if g["returned"] else None,
            }
    return {"table": table, "misses": misses, "noise": noise}


def _cell(row: dict[str, Any], key: str, width: int) -> str:
    value = row.get(key)
    return f"{value:>{width}.3f}" if isinstance(value, float) else f"{'':>{width}}"


def format_table(table: dict[str, Any]) -> str:
    lines = [f"{'group':<22} {'n':>3}  {'noise':>6}  {'abstain':>7}  {'hit':>5}  {'prec':>5}"]
    for name, row in table.items():
        lines.append(
            f"{name:<22} {row['n']:>3}  {_cell(row, 'noise_rate', 6)}  "
            f"{_cell(row, 'wrong_abstention_rate', 7)}  {_cell(row, 'hit_rate', 5)}  "
            f"{_cell(row, 'precision', 5)}"
        )
    return "\n".join(lines)


async def load_dev_set(client: httpx.AsyncClient, key: str, dev_set: Path) -> None:
    dataset = evaluation.load_dataset(dev_set)
    headers = {"Authorization": f"Bearer {key}"}
    for handoff in dataset.handoffs:
        response = await client.post(
            "/v1/handoffs", json=evaluation.handoff_request(handoff), headers=headers
        )
        response.raise_for_status()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    cases = load_cases(Path(args.prompts), Path(args.dev_set))
    async with evaluation.fresh_service() as (client, key):
        await evaluation.wait_ready(client)
        await load_dev_set(client, key, Path(args.dev_set))
        current = prompt.PROMPT_RANKING
        report: dict[str, Any] = {
            "ranking": {
                "query_gate": current.query_gate,
                "min_similarity": current.min_similarity,
                "relative_floor": current.relative_floor,
                "min_coverage": current.min_coverage,
            },
            **summarise(await run_cases(client, key, cases)),
        }
        if args.sweep:
            sweep = []
            for gate in GATES:
                for min_sim in MIN_SIMS:
                    for rel in RELATIVE:
                        prompt.PROMPT_RANKING = dataclasses.replace(
                            current, query_gate=gate, min_similarity=min_sim, relative_floor=rel
                        )
                        table = summarise(await run_cases(client, key, cases))["table"]
                        sweep.append(
                            {
                                "query_gate": gate,
                                "min_similarity": min_sim,
                                "relative_floor": rel,
                                "noise": table["all nothing"]["noise_rate"],
                                "work_hit": table["work"]["hit_rate"],
                                "work_abstain": table["work"]["wrong_abstention_rate"],
                                "work_precision": table["work"]["precision"],
                                "dev_hit": _dev_hit(table),
                            }
                        )
                        print(json.dumps(sweep[-1]), file=sys.stderr)
            prompt.PROMPT_RANKING = current
            report["sweep"] = sweep
    return report


def _dev_hit(table: dict[str, Any]) -> float:
    dev = [(row["n"], row["hit_rate"]) for name, row in table.items() if name.startswith("dev:")]
    return round(sum(n * h for n, h in dev) / sum(n for n, _ in dev), 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", default=str(PROMPTS))
    parser.add_argument("--dev-set", default=str(DEV_SET))
    parser.add_argument("--sweep", action="store_true", help="try a grid of floors")
    parser.add_argument("--show", action="store_true", help="list misses and noisy answers")
    parser.add_argument("--json", metavar="OUT", help="write the full report here")
    args = parser.parse_args()
    # Hundreds of requests a minute from one key: the in-process service must not throttle.
    os.environ["MEMORY_RATE_LIMIT_PER_MINUTE"] = "0"
    report = asyncio.run(main_async(args))
    print(f"ranking: {report['ranking']}")
    print(format_table(report["table"]))
    if args.show:
        for item in report["noise"]:
            print(f"NOISE {item['id']}: {item['text']!r} -> {[t[:70] for t in item['got']]}")
        for item in report["misses"]:
            print(
                f"MISS  {item['id']}: {item['text']!r} ({item['reason']}) -> "
                f"{[t[:70] for t in item['got']]}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
