"""How the intent weights and the relevance floor were chosen (memory_service/recall/intent.py,
recall/ranking.py): loads a dataset's handoffs once into a fresh in-process service, then
scores its query sets (and an off-topic list) under several rankings without reloading, each
query embedded once per distinct text.

Run: .venv/bin/python -m bench.intent_tuning [--sets tests/data/dev_eval.json,...]
     [--off-topic tests/data/off_topic.json] [--mode hybrid]

Every set must hold the same handoffs (the first set's are loaded). For each ranking variant
it prints R@5 / MRR@10 / nDCG@10 per set and query type, and the abstention rates: real
questions that got nothing (wrong abstentions) and off-topic ones that got anything (noise).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memory_service.auth.service import Principal, authenticate
from memory_service.db import transaction
from memory_service.evaluation import (
    Dataset,
    _load_handoffs,
    fresh_service,
    load_dataset,
    load_off_topic,
    mean_metrics,
    score_query,
    wait_ready,
)
from memory_service.recall.intent import ReadQuery, read_query
from memory_service.recall.ranking import DEFAULT_RANKING, INTENT_KIND_WEIGHTS, Ranking
from memory_service.recall.search import Query, SearchOutcome, search_outcome
from memory_service.state import AppState
from memory_service.tenancy import scope_to_team
from memory_service.vocabulary import Intent

Reader = Callable[[str], ReadQuery]


def unfocused(text: str) -> ReadQuery:
    """The query's intent, but the whole query embedded (no filler removed)."""
    read = read_query(text)
    return ReadQuery(read.intent, text, read.names)


def no_intent(text: str) -> ReadQuery:
    """The focus as shipped, but no intent (no kind weights)."""
    read = read_query(text)
    return ReadQuery(Intent.general, read.focus, read.names)


def focus_everything(text: str) -> ReadQuery:
    """Filler cut from task statements as well (measured worse; recall/intent.py)."""
    from memory_service.recall.intent import _focus

    read = read_query(text)
    return ReadQuery(read.intent, _focus(text), read.names)


def before(text: str) -> ReadQuery:
    """The search as it was: the whole query, no intent."""
    return ReadQuery(Intent.general, text)


@dataclasses.dataclass
class Tuner:
    state: AppState
    principal: Principal
    mode: str
    vectors: dict[str, npt.NDArray[np.float32]] = dataclasses.field(default_factory=dict)

    async def vector(self, text: str) -> npt.NDArray[np.float32]:
        if text not in self.vectors:
            self.vectors[text] = await self.state.embedder.aencode_query(text)
        return self.vectors[text]

    async def run(
        self, text: str, ranking: Ranking, reader: Reader, **filters: Any
    ) -> SearchOutcome:
        reading = reader(text)
        vector = await self.vector(reading.focus)
        assert self.state.sessions is not None
        async for session in transaction(self.state.sessions):
            scope_to_team(session, self.principal.team_id)
            return await search_outcome(
                session,
                self.state.embedder,
                self.principal,
                Query(text=text, mode=self.mode, **filters),
                ranking,
                query_vector=vector,
                reading=reading,
            )
        raise AssertionError("no session")


async def score_set(
    tuner: Tuner, dataset: Dataset, ranking: Ranking, reader: Reader
) -> tuple[dict[str, dict[str, float | int]], int]:
    scores: dict[str, list[Any]] = {"overall": []}
    abstained = 0
    for q in dataset.queries:
        outcome = await tuner.run(q.query, ranking, reader, k=10, project=q.project, kinds=q.kinds)
        score = score_query([r.text for r in outcome.results], q.relevant)
        scores["overall"].append(score)
        scores.setdefault(q.type, []).append(score)
        abstained += outcome.abstained
    return {t: mean_metrics(s) for t, s in scores.items()}, abstained


async def noise(tuner: Tuner, questions: list[str], ranking: Ranking, reader: Reader) -> int:
    noisy = 0
    for text in questions:
        noisy += bool((await tuner.run(text, ranking, reader, k=10)).results)
    return noisy


def variants() -> dict[str, tuple[Ranking, Reader]]:
    """The rankings compared; edit to try others."""

    def weights(**per_intent: dict[str, float]) -> Ranking:
        table = {i: dict(w) for i, w in INTENT_KIND_WEIGHTS.items()}
        table.update(per_intent)
        return Ranking(intent_kind_weights=table)

    flat = Ranking(intent_kind_weights={})
    return {
        "before (whole query, no intent)": (flat, before),
        "focus only (no kind weights)": (flat, no_intent),
        "kind weights only (whole query)": (DEFAULT_RANKING, unfocused),
        "shipped (focus + kind weights)": (DEFAULT_RANKING, read_query),
        "shipped, no named gate": (
            Ranking(named_gate=0.0, intent_named_gates={}),
            read_query,
        ),
        "shipped, task results not reordered": (Ranking(handoff_focus={}), read_query),
        "shipped, finished work not lifted": (Ranking(done_work_weight={}), read_query),
        "shipped, pitfalls results reordered too": (
            Ranking(
                handoff_focus={Intent.task: 0.7, Intent.pitfalls: 0.7},
                kind_repeat={Intent.task: 0.85, Intent.pitfalls: 0.85},
            ),
            read_query,
        ),
        "shipped, task statements cut too": (DEFAULT_RANKING, focus_everything),
        "shipped, task weights with mistake 1.2": (
            weights(task={"status": 0.6, "note": 0.8, "pattern": 1.1, "mistake": 1.2}),
            read_query,
        ),
    }


def _line(name: str, metrics: dict[str, float | int]) -> str:
    return (
        f"    {name:<14} R@5 {metrics['recall@5']:.3f}  MRR {metrics['mrr@10']:.3f}  "
        f"nDCG {metrics['ndcg@10']:.3f}  (n={metrics['n']})"
    )


async def main(sets: list[str], off_topic: str | None, mode: str) -> None:
    datasets = [load_dataset(path) for path in sets]
    questions = [q.query for q in load_off_topic(off_topic).queries] if off_topic else []
    async with fresh_service() as (client, key):
        app = client._transport.app  # type: ignore[attr-defined]
        state: AppState = app.state.memory
        await wait_ready(client)
        await _load_handoffs(client, {"Authorization": f"Bearer {key}"}, datasets[0], print)
        assert state.engine is not None
        async with state.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            principal = await authenticate(conn, key)
        assert principal is not None
        tuner = Tuner(state, principal, mode)
        for name, (ranking, reader) in variants().items():
            print(f"== {name}")
            for path, dataset in zip(sets, datasets, strict=True):
                by_type, abstained = await score_set(tuner, dataset, ranking, reader)
                print(f"  {Path(path).name}: {abstained} wrong abstentions")
                for group, metrics in by_type.items():
                    print(_line(group, metrics))
            if questions:
                noisy = await noise(tuner, questions, ranking, reader)
                print(f"  off-topic: {noisy}/{len(questions)} returned something")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="tests/data/dev_eval.json,tests/data/dev_eval_extra.json")
    parser.add_argument("--off-topic", default=None)
    parser.add_argument("--mode", default="hybrid")
    args = parser.parse_args()
    asyncio.run(main(args.sets.split(","), args.off_topic, args.mode))
