"""Shapes of /v1/admin/forgetting: the team's forgetting policy and what a run forgets."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memory_service.vocabulary import Kind

# Longest period a policy may name (about 30 years): larger numbers are typos.
MAX_DAYS = 10_000


class ForgettingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    forget_unused_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DAYS,
        description="Forget learnings nobody used (no brief, search or recall returned them, "
        "else written) for this many days; null: never (the default)",
    )
    next_step_expiry_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DAYS,
        description="Forget next steps and status reports this many days after they were last "
        "written, used or not; null: never (the default)",
    )


class ForgottenLearning(BaseModel):
    id: uuid.UUID
    kind: Kind
    text: str = Field(description="The first 200 characters")
    project: str
    created_at: datetime
    last_used_at: datetime | None
    reason: Literal["unused", "expired"] = Field(
        description="`unused`: not used for `forget_unused_days`; `expired`: a next step or "
        "status older than `next_step_expiry_days`"
    )
    copies: int = Field(description="This learning and its near-duplicates, forgotten together")


class ForgettingRun(BaseModel):
    dry_run: bool = Field(description="Nothing was deleted: what a run would forget now")
    policy: ForgettingPolicy
    forgotten: int = Field(description="Learnings deleted (copies included); 0 on a dry run")
    learnings: list[ForgottenLearning] = Field(
        description="What was (or would be) forgotten, least recently used first"
    )
    more: bool = Field(description="More would go than `limit`: run again")
