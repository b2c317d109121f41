"""A task statement's results: the best match's handoff first, kinds mixed (recall/rerank.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from memory_service.recall.rerank import done_work, focus_on_handoff
from memory_service.recall.schemas import SearchResult

LEAD, OTHER = uuid.uuid4(), uuid.uuid4()


def _result(text: str, kind: str, score: float, handoff: uuid.UUID = LEAD) -> SearchResult:
    return SearchResult(
        id=uuid.uuid4(),
        kind=kind,
        text=text,
        score=score,
        project="p",
        handoff_id=handoff,
        section="",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        occurrences=1,
        projects=["p"],
    )


def _texts(results: list[SearchResult]) -> list[str]:
    return [r.text for r in results]


def test_another_handoffs_result_counts_less() -> None:
    results = [
        _result("best", "next_step", 1.0),
        _result("elsewhere", "decision", 0.8, OTHER),
        _result("same session", "mistake", 0.7),
    ]
    assert _texts(focus_on_handoff(results, 0.7, 1.0, 3)) == ["best", "same session", "elsewhere"]
    # Without the focus the order stays.
    assert _texts(focus_on_handoff(results, 1.0, 1.0, 3)) == ["best", "elsewhere", "same session"]


def test_a_repeated_kind_gives_way_to_another() -> None:
    results = [
        _result("decision 1", "decision", 1.0),
        _result("decision 2", "decision", 0.9),
        _result("mistake", "mistake", 0.8),
        _result("decision 3", "decision", 0.5),
    ]
    assert _texts(focus_on_handoff(results, 0.7, 0.85, 4)) == [
        "decision 1",
        "mistake",
        "decision 2",
        "decision 3",
    ]


def test_cut_to_k_scores_kept_and_empty() -> None:
    results = [_result(str(i), "note", 1.0 - i / 10) for i in range(5)]
    picked = focus_on_handoff(results, 0.7, 0.85, 2)
    assert _texts(picked) == ["0", "1"]
    assert [r.score for r in picked] == [1.0, 0.9]
    assert focus_on_handoff([], 0.7, 0.85, 10) == []


def test_finished_work_is_told_by_its_heading() -> None:
    done = _result("shipped the parser", "status", 0.5).model_copy(update={"section": "Completed"})
    state = _result("where it stands", "status", 0.6).model_copy(
        update={"section": "Current State"}
    )
    decision = _result("a decision", "decision", 0.55)
    assert done_work(done) and not done_work(state) and not done_work(decision)
    # Lifted above a decision it trailed; the summary of where it stood is not.
    picked = focus_on_handoff([state, decision, done], 1.0, 1.0, 3, done=1.5)
    assert _texts(picked) == ["shipped the parser", "where it stands", "a decision"]
