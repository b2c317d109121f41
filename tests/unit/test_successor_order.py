"""Search never ranks a superseded learning above its successor (recall/search.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from memory_service.recall.schemas import SearchResult
from memory_service.recall.search import after_successors


def result(name: str, score: float, by: SearchResult | None = None) -> SearchResult:
    return SearchResult(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        kind="decision",
        text=name,
        score=score,
        project="p",
        handoff_id=uuid.uuid4(),
        section="Decisions",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        occurrences=1,
        projects=["p"],
        superseded_by=by.id if by else None,
    )


def test_a_superseded_result_moves_just_below_its_successor() -> None:
    new = result("new", 0.5)
    other = result("other", 0.7)
    old = result("old", 0.9, by=new)
    ordered = after_successors([old, other, new])
    assert [r.text for r in ordered] == ["other", "new", "old"]
    assert ordered[2].score == 0.5  # capped at its successor's


def test_chains_end_in_order_and_the_rest_is_untouched() -> None:
    c = result("c", 0.2)
    b = result("b", 0.5, by=c)
    a = result("a", 0.9, by=b)
    alone = result("alone", 0.8, by=result("not found", 0.0))
    below = result("below", 0.1)
    ordered = after_successors([a, alone, b, c, below])
    assert [r.text for r in ordered] == ["alone", "c", "b", "a", "below"]
    # Already below its successor: nothing moves.
    fine = [c, result("b2", 0.1, by=c)]
    assert after_successors(fine) == fine
