"""Response shapes of /v1/audit, and what a read of the trail asks for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class EventFilter:
    """Which events: `action` "handoff" matches every handoff.* action; `before_id` is the
    position of the previous page."""

    action: str | None
    key_id: uuid.UUID | None
    target_id: str | None
    since: datetime | None
    until: datetime | None
    limit: int
    before_id: int | None


class AuditEventOut(BaseModel):
    id: int
    key_id: uuid.UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None
