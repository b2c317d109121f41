"""The order of a task statement's results (recall/ranking.py, `handoff_focus` and
`kind_repeat`): a statement of the work about to start is answered by one earlier session, the
handoff of its best match, and by what that session learned of several kinds (what was decided,
what went wrong, what is next), not by five of one kind. The work that session finished (a
status under a heading such as "Completed") is what is true of the code now, unlike its summary
of where it stood ("Current State"), which restates the task and is weighed down with every
status (recall/ranking.py).

Pure: reorders results already scored and floored, with no model or database."""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory_service.recall.schemas import SearchResult
from memory_service.vocabulary import Kind

__all__ = ["done_work", "focus_on_handoff"]

# A heading over work finished ("Completed", "Done", "What I shipped").
_DONE_HEADING = re.compile(
    r"\b(?:completed?|done|finished|accomplished|shipped|what (?:i|we) did)\b", re.IGNORECASE
)


def done_work(result: SearchResult) -> bool:
    """A status that tells work finished, by its heading."""
    return result.kind == Kind.status and bool(_DONE_HEADING.search(result.section))


def focus_on_handoff(
    results: Sequence[SearchResult],
    other_handoff: float,
    kind_repeat: float,
    k: int,
    done: float = 1.0,
) -> list[SearchResult]:
    """The first `k` of `results` (best first) picked greedily: each pick is the result with the
    highest score times `other_handoff` when it comes from another handoff than the first
    result's, times `done` for finished work (`done_work`), times `kind_repeat` for each result
    of its kind picked before it. Ties keep the given order; scores are left as they were (the
    floors downstream read them)."""
    if not results:
        return []
    lead = results[0].handoff_id
    left = list(results)
    picked: list[SearchResult] = []
    seen: dict[str, int] = {}
    while left and len(picked) < k:

        def weighed(r: SearchResult) -> float:
            handoff = 1.0 if r.handoff_id == lead else other_handoff
            finished = done if done_work(r) else 1.0
            return r.score * handoff * finished * kind_repeat ** seen.get(r.kind, 0)

        best = max(left, key=weighed)  # the first of equals: the given order
        left.remove(best)
        picked.append(best)
        seen[best.kind] = seen.get(best.kind, 0) + 1
    return picked
