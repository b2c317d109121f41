"""Freshness: whether the files a learning cites are still as they were when it was written, in
the reader's checkout. The server never reads the repository; the exchange is:

1. the client asks `GET /v1/cited-paths?project=P` for the paths the project's learnings cite
   with a blob id (most recently cited first, at most `MAX_CHECKOUT_FILES`);
2. it runs one git command over them (`git cat-file --batch-check`, index entries) and sends
   `checkout: {"project": P, "files": {path: blob | null}}` with its brief, search, recall or
   check (null: no such file in the checkout);
3. here, every returned learning of project P gets `freshness`: `missing` when a cited file
   is gone, else `changed` when one differs from the blob it had when written, else
   `verified` when every cited file with a blob is as it was; `unknown` for everything else
   (no citation with a blob, a path the client did not send, another project, no checkout).

Citations without a blob (REST writes without git state, imports) are no evidence either way:
a file absent now may never have existed, so they never make a learning `missing`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.learnings import service as learnings
from memory_service.recall.ranking import FRESHNESS_FACTORS
from memory_service.recall.schemas import CheckoutFiles, SearchResult
from memory_service.vocabulary import Freshness

# Paths named in a result's `freshness_paths` (the badge shows the first).
MAX_NAMED_PATHS = 5


def classify(
    citations: Sequence[Mapping[str, Any]], files: Mapping[str, str | None]
) -> tuple[Freshness, list[str]]:
    """The learning's freshness, and the cited paths that made it `missing` or `changed`."""
    missing: list[str] = []
    changed: list[str] = []
    verified = unknown = 0
    for citation in citations:
        blob = citation.get("blob")
        path = citation.get("path")
        if not blob or not isinstance(path, str):
            continue  # no evidence
        if path not in files:
            unknown += 1
            continue
        now = files[path]
        if now is None:
            missing.append(path)
        elif now != blob:
            changed.append(path)
        else:
            verified += 1
    if missing:
        return Freshness.missing, missing[:MAX_NAMED_PATHS]
    if changed:
        return Freshness.changed, changed[:MAX_NAMED_PATHS]
    if verified and not unknown:
        return Freshness.verified, []
    return Freshness.unknown, []


async def label(
    session: AsyncSession,
    team_id: uuid.UUID,
    results: list[SearchResult],
    checkout: CheckoutFiles | None,
) -> list[SearchResult]:
    """`results` with `freshness` set against `checkout` (unchanged without one): one query
    for the citations of the results of the checkout's project."""
    if checkout is None or not results:
        return results
    ours = [r.id for r in results if r.project == checkout.project]
    cited = await learnings.citations_of(session, team_id, ours) if ours else {}
    labelled = []
    for r in results:
        if r.id not in cited:
            labelled.append(r)
            continue
        freshness, paths = classify(cited[r.id], checkout.files)
        labelled.append(r.model_copy(update={"freshness": freshness, "freshness_paths": paths}))
    return labelled


def rank(results: list[SearchResult]) -> list[SearchResult]:
    """`results` reordered by their score times their freshness's factor (recall/ranking.py):
    a learning whose cited file is gone falls below an otherwise equal one. The order is
    stable, and the scores shown stay as the search gave them."""
    return sorted(
        results,
        key=lambda r: (
            -r.score * FRESHNESS_FACTORS.get(r.freshness, 1.0),
            r.freshness == Freshness.missing,
        ),
    )


def badge(r: SearchResult) -> str:
    """The brief's note on a learning whose cited file changed or went since it was written."""
    if r.freshness == Freshness.missing:
        what = "file deleted since"
    elif r.freshness == Freshness.changed:
        what = "file changed since"
    else:
        return ""
    named = f": `{r.freshness_paths[0]}`" if r.freshness_paths else ""
    return f" ({what}{named})"
