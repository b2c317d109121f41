"""The supersession evaluation: does later knowledge replace earlier knowledge, and only the
knowledge it replaces?

A timeline set (`tests/data/dev_timelines.json`, format in docs/evaluation-format.md) lists
timelines, each the handoffs of one project in the order they were written, with what must
come of them:

    {"name", "project", "handoffs": [{"created", "body"}],
     "supersedes": [{"old", "new", "how": "section" | "rule"}],
     "done": [next steps later completed], "untouched": [learnings nothing may replace]}

Learnings are named by a substring of their text (exactly one learning of the timeline must
hold it). Every handoff goes through the real `POST /v1/handoffs` of a fresh in-process
service (learnings/supersession.py decides as it would for any writer), then each learning is
read back (`GET /v1/learnings/{id}`) and each expected pair searched (`POST /v1/search`,
hybrid, the old learning's text as the query, in its project). Reported: precision and recall
of the rule and of the correction sections, the unsure links (`newer_id`), untouched learnings
touched, next-step completion precision and recall, and how often a replaced learning still
ranks above its successor."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory_service.evaluation import EvalError, _describe, fresh_service, wait_ready

SEARCH_K = 10


class TimelineHandoff(BaseModel):
    model_config = ConfigDict(extra="forbid")
    created: str
    body: str = Field(min_length=1)


class Replacement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old: str = Field(min_length=1)
    new: str = Field(min_length=1)
    how: str = Field(pattern="^(section|rule)$")


class Timeline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    project: str
    handoffs: list[TimelineHandoff] = Field(min_length=1)
    supersedes: list[Replacement] = Field(default_factory=list)
    done: list[str] = Field(default_factory=list)
    untouched: list[str] = Field(default_factory=list)


class TimelineSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    description: str = ""
    timelines: list[Timeline] = Field(min_length=1)


def load_timelines(path: str | Path) -> TimelineSet:
    try:
        return TimelineSet.model_validate(json.loads(Path(path).read_text()))
    except (OSError, ValueError, ValidationError) as exc:
        raise EvalError(f"{path}: not a timeline set ({exc})") from exc


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def _find(learnings: list[dict[str, Any]], needle: str, timeline: str) -> dict[str, Any]:
    found = [x for x in learnings if needle in x["text"]]
    if len(found) != 1:
        raise EvalError(f"{timeline}: {needle!r} names {len(found)} learnings, not one")
    return found[0]


async def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise EvalError(_describe(response))
    return response.json()


async def evaluate(client: httpx.AsyncClient, key: str, data: TimelineSet) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    counts: Counter[str] = Counter()
    errors: list[str] = []
    for timeline in data.timelines:
        learnings: list[dict[str, Any]] = []
        for h in timeline.handoffs:
            created = await _check(
                await client.post(
                    "/v1/handoffs",
                    json={
                        "project": timeline.project,
                        "body": h.body,
                        "recipient": "eval",
                        "created_at": h.created,
                    },
                    headers=headers,
                )
            )
            learnings += created["learnings"]
        stored = {
            x["id"]: await _check(await client.get(f"/v1/learnings/{x['id']}", headers=headers))
            for x in learnings
        }
        expected = {
            (
                _find(learnings, r.old, timeline.name)["id"],
                _find(learnings, r.new, timeline.name)["id"],
            ): r.how
            for r in timeline.supersedes
        }
        for how in expected.values():
            counts[f"expected_{how}"] += 1
        for x in stored.values():
            if x["superseded_by"] is not None:
                how = x["superseded_how"]
                counts[f"found_{how}"] += 1
                if expected.get((x["id"], x["superseded_by"])) == how or (
                    how == "rule" and expected.get((x["id"], x["superseded_by"])) is not None
                ):
                    counts[f"correct_{how}"] += 1
                elif (x["id"], x["superseded_by"]) not in expected:
                    errors.append(f"{timeline.name}: wrongly replaced {x['text'][:60]!r}")
            if x["newer_id"] is not None:
                counts["newer_links"] += 1
                if (x["id"], x["newer_id"]) in expected:
                    counts["newer_correct"] += 1
        for (old, new), how in expected.items():
            row = stored[old]
            if row["superseded_by"] != new:
                if row["newer_id"] == new:
                    counts["newer_of_expected"] += 1
                elif stored[new]["canonical_id"] == old:
                    counts["merged_as_duplicate"] += 1
                else:
                    errors.append(f"{timeline.name}: missed ({how}) {row['text'][:60]!r}")
        for needle in timeline.untouched:
            row = stored[_find(learnings, needle, timeline.name)["id"]]
            counts["untouched"] += 1
            if row["superseded_by"] is not None or row["done_at"] is not None:
                counts["untouched_touched"] += 1
                errors.append(f"{timeline.name}: touched {row['text'][:60]!r}")
            if row["newer_id"] is not None:
                counts["untouched_newer"] += 1
        steps = {_find(learnings, s, timeline.name)["id"] for s in timeline.done}
        counts["done_expected"] += len(steps)
        for x in stored.values():
            if x["done_at"] is not None:
                counts["done_found"] += 1
                counts["done_correct"] += x["id"] in steps
        for old, new in expected:
            found = await _check(
                await client.post(
                    "/v1/search",
                    json={"query": stored[old]["text"], "project": timeline.project, "k": SEARCH_K},
                    headers=headers,
                )
            )
            ids = [r["id"] for r in found["results"]]
            counts["pairs_searched"] += 1
            if old in ids and new in ids:
                counts["both_found"] += 1
                if ids.index(old) < ids.index(new):
                    counts["old_above_successor_any"] += 1
                    if stored[old]["superseded_by"] == new:
                        counts["old_above_successor_marked"] += 1
    c = counts
    return {
        "dataset": data.id,
        "timelines": len(data.timelines),
        "rule": {
            "expected": c["expected_rule"],
            "superseded": c["found_rule"],
            "precision": _ratio(c["correct_rule"], c["found_rule"]),
            "recall": _ratio(c["correct_rule"], c["expected_rule"]),
            "newer_links": c["newer_links"],
            "newer_links_correct": c["newer_correct"],
            "expected_left_as_newer": c["newer_of_expected"],
            "expected_merged_as_near_duplicate": c["merged_as_duplicate"],
        },
        "section": {
            "expected": c["expected_section"],
            "superseded": c["found_section"],
            "precision": _ratio(c["correct_section"], c["found_section"]),
            "recall": _ratio(c["correct_section"], c["expected_section"]),
        },
        "untouched": {
            "learnings": c["untouched"],
            "replaced_or_done": c["untouched_touched"],
            "given_newer": c["untouched_newer"],
        },
        "done": {
            "expected": c["done_expected"],
            "marked": c["done_found"],
            "precision": _ratio(c["done_correct"], c["done_found"]),
            "recall": _ratio(c["done_correct"], c["done_expected"]),
        },
        "search": {
            "pairs": c["pairs_searched"],
            "both_in_top_k": c["both_found"],
            "superseded_above_successor": c["old_above_successor_marked"],
            "old_above_new_including_unmarked": c["old_above_successor_any"],
        },
        "errors": errors,
    }


async def run_timelines(path: str | Path) -> dict[str, Any]:
    data = load_timelines(path)
    async with fresh_service() as (client, key):
        await wait_ready(client)
        return await evaluate(client, key, data)


def run_cli(args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(run_timelines(args.dataset))
    except EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0
