"""Request and response shapes of /v1/learnings/{ref}/feedback."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from memory_service.vocabulary import Feedback

# Longest note kept with a report (422 above).
MAX_NOTE_CHARS = 1000


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Feedback = Field(
        description="`helpful`: it helped (ranked a little higher); `outdated`: no longer true "
        "(demoted and badged); `wrong`: it is wrong (from a key with write scope it never "
        "appears in briefs again and searches show it only with `include_wrong`; from a "
        "read-only key it is demoted like `outdated`)"
    )
    note: str | None = Field(
        default=None,
        max_length=MAX_NOTE_CHARS,
        description="Why, in a sentence (stored redacted, like every text)",
    )


class FeedbackOut(BaseModel):
    id: int = Field(description="The report's id: undo it with DELETE .../feedback/{id}")
    learning_id: uuid.UUID
    short_id: str = Field(description="The learning's short id, as the brief shows it")
    value: Feedback
    note: str | None
    writer: bool = Field(description="Reported by a key with write scope")
    created_at: datetime
    undone_at: datetime | None = None
    # The learning's summary after this report (or its undoing).
    helpful: int = Field(description="Keys that reported the learning helpful (standing reports)")
    wrong: bool = Field(description="Reported wrong by a key with write scope: out of briefs")
    outdated: bool = Field(description="Reported outdated (or wrong by a read-only key): demoted")


class FeedbackList(BaseModel):
    feedback: list[FeedbackOut] = Field(description="Every report, undone ones too, oldest first")
