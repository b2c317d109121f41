"""Later knowledge replaces earlier knowledge: supersession and done next steps.

Three ways a learning gets `superseded_by` (always a later learning of the same team and
project; `superseded_how` says which):

- `explicit`: someone said so (`POST /v1/learnings/{id}/supersede`, `memory supersede`);
  `DELETE` of the same path undoes it. Unknown ids and other teams' ids are 404s, another
  project or a learning written earlier than the one it would replace 422, a cycle 409.
- `section`: a handoff's "Superseded", "Corrections", "No longer true", "Reverted" (...)
  section. Each of its bullets stays a learning of its own (a decision: what is true now) and
  replaces the earlier learning of the project it is nearest to, of any kind, when that is at
  least `CORRECTION_FLOOR` similar.
- `rule`: a new decision, pattern or assumption whose nearest earlier learning of the same
  project and kind is similar, but below the near-duplicate threshold (a near-duplicate says
  the same thing again: it is linked as one, not replacing it). Confident (`RULE_CONFIDENT`,
  or `RULE_WITH_EVIDENCE` when both cite a common file): `superseded_by`. Unsure (down to
  `RULE_UNSURE`): only `newer_id`, shown as "newer: ..." next to the old one, nothing hidden.

A `status` learning of a later handoff (its Completed / Done / Status sections) that is at
least `DONE_FLOOR` similar to an open `next_step` of the project marks it done (`done_at`,
`done_by`: the handoff): it leaves briefs, and search still finds it, flagged as done.

The thresholds were chosen on tests/data/dev_timelines.json (`memory-service eval-timelines`;
numbers in bench/RESULTS.md)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.audit.service import record
from memory_service.auth.service import Principal
from memory_service.errors import Conflict, InvalidInput, NotFound
from memory_service.learnings import queries
from memory_service.learnings.duplicates import NEAR_DUPLICATE_SIMILARITY
from memory_service.models import HandoffRow, LearningRow
from memory_service.vocabulary import Kind, Supersession

# Measured on tests/data/dev_timelines.json with bench/supersession_threshold.py (numbers in
# bench/RESULTS.md). The rule's candidates there: 36, 23 of them replacements. With a change
# cue, every candidate from 0.50 up is one (16, precision 1.00, recall 0.70); by similarity
# alone no threshold is clean (the best, 0.74: precision 0.94, recall 0.65), so a candidate
# without the cue only gets `newer_id` from RULE_UNSURE up (there: 5 replacements, 3 not).
RULE_CONFIDENT = 0.55
# Unmeasured (the set has no citations): a shared cited file is evidence as strong as a cue.
RULE_WITH_EVIDENCE = 0.72
RULE_UNSURE = 0.70
# Every correction bullet of the set found what it corrects at 0.53 or more.
CORRECTION_FLOOR = 0.50
# Every completed step of the set matched its next step at 0.63 or more.
DONE_FLOOR = 0.60
# The kinds whose later learning on the same subject states what is true now.
RULE_KINDS = (Kind.decision, Kind.pattern, "assumption")
# The headings of a correction section (a handoff's heading, as learnings.section stores it).
CORRECTION_SECTION = re.compile(
    r"^\W*(?:superseded|supersedes|corrections?|corrected|no longer (?:true|valid|applies)"
    r"|reverted|reverts?|reversed|retracted|replaced|obsolete|outdated|changed our mind"
    r"|we were wrong)\b",
    re.IGNORECASE,
)
# Words of a later learning that say it replaces what it resembles.
CHANGE_CUE = re.compile(
    r"\b(?:now|no longer|not any ?more|anymore|moved|moves|moving|replaced|replaces|instead"
    r"|switched|migrated|dropped|retired|gone|removed|reverted|still|stays?|kept|keeps"
    r"|changed|from \S+ to)\b",
    re.IGNORECASE,
)
# How long a chain of supersessions the cycle check follows (a longer one is refused).
MAX_CHAIN = 100


def is_correction(section: str) -> bool:
    return bool(CORRECTION_SECTION.match(section or ""))


@dataclass(frozen=True)
class Linked:
    """What a handoff's write established, for its response and the evaluation."""

    superseded: list[tuple[uuid.UUID, uuid.UUID, str]]  # (old, new, how)
    newer: list[tuple[uuid.UUID, uuid.UUID]]  # (old, new)
    done: list[uuid.UUID]


def says_change(text: str) -> bool:
    """The later learning says the fact changed ("now", "no longer", "moved", "instead") or
    restates it as still holding ("still", "stays", "keeps"): either way it is the current
    version of what it is similar to."""
    return bool(CHANGE_CUE.search(text))


def decide_rule(sim: float, *, shared_evidence: bool, cued: bool) -> str | None:
    """`superseded` when the rule is confident, `newer` when unsure, else None. Similarity
    alone does not separate a replacement from a neighbouring fact on the same subject (on the
    timeline set "training data is versioned with DVC" and "evaluation datasets are versioned
    with DVC" are 0.89 apart): confidence needs the later text to say it changed or still
    holds, or a cited file in common."""
    if sim >= NEAR_DUPLICATE_SIMILARITY:
        return None
    if (cued and sim >= RULE_CONFIDENT) or (shared_evidence and sim >= RULE_WITH_EVIDENCE):
        return "superseded"
    if sim >= RULE_UNSURE:
        return "newer"
    return None


def _paths(citations: list[dict[str, object]] | None) -> set[str]:
    return {str(c["path"]) for c in citations or [] if isinstance(c, dict) and c.get("path")}


async def link_later_knowledge(
    session: AsyncSession, handoff: HandoffRow, learnings: list[LearningRow]
) -> Linked:
    """After a handoff's learnings are stored: what they supersede, what they likely replace,
    which next steps they complete. Near-duplicates (canonical_id set) and flagged learnings
    replace nothing. Three nearest-neighbour statements at most, each one for the handoff."""
    superseded: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    newer: list[tuple[uuid.UUID, uuid.UUID]] = []
    done: list[uuid.UUID] = []
    fresh = [x for x in learnings if x.canonical_id is None and not x.flagged]
    team, project = handoff.team_id, handoff.project_id
    corrections = [x for x in fresh if is_correction(x.section)]
    taken: set[uuid.UUID] = set()
    if corrections:
        found = await queries.nearest_earlier(
            session,
            team,
            project,
            handoff.id,
            handoff.created_at,
            [(None, x.embedding) for x in corrections],
        )
        for item, match in zip(corrections, found, strict=True):
            if match is not None and match.sim >= CORRECTION_FLOOR and match.id not in taken:
                taken.add(match.id)
                superseded.append((match.id, item.id, Supersession.section))
    ruled = [x for x in fresh if x.kind in RULE_KINDS and not is_correction(x.section)]
    if ruled:
        found = await queries.nearest_earlier(
            session,
            team,
            project,
            handoff.id,
            handoff.created_at,
            [(x.kind, x.embedding) for x in ruled],
        )
        for item, match in zip(ruled, found, strict=True):
            if match is None or match.id in taken:
                continue
            shared = bool(_paths(item.citations) & _paths(match.citations))
            verdict = decide_rule(match.sim, shared_evidence=shared, cued=says_change(item.text))
            if verdict == "superseded":
                taken.add(match.id)
                superseded.append((match.id, item.id, Supersession.rule))
            elif verdict == "newer":
                newer.append((match.id, item.id))
    completed = [x for x in fresh if x.kind == Kind.status]
    if completed:
        found = await queries.nearest_earlier(
            session,
            team,
            project,
            handoff.id,
            handoff.created_at,
            [(Kind.next_step, x.embedding) for x in completed],
            open_steps=True,
        )
        for match in found:
            if match is not None and match.sim >= DONE_FLOOR and match.id not in done:
                done.append(match.id)
    now = datetime.now(UTC)
    await queries.mark_superseded(session, team, superseded, now)
    await queries.mark_newer(session, team, newer)
    await queries.mark_done(session, team, done, handoff.id, now)
    return Linked(superseded, newer, done)


async def _readable(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> tuple[LearningRow, str]:
    found = await queries.with_slug(session, principal.team_id, learning_id)
    # A key limited to other projects learns nothing, not even that the learning exists.
    if found is None or not principal.may_access(found[1]):
        raise NotFound(f"no learning {learning_id}")
    return found


async def supersede(
    session: AsyncSession, principal: Principal, old_id: uuid.UUID, by: uuid.UUID
) -> LearningRow:
    """Marks `old_id` as replaced by `by` (explicitly); audited. Everything is checked before
    anything changes."""
    old, old_slug = await _readable(session, principal, old_id)
    new, new_slug = await _readable(session, principal, by)
    if old.id == new.id:
        raise InvalidInput("a learning cannot supersede itself")
    if old.project_id != new.project_id:
        raise InvalidInput(
            f"learning {by} is of project {new_slug!r}, {old_id} of {old_slug!r}: "
            "only a learning of the same project supersedes"
        )
    # Walk the successor's own chain: reaching `old` closes a cycle.
    current: uuid.UUID | None = new.superseded_by
    for _ in range(MAX_CHAIN):
        if current is None:
            break
        if current == old.id:
            raise Conflict(
                f"{old_id} already (transitively) supersedes {by}: that would be a cycle",
                details={"old": str(old_id), "by": str(by)},
            )
        current = await queries.successor(session, principal.team_id, current)
    else:
        raise Conflict("the chain of supersessions is too long")
    if new.created_at < old.created_at:
        raise InvalidInput(
            f"learning {by} was written before {old_id}: only a later learning supersedes"
        )
    before = old.superseded_by
    await queries.mark_superseded(
        session, principal.team_id, [(old.id, new.id, Supersession.explicit)], datetime.now(UTC)
    )
    await session.refresh(old)
    await record(
        session,
        principal,
        "learning.supersede",
        target=("learning", old.id),
        details={"by": str(new.id), "previous": str(before) if before else None},
    )
    return old


async def unsupersede(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> LearningRow:
    """Undoes a supersession (of any origin): the learning is current again; audited."""
    old, _ = await _readable(session, principal, learning_id)
    if old.superseded_by is None:
        raise Conflict(f"learning {learning_id} is not superseded")
    before, how = old.superseded_by, old.superseded_how
    await queries.clear_superseded(session, principal.team_id, old.id)
    await session.refresh(old)
    await record(
        session,
        principal,
        "learning.unsupersede",
        target=("learning", old.id),
        details={"was": str(before), "how": how},
    )
    return old


async def reopen(
    session: AsyncSession, principal: Principal, learning_id: uuid.UUID
) -> LearningRow:
    """Undoes a next step's done mark (a later handoff's status was about something else):
    it is open again and returns to briefs; audited."""
    step, _ = await _readable(session, principal, learning_id)
    if step.done_at is None:
        raise Conflict(f"learning {learning_id} is not marked done")
    by = step.done_by
    await queries.clear_done(session, principal.team_id, step.id)
    await session.refresh(step)
    await record(
        session,
        principal,
        "learning.reopen",
        target=("learning", step.id),
        details={"done_by": str(by) if by else None},
    )
    return step
