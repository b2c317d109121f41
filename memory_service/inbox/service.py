"""Inbox delivery: each unread handoff of a worktree goes to exactly one claim.

`claim_and_record` is `POST /v1/inbox/claim`: the claim and its `inbox.claim` audit row.
`claim` alone is the claim a brief makes (recall/brief.py), which its `brief` row audits."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import record
from memory_service.auth.service import Principal
from memory_service.handoffs.schemas import Delivery, Drift
from memory_service.handoffs.service import labels
from memory_service.hygiene.screening import HEADER_FIELDS, screen
from memory_service.inbox import queries
from memory_service.models import HandoffRow
from memory_service.projects import check_access, find_project

_MIN_SHA = 7


def same_commit(a: str, b: str) -> bool:
    """Short and full SHAs of one commit are the same commit; anything else compares as text."""
    a, b = a.strip().lower(), b.strip().lower()
    if a == b:
        return True
    short, full = sorted((a, b), key=len)
    hexdigits = set("0123456789abcdef")
    return len(short) >= _MIN_SHA and set(a + b) <= hexdigits and full.startswith(short)


def drift(handoff: HandoffRow, branch: str | None, head: str | None) -> Drift:
    return Drift(
        branch=bool(branch and handoff.branch and branch != handoff.branch),
        head=bool(head and handoff.head and not same_commit(head, handoff.head)),
        handoff_branch=handoff.branch,
        claim_branch=branch,
        handoff_head=handoff.head,
        claim_head=head,
    )


# What a delivery says as the handoff's row has it.
_AS_STORED = ("id", "sentinel", "recipient", "sender", "topic", "tool", "branch", "head")


def delivery(handoff: HandoffRow, project: str, drift_: Drift | None = None) -> Delivery:
    named = labels(handoff)
    # The front matter's name and description are shown with the handoff: screened like the
    # other header fields.
    screened = screen(
        handoff.body, {**{name: getattr(handoff, name) for name in HEADER_FIELDS}, **named}
    )
    return Delivery(
        **{name: getattr(handoff, name) for name in _AS_STORED},
        **named,
        project=project,
        created_at=handoff.created_at,
        body=screened.body,
        drift=drift_,
        flagged=screened.flagged,
        flag_reasons=list(screened.reasons),
        hidden_markup=screened.hidden_markup,
    )


async def peek(
    session: AsyncSession, principal: Principal, project: str, worktree: str
) -> list[Delivery]:
    check_access(principal, project)
    found = await find_project(session, principal.team_id, project)
    if found is None:
        return []
    rows = await queries.unread(session, principal.team_id, found.id, worktree)
    return [delivery(h, project) for h in rows]


class Claim(Protocol):
    """What a claim names: the body of `POST /v1/inbox/claim` (`ClaimRequest`) or of a brief
    (`BriefRequest`), taken as they are."""

    @property
    def project(self) -> str: ...
    @property
    def worktree(self) -> str: ...
    @property
    def branch(self) -> str | None: ...
    @property
    def head(self) -> str | None: ...
    @property
    def session_id(self) -> str | None: ...


async def claim(session: AsyncSession, principal: Principal, request: Claim) -> list[Delivery]:
    """Marks the worktree's unread handoffs read and returns them, each to exactly one claim
    (queries.mark_read)."""
    check_access(principal, request.project)
    found = await find_project(session, principal.team_id, request.project)
    if found is None:
        return []
    claimer = request.session_id or f"key:{principal.prefix}"
    rows = await queries.mark_read(
        session,
        principal.team_id,
        found.id,
        request.worktree,
        claimer=claimer[:500],
        branch=request.branch,
        head=request.head,
    )
    return [delivery(h, request.project, drift(h, request.branch, request.head)) for h in rows]


async def claim_and_record(
    session: AsyncSession, principal: Principal, request: Claim
) -> list[Delivery]:
    """`claim`, written to the audit trail (also when it took nothing)."""
    deliveries = await claim(session, principal, request)
    await record(
        session,
        principal,
        "inbox.claim",
        target=("worktree", f"{request.project}:{request.worktree}"),
        details={"handoffs": [str(d.id) for d in deliveries], "session_id": request.session_id},
    )
    return deliveries
