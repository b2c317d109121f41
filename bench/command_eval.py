"""Command-time warnings (`POST /v1/check`) measured: false alarms on everyday commands and hits
on commands written to match the dev set's mistakes (tests/data/commands_eval.json), against a
fresh in-process service holding tests/data/dev_eval.json's handoffs.

- false alarms: everyday commands that got any warning (checked across every project of the
  team, the harshest case, and in each dev-set project);
- hits: matching commands whose warnings hold one of their `relevant` learnings (checked in the
  command's project, and across every project); wrong abstentions: matching commands answered
  with `abstained: true`.
- `--sweep`: the same, offline, for other score floors (the candidates of each command from
  `/v1/search`, filtered by recall/command.py's rule with each floor): how CHECK_MIN_SCORE in
  recall/ranking.py was chosen.

Run: .venv/bin/python -m bench.command_eval [--sweep] [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from memory_service import evaluation
from memory_service.recall import command
from memory_service.recall.ranking import CHECK_CANDIDATES, CHECK_MIN_SCORE
from memory_service.recall.shell import analyze

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ROOT / "tests" / "data" / "commands_eval.json"
DEV = ROOT / "tests" / "data" / "dev_eval.json"
FLOORS = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


def _hit(results: list[dict[str, Any]], relevant: list[str]) -> bool:
    return any(r in item["text"] for item in results for r in relevant)


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], cmd: str, project: str | None
) -> tuple[dict[str, Any], float]:
    body: dict[str, Any] = {"command": cmd, "k": 3}
    if project is not None:
        body["project"] = project
    started = time.perf_counter()
    response = await client.post("/v1/check", json=body, headers=headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data, elapsed


async def _candidates(
    client: httpx.AsyncClient, headers: dict[str, str], cmd: str, project: str | None
) -> list[dict[str, Any]]:
    terms = analyze(cmd)
    if terms.empty:
        return []
    body: dict[str, Any] = {
        "query": terms.query(),
        "k": CHECK_CANDIDATES,
        "kinds": list(command.WARNING_KINDS),
    }
    if project is not None:
        body["project"] = project
    response = await client.post("/v1/search", json=body, headers=headers)
    response.raise_for_status()
    results: list[dict[str, Any]] = response.json()["results"]
    for r in results:
        r["matched"] = command.matched_terms(r["text"], terms)
    return results


def _warn(candidates: list[dict[str, Any]], floor: float) -> list[dict[str, Any]]:
    return [c for c in candidates if c["matched"] and not c["flagged"] and c["score"] >= floor]


async def run(sweep: bool, show: bool, data: dict[str, Any]) -> dict[str, Any]:
    dataset = evaluation.load_dataset(DEV)
    projects = sorted({h.project for h in dataset.handoffs})
    everyday: list[str] = data.get("everyday", [])
    matching: list[dict[str, Any]] = data.get("matching", [])
    report: dict[str, Any] = {}
    async with evaluation.fresh_service() as (client, key):
        headers = {"Authorization": f"Bearer {key}"}
        await evaluation.wait_ready(client)
        await evaluation._load_handoffs(client, headers, dataset, lambda _: None)
        latencies: list[float] = []
        alarms: list[tuple[str, str, str]] = []
        for cmd in everyday:
            for project in (None, *projects):
                result, elapsed = await _check(client, headers, cmd, project)
                latencies.append(elapsed)
                if result["results"]:
                    first = result["results"][0]["text"][:90]
                    alarms.append((cmd, project or "(all)", first))
        hits_own = hits_all = abstained = 0
        misses: list[str] = []
        for item in matching:
            own, elapsed = await _check(client, headers, item["command"], item["project"])
            latencies.append(elapsed)
            every, _ = await _check(client, headers, item["command"], None)
            hits_own += _hit(own["results"], item["relevant"])
            hits_all += _hit(every["results"], item["relevant"])
            abstained += bool(own["abstained"])
            if not _hit(own["results"], item["relevant"]):
                misses.append(f"{item['command'][:70]} -> terms {own['terms']}")
            if show:
                print(item["command"][:80], "->", [r["text"][:60] for r in own["results"]])
        report = {
            "floor": CHECK_MIN_SCORE,
            "everyday_commands": len(everyday),
            "everyday_checks": len(everyday) * (1 + len(projects)),
            "false_alarms": len(alarms),
            "false_alarm_examples": alarms[:10],
            "matching_commands": len(matching),
            "hit_rate_own_project": round(hits_own / max(1, len(matching)), 3),
            "hit_rate_all_projects": round(hits_all / max(1, len(matching)), 3),
            "wrong_abstentions": round(abstained / max(1, len(matching)), 3),
            "misses": misses,
            "in_process_ms_p50": round(statistics.median(latencies) * 1000, 1),
        }
        if sweep:
            report["sweep"] = await _sweep(client, headers, everyday, matching, projects)
    return report


async def _sweep(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    everyday: list[str],
    matching: list[dict[str, Any]],
    projects: list[str],
) -> list[dict[str, Any]]:
    every = [
        await _candidates(client, headers, cmd, project)
        for cmd in everyday
        for project in (None, *projects)
    ]
    own = [await _candidates(client, headers, m["command"], m["project"]) for m in matching]
    rows = []
    for floor in FLOORS:
        alarms = sum(bool(_warn(c, floor)) for c in every)
        hits = sum(
            _hit(_warn(c, floor)[:3], m["relevant"]) for c, m in zip(own, matching, strict=True)
        )
        rows.append({"floor": floor, "false_alarms": alarms, "hits": hits})
    best_alarm = max(
        ((c["score"], c["text"][:70]) for cs in every for c in cs if c["matched"]), default=None
    )
    lowest_hit = min(
        (
            (c["score"], m["command"][:50])
            for m, cs in zip(matching, own, strict=True)
            for c in cs
            if c["matched"] and any(r in c["text"] for r in m["relevant"])
        ),
        default=None,
    )
    rows.append({"highest_everyday_literal_match": best_alarm, "lowest_hit_score": lowest_hit})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", action="store_true", help="also try other score floors")
    parser.add_argument("--show", action="store_true", help="print each matching command")
    parser.add_argument(
        "--commands",
        type=Path,
        default=COMMANDS,
        help="another file of the same format (e.g. a held-out set of everyday commands)",
    )
    args = parser.parse_args()
    # Some 2,000 requests in a minute or two: the per-key limit of the in-process service off.
    os.environ["MEMORY_RATE_LIMIT_PER_MINUTE"] = "0"
    report = asyncio.run(run(args.sweep, args.show, json.loads(args.commands.read_text())))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
