"""What the review queue returns: learnings that need a person, each with why."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

# A next step still open (not done, not superseded) this many days after it was written is
# likely stale: the work was done without a later handoff saying so, or dropped.
STALE_STEP_DAYS = 30


class ReviewFilter(StrEnum):
    """Which reasons a queue page lists (the page's `reason` filter)."""

    instruction = "instruction"
    reported = "reported"
    stale = "stale"


class Reason(StrEnum):
    """Why a learning is in the queue (one learning may have several)."""

    # Reads like an instruction to an agent (hygiene/screening.py flagged it when written).
    flagged = "flagged"
    # Reported wrong by a key with write scope (out of briefs), or outdated (demoted).
    wrong = "wrong"
    outdated = "outdated"
    # A later learning likely replaces it: the supersession rule was unsure (`newer_id`).
    newer = "newer"
    # A next step open for more than STALE_STEP_DAYS days.
    open_step = "open_step"


class Report(BaseModel):
    """A standing wrong / outdated report on a queued learning."""

    value: str
    note: str | None
    created_at: datetime


class ReviewItem(BaseModel):
    id: uuid.UUID
    kind: str
    text: str
    project: str
    created_at: datetime
    # The latest of its reasons' times: it left the queue if a person kept it after that.
    reason_at: datetime
    reasons: list[Reason]
    flag_reason: str | None
    newer_id: uuid.UUID | None
    reviewed_at: datetime | None
    reports: list[Report]


class ReviewPage(BaseModel):
    items: list[ReviewItem]
    next_cursor: str | None
