"""The start-up brief's evaluation: does a brief asked without a task, from what the checkout
says (branch, latest commit subjects, changed paths, the delivered handoffs' next steps), show
the learnings a developer continuing that work needs, and does it say "nothing relevant" when
nothing stored is about it?

A brief set (`tests/data/dev_brief_eval.json`) names a retrieval set whose handoffs it uses
(`handoffs_from`, docs/evaluation-format.md) and lists cases:

    {"id", "project", "worktree", "branch", "commits": [...], "changed_paths": [...],
     "delivered": [handoff ids, optional], "relevant": [substrings; [] = off-topic], "note"}

Each case is asked twice, through the real `POST /v1/brief`: without git context (project and
worktree only: today's brief) and with it (branch, commits, changed paths). A case's
`delivered` handoffs are sent again to the brief's worktree just before, so the brief delivers
them (and reads their next steps), and deleted right after, so no case sees another's copies.
Scores are those of the retrieval evaluator (recall@5, MRR@10 of the brief's learnings, in
order); off-topic cases count how often the brief still claimed something relevant."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory_service.evaluation import (
    TOP_PREVIEWS,
    Dataset,
    DatasetError,
    EvalError,
    QueryScore,
    _describe,
    _load_handoffs,
    _preview,
    fresh_service,
    handoff_request,
    latency_summary,
    load_dataset,
    mean_metrics,
    score_query,
    wait_ready,
)

VARIANTS: tuple[str, ...] = ("without_git", "with_git")
DEFAULT_BUDGET = 800


class BriefCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    project: str = Field(min_length=1)
    worktree: str = Field(min_length=1, max_length=120)
    branch: str | None = None
    commits: list[str] = Field(default_factory=list)
    changed_paths: list[str] = Field(default_factory=list)
    delivered: list[str] = Field(default_factory=list)
    relevant: list[str] = Field(default_factory=list)
    note: str | None = None

    @property
    def off_topic(self) -> bool:
        return not self.relevant


class BriefSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1, le=1)
    handoffs_from: str = Field(min_length=1)
    cases: list[BriefCase] = Field(min_length=1)


def load_brief_set(path: str | Path) -> tuple[BriefSet, Dataset]:
    """The brief set and the retrieval set whose handoffs it uses (relative to it)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        briefs = BriefSet.model_validate(data)
    except FileNotFoundError:
        raise DatasetError(f"brief set not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read brief set {path}: {exc}") from None
    except ValidationError as exc:
        raise DatasetError(f"{path} is not a valid brief set:\n{exc}") from None
    dataset = load_dataset(path.parent / briefs.handoffs_from)
    known = {h.id for h in dataset.handoffs}
    unknown = sorted({h for c in briefs.cases for h in c.delivered} - known)
    if unknown:
        raise DatasetError(f"{path}: delivered handoffs not in {briefs.handoffs_from}: {unknown}")
    ids = [c.id for c in briefs.cases]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{path}: duplicate case ids")
    return briefs, dataset


def brief_request(case: BriefCase, variant: str, worktree: str, budget: int) -> dict[str, Any]:
    body: dict[str, Any] = {"project": case.project, "worktree": worktree, "token_budget": budget}
    if variant == "with_git":
        if case.branch:
            body["branch"] = case.branch
        context = {"commits": case.commits, "changed_paths": case.changed_paths}
        body["context"] = {k: v for k, v in context.items() if v}
    return body


async def _ask(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    case: BriefCase,
    variant: str,
    dataset: Dataset,
    budget: int,
) -> tuple[dict[str, Any], float]:
    worktree = f"{case.worktree}-{case.id}-{variant}".replace("_", "-")
    copies: list[str] = []
    try:
        for handoff in (h for h in dataset.handoffs if h.id in case.delivered):
            body = {**handoff_request(handoff), "recipient": worktree}
            response = await client.post("/v1/handoffs", json=body, headers=headers)
            if response.status_code not in (200, 201):
                raise EvalError(f"delivering {handoff.id} for {case.id}: {_describe(response)}")
            copies.append(response.json()["id"])
        started = time.perf_counter()
        response = await client.post(
            "/v1/brief", json=brief_request(case, variant, worktree, budget), headers=headers
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise EvalError(f"POST /v1/brief for {case.id} ({variant}): {_describe(response)}")
        result: dict[str, Any] = response.json()
        return result, elapsed
    finally:
        for handoff_id in copies:
            await client.delete(f"/v1/handoffs/{handoff_id}", headers=headers)


async def evaluate_briefs(
    briefs: BriefSet,
    dataset: Dataset,
    client: httpx.AsyncClient,
    api_key: str,
    *,
    budget: int = DEFAULT_BUDGET,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Loads the handoffs through `client`, asks every case's brief in both variants."""
    say = progress or (lambda _: None)
    headers = {"Authorization": f"Bearer {api_key}"}
    await wait_ready(client)
    await _load_handoffs(client, headers, dataset, say)
    report: dict[str, Any] = {"budget": budget, "variants": {}, "cases": []}
    scores: dict[str, dict[str, QueryScore]] = {v: {} for v in VARIANTS}
    answers: dict[str, dict[str, dict[str, Any]]] = {v: {} for v in VARIANTS}
    latencies: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for case in briefs.cases:
        say(f"brief {case.id}")
        row: dict[str, Any] = {"id": case.id, "off_topic": case.off_topic}
        for variant in VARIANTS:
            brief, elapsed = await _ask(client, headers, case, variant, dataset, budget)
            latencies[variant].append(elapsed)
            texts = [str(r["text"]) for r in brief["learnings"]]
            answers[variant][case.id] = brief
            entry: dict[str, Any] = {
                "basis": brief.get("basis"),
                "abstained": brief.get("abstained"),
                "learnings": len(texts),
                "top": [
                    {
                        "score": r.get("score"),
                        "kind": r.get("kind"),
                        "relevant": any(x in r["text"] for x in case.relevant),
                        "text": _preview(str(r["text"])),
                    }
                    for r in brief["learnings"][:TOP_PREVIEWS]
                ],
            }
            if not case.off_topic:
                score = score_query(texts, case.relevant)
                scores[variant][case.id] = score
                entry.update(score.metrics())
                entry["missing"] = score.missing
            row[variant] = entry
        report["cases"].append(row)
    on_topic = [c for c in briefs.cases if not c.off_topic]
    off_topic = [c for c in briefs.cases if c.off_topic]
    for variant in VARIANTS:
        picked = answers[variant]
        report["variants"][variant] = {
            **mean_metrics([scores[variant][c.id] for c in on_topic]),
            "basis": {
                b: sum(picked[c.id].get("basis") == b for c in briefs.cases)
                for b in ("task", "checkout", "project")
            },
            # A relevant checkout the brief gave up on: it fell back to the project's list.
            "wrong_abstentions": sum(bool(picked[c.id].get("abstained")) for c in on_topic),
            # An off-topic checkout the brief still claimed learnings for.
            "noise": sum(picked[c.id].get("basis") == "checkout" for c in off_topic),
            "on_topic": len(on_topic),
            "off_topic": len(off_topic),
            "latency": latency_summary(latencies[variant]),
        }
    return report


def format_brief_report(report: dict[str, Any]) -> str:
    lines = [
        f"start-up brief, learnings of the brief (token budget {report['budget']})",
        f"{'variant':<12} {'R@5':>6} {'MRR@10':>7}  {'n':>3}  wrong abstentions  noise (off-topic)",
    ]
    for variant, m in report["variants"].items():
        lines.append(
            f"{variant:<12} {m['recall@5']:6.3f} {m['mrr@10']:7.3f}  {m['n']:>3}  "
            f"{m['wrong_abstentions']:>3} / {m['on_topic']:<11}  {m['noise']:>3} / {m['off_topic']}"
        )
    for variant, m in report["variants"].items():
        lat = m["latency"]
        lines.append(
            f"latency {variant:<12} p50 {lat['p50_ms']:6.1f} ms  p95 {lat['p95_ms']:6.1f} ms "
            "(POST /v1/brief, in-process, client-side)"
        )
    lines.append("")
    for row in report["cases"]:
        cells = []
        for variant in VARIANTS:
            e = row[variant]
            score = "" if row["off_topic"] else f" R@5 {e['recall@5']:.2f} RR {e['mrr@10']:.2f}"
            cells.append(
                f"{variant}: {e['basis']}{' (abstained)' if e['abstained'] else ''}{score}"
            )
        lines.append(
            f"{row['id']}{' (off-topic)' if row['off_topic'] else ''}: " + "; ".join(cells)
        )
    return "\n".join(lines)


async def run_brief_eval(
    path: str | Path,
    *,
    budget: int = DEFAULT_BUDGET,
    client: httpx.AsyncClient | None = None,
    api_key: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """On `client` (with `api_key`; its team should hold nothing else), else on a fresh
    in-process service on a temporary embedded PostgreSQL."""
    briefs, dataset = load_brief_set(path)
    if client is not None:
        if not api_key:
            raise EvalError("an API key is needed with a client")
        return await evaluate_briefs(
            briefs, dataset, client, api_key, budget=budget, progress=progress
        )
    async with fresh_service() as (local, key):
        return await evaluate_briefs(briefs, dataset, local, key, budget=budget, progress=progress)


def run_cli(args: argparse.Namespace) -> int:
    """`memory-service eval-brief`: 0 on success, 2 for a bad set, 1 when it could not run."""
    try:
        load_brief_set(args.dataset)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(
            run_brief_eval(
                args.dataset,
                budget=args.budget,
                progress=lambda m: print(m, file=sys.stderr, flush=True),
            )
        )
    except EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_brief_report(report), flush=True)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0
