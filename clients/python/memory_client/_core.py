"""What the sync and async clients share, with no I/O in it: one builder per REST route (the
single place where parameters, paths and result types are written down), the retry policy and
a driver that runs a call as a generator of actions. The clients in `client.py` are thin
shells that perform those actions with `httpx.Client` or `httpx.AsyncClient`, so the two can
never drift apart."""

from __future__ import annotations

import enum
import random
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar

import httpx
from pydantic import BaseModel

from memory_client import evidence
from memory_client.errors import ConnectionFailed, error_from_response, retry_after_seconds
from memory_client.frontmatter import field as front_matter_field
from memory_client.models import (
    Brief,
    CheckoutContext,
    CheckoutFiles,
    CheckResponse,
    CitedPaths,
    Feedback,
    FeedbackList,
    FeedbackOut,
    Forgotten,
    GitEvidence,
    Handoff,
    HandoffCreated,
    HandoffPage,
    Health,
    Inbox,
    Kind,
    Learning,
    MarkedRead,
    Mode,
    Readiness,
    RecallResponse,
    SearchResponse,
    Status,
    Visibility,
)
from memory_client.workspace import Workspace

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Retry(enum.Enum):
    """When a failed attempt may be sent again."""

    #: Sending twice has the effect of sending once: reads, searches, and handoff writes
    #: (each carries an Idempotency-Key, so the server returns the first copy).
    ALWAYS = "always"
    #: Only when the request provably never reached the server (no connection, or a 429
    #: refusal). A claim whose response is lost has still marked the handoffs read; blindly
    #: sending it again would return nothing and the deliveries would be lost.
    UNSENT = "unsent"


@dataclass(frozen=True)
class RequestSpec:
    method: str
    path: str
    params: Mapping[str, str | int] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry: Retry = Retry.ALWAYS


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request plus how to read its response."""

    request: RequestSpec
    parse: Callable[[httpx.Response], T]


@dataclass(frozen=True)
class Sleep:
    seconds: float


Action = RequestSpec | Sleep
Outcome = httpx.Response | httpx.TransportError

# Errors raised before a single byte of the request left this process.
_UNSENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter. `attempts` counts the first try."""

    attempts: int = 4
    backoff: float = 0.25
    max_backoff: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based). "Equal jitter":
        half the exponential step is fixed, half random, so clients that failed together
        spread out without any of them retrying immediately."""
        step = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        wait = step / 2 + random.uniform(0, step / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_backoff))
        return wait


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


def _retryable(retry: Retry, outcome: Outcome) -> bool:
    if isinstance(outcome, httpx.Response):
        # A 429 refuses before doing any work, so even a claim may be sent again. A 503 may
        # come from a gateway after the server acted: only calls safe to repeat retry it.
        if outcome.status_code == 429:
            return True
        return outcome.status_code in RETRY_STATUSES and retry is Retry.ALWAYS
    if isinstance(outcome, _UNSENT_ERRORS):
        return True
    return retry is Retry.ALWAYS


def drive(call: Call[T], policy: RetryPolicy) -> Generator[Action, Outcome | None, T]:
    """Runs `call` under `policy`. Yields a `RequestSpec` (send it, then `send()` back the
    `httpx.Response` or the `httpx.TransportError`) or a `Sleep` (wait, then `send(None)`).
    Returns the parsed result or raises the mapped exception."""
    attempt = 1
    while True:
        outcome = yield call.request
        assert outcome is not None, "send back the response or the transport error"
        if attempt < policy.attempts and _retryable(call.request.retry, outcome):
            retry_after = None
            if isinstance(outcome, httpx.Response):
                retry_after = retry_after_seconds(outcome.headers.get("retry-after"))
            yield Sleep(policy.delay(attempt, retry_after))
            attempt += 1
            continue
        if isinstance(outcome, httpx.TransportError):
            tries = f" after {attempt} attempts" if attempt > 1 else ""
            raise ConnectionFailed(
                f"could not reach the memory service{tries}: {type(outcome).__name__}: {outcome}"
            ) from outcome
        return call.parse(outcome)


class Plan(Generic[T]):
    """`drive` as a loop, the one the clients run: iterate for the actions, `answer` each
    `RequestSpec` with its response or transport error (a `Sleep` needs no answer), and read
    `result` after the loop. The mapped exception, if any, is raised out of the loop."""

    result: T

    def __init__(self, call: Call[T], policy: RetryPolicy) -> None:
        self._steps = drive(call, policy)
        self._outcome: Outcome | None = None

    def answer(self, outcome: Outcome) -> None:
        self._outcome = outcome

    def __iter__(self) -> Iterator[Action]:
        try:
            action = next(self._steps)
            while True:
                yield action
                outcome, self._outcome = self._outcome, None
                action = self._steps.send(outcome)
        except StopIteration as done:
            self.result = done.value


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise error_from_response(response)


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    def parse(response: httpx.Response) -> M:
        _check(response)
        return model.model_validate_json(response.content)

    return parse


def _no_content(response: httpx.Response) -> None:
    _check(response)


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drops unset fields, so the server applies its own defaults (and front matter)."""
    return {k: v for k, v in values.items() if v is not None}


def _dump(model: BaseModel | None) -> dict[str, Any] | None:
    return model.model_dump() if model is not None else None


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# --- one builder per route ----------------------------------------------------------------
# Their keyword parameters and JSON bodies mirror the server's request schemas (HandoffCreate,
# ClaimRequest, SearchRequest, BriefRequest, RecallRequest) field for field;
# tests/clients/test_contract.py checks every body against the server's OpenAPI document.


class HandoffFields(TypedDict):
    recipient: str | None
    sender: str | None
    branch: str | None
    head: str | None


def handoff_fields(body: str, ws: Workspace, *, recipient: str | None = None) -> HandoffFields:
    """What a handoff written in `ws` is sent with: the checkout's worktree (as recipient and
    sender), branch and HEAD, each only where the front matter does not say (None: the server
    takes it from there). An explicit `recipient` wins over both."""
    return {
        "recipient": recipient or (None if front_matter_field(body, "to") else ws.worktree),
        "sender": None if front_matter_field(body, "from") else ws.worktree,
        "branch": None if front_matter_field(body, "branch") else ws.branch,
        "head": None if front_matter_field(body, "head") else ws.head,
    }


def git_evidence(body: str, ws: Workspace) -> GitEvidence | None:
    """The blob ids of the files `body` cites, from one git command in the checkout: sent with
    a handoff written now (`git=`), never with an imported one (its files were those of its
    own time). None outside git or when git cannot say."""
    if not ws.in_git:
        return None
    blobs = evidence.write_blobs(ws.root, body)
    return GitEvidence(blobs=blobs) if blobs else None


def create_handoff(
    project: str | Workspace,
    body: str,
    *,
    recipient: str | None = None,
    sender: str | None = None,
    topic: str | None = None,
    tool: str | None = None,
    branch: str | None = None,
    head: str | None = None,
    session_id: str | None = None,
    visibility: Visibility | None = None,
    created_at: datetime | None = None,
    status: Status | None = None,
    git: GitEvidence | None = None,
    idempotency_key: str | None = None,
) -> Call[HandoffCreated]:
    """Store a handoff (`POST /v1/handoffs`) in `recipient`'s inbox of `project` and split it
    into searchable learnings. Fields left out fall back to the body's YAML front matter.

    An `Idempotency-Key` (a fresh uuid4 unless given) is sent and kept for every retry of this
    call, so a write whose response was lost is never stored twice. `status="read"` stores it
    as already delivered (imports of old inboxes).

    `project` may also be a checkout (`memory_client.workspace.detect()`): the handoff is then
    written as `memory handoff write` writes it, to the checkout's project, from and to its
    worktree, with its branch and HEAD (each only where neither an argument nor the front
    matter says), and with the blob ids of the files it cites (`git`, one git command run
    here) for freshness."""
    if isinstance(project, Workspace):
        ws = project
        project = ws.project
        found = handoff_fields(body, ws, recipient=recipient)
        recipient = found["recipient"]
        sender = sender or found["sender"]
        branch = branch or found["branch"]
        head = head or found["head"]
        if git is None:
            git = git_evidence(body, ws)
    payload = _clean(
        {
            "project": project,
            "body": body,
            "recipient": recipient,
            "sender": sender,
            "topic": topic,
            "tool": tool,
            "branch": branch,
            "head": head,
            "session_id": session_id,
            "visibility": visibility,
            "created_at": _json_ready(created_at),
            "status": status,
            "git": git.model_dump() if git is not None else None,
        }
    )
    key = idempotency_key or str(uuid.uuid4())
    return Call(
        RequestSpec("POST", "/v1/handoffs", json=payload, headers={"Idempotency-Key": key}),
        _model(HandoffCreated),
    )


def get_handoff(handoff_id: uuid.UUID | str) -> Call[Handoff]:
    """One handoff with its body and learnings (`GET /v1/handoffs/{id}`); does not mark it
    read."""
    return Call(RequestSpec("GET", f"/v1/handoffs/{handoff_id}"), _model(Handoff))


def list_handoffs(
    *,
    project: str | None = None,
    recipient: str | None = None,
    status: Status | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Call[HandoffPage]:
    """One page of handoffs, newest first (`GET /v1/handoffs`); pass `next_cursor` back as
    `cursor` for the next page."""
    params = _clean(
        {
            "project": project,
            "recipient": recipient,
            "status": status,
            "limit": limit,
            "cursor": cursor,
        }
    )
    return Call(RequestSpec("GET", "/v1/handoffs", params=params), _model(HandoffPage))


def delete_handoff(handoff_id: uuid.UUID | str) -> Call[None]:
    """Delete a handoff and every learning that came from it (`DELETE /v1/handoffs/{id}`).
    Not retried after a lost response: the retry would report a 404 for a delete that
    worked."""
    return Call(
        RequestSpec("DELETE", f"/v1/handoffs/{handoff_id}", retry=Retry.UNSENT), _no_content
    )


def mark_read(handoff_id: uuid.UUID | str, *, by: str | None = None) -> Call[MarkedRead]:
    """Mark one handoff read (`POST /v1/handoffs/{id}/read`): it was delivered some other way
    (the file-based inbox it was imported from), so no session is given it. A read handoff
    stays as it is (`changed` False); safe to send again."""
    return Call(
        RequestSpec("POST", f"/v1/handoffs/{handoff_id}/read", json=_clean({"by": by})),
        _model(MarkedRead),
    )


def peek_inbox(project: str, worktree: str) -> Call[Inbox]:
    """The worktree's unread handoffs, oldest first (`GET /v1/inbox`). Changes nothing."""
    return Call(
        RequestSpec("GET", "/v1/inbox", params={"project": project, "worktree": worktree}),
        _model(Inbox),
    )


def claim_inbox(
    project: str,
    worktree: str,
    *,
    branch: str | None = None,
    head: str | None = None,
    session_id: str | None = None,
) -> Call[Inbox]:
    """Take delivery of the worktree's unread handoffs (`POST /v1/inbox/claim`): each is
    returned by exactly one claim and is read afterwards, with `drift` telling whether the
    branch or HEAD moved since it was written.

    Not retried once the request may have reached the server: a lost response would mean
    the handoffs were marked read but never seen. Recover with `list_handoffs(status="read")`
    and `get_handoff()`."""
    payload = _clean(
        {
            "project": project,
            "worktree": worktree,
            "branch": branch,
            "head": head,
            "session_id": session_id,
        }
    )
    return Call(
        RequestSpec("POST", "/v1/inbox/claim", json=payload, retry=Retry.UNSENT), _model(Inbox)
    )


def search(
    query: str,
    *,
    k: int = 10,
    project: str | None = None,
    projects: Sequence[str] | None = None,
    prefer_project: str | None = None,
    kinds: Sequence[Kind] | None = None,
    since: datetime | None = None,
    mode: Mode = "hybrid",
    checkout: CheckoutFiles | None = None,
    include_wrong: bool = False,
) -> Call[SearchResponse]:
    """Past learnings most relevant to `query` (`POST /v1/search`), across every project the
    key may read unless `project`/`projects` narrow it. Read-only, so retried like a GET."""
    payload = _clean(
        {
            "query": query,
            "k": k,
            "project": project,
            "projects": list(projects) if projects is not None else None,
            "prefer_project": prefer_project,
            "kinds": list(kinds) if kinds is not None else None,
            "since": _json_ready(since),
            "mode": mode,
            "checkout": _dump(checkout),
            "include_wrong": include_wrong or None,
        }
    )
    return Call(RequestSpec("POST", "/v1/search", json=payload), _model(SearchResponse))


def recall(
    text: str,
    *,
    project: str | None = None,
    session_id: str | None = None,
    k: int = 3,
    checkout: CheckoutFiles | None = None,
) -> Call[RecallResponse]:
    """Prompt-time recall (`POST /v1/recall`): at most `k` (1-5) past learnings clearly
    relevant to what the person just asked, never one this `session_id` was already given, or
    `abstained` with the `reason` (small talk, nothing stored relevant enough). `project`, the
    session's own, ranks a little higher. It records what the session was given, so a retry
    after a lost response would find it already given: retried only when unsent."""
    payload = _clean(
        {
            "text": text,
            "project": project,
            "session_id": session_id,
            "k": k,
            "checkout": _dump(checkout),
        }
    )
    return Call(
        RequestSpec("POST", "/v1/recall", json=payload, retry=Retry.UNSENT),
        _model(RecallResponse),
    )


def brief(
    project: str,
    worktree: str,
    *,
    branch: str | None = None,
    head: str | None = None,
    session_id: str | None = None,
    task: str | None = None,
    token_budget: int = 800,
    context: CheckoutContext | None = None,
    checkout: CheckoutFiles | None = None,
) -> Call[Brief]:
    """The start-up brief (`POST /v1/brief`): the worktree's unread handoffs, claimed like
    `claim_inbox`, plus the past learnings most relevant to `task` (without one: to what the
    checkout is doing, from `branch`, the `context`'s commit subjects and changed paths, and the
    delivered handoffs' next steps), as markdown within `token_budget` tokens. Retried only
    when the request never reached the server, for the same reason as `claim_inbox`."""
    payload = _clean(
        {
            "project": project,
            "worktree": worktree,
            "branch": branch,
            "head": head,
            "session_id": session_id,
            "task": task,
            "token_budget": token_budget,
            "context": context.model_dump() if context is not None else None,
            "checkout": _dump(checkout),
        }
    )
    return Call(RequestSpec("POST", "/v1/brief", json=payload, retry=Retry.UNSENT), _model(Brief))


def check(
    command: str,
    *,
    project: str | None = None,
    session_id: str | None = None,
    k: int = 2,
    checkout: CheckoutFiles | None = None,
) -> Call[CheckResponse]:
    """Before a shell command runs (`POST /v1/check`): the past mistakes it closely matches,
    at most `k` (1-3), or `abstained: true` and nothing for everyday commands and anything not
    close enough. Read-only, so retried like a GET."""
    payload = _clean(
        {
            "command": command,
            "project": project,
            "session_id": session_id,
            "k": k,
            "checkout": _dump(checkout),
        }
    )
    return Call(RequestSpec("POST", "/v1/check", json=payload), _model(CheckResponse))


def cited_paths(project: str, *, limit: int = 300) -> Call[CitedPaths]:
    """The paths `project`'s learnings cite with a blob id, most recently cited first
    (`GET /v1/cited-paths`): look them up in the checkout (`evidence.blob_ids`) and send the
    result as `checkout` for each learning's `freshness`."""
    return Call(
        RequestSpec("GET", "/v1/cited-paths", params={"project": project, "limit": limit}),
        _model(CitedPaths),
    )


def get_learning(learning_id: uuid.UUID | str) -> Call[Learning]:
    """One learning with its provenance (`GET /v1/learnings/{id}`)."""
    return Call(RequestSpec("GET", f"/v1/learnings/{learning_id}"), _model(Learning))


def forget(learning_id: uuid.UUID | str) -> Call[Forgotten]:
    """Forget a learning and its near-duplicates (`DELETE /v1/learnings/{id}`); the handoff it
    came from stays."""
    return Call(
        RequestSpec("DELETE", f"/v1/learnings/{learning_id}", retry=Retry.UNSENT),
        _model(Forgotten),
    )


def supersede(learning_id: uuid.UUID | str, by: uuid.UUID | str) -> Call[Learning]:
    """Mark a learning as replaced by a later one of the same project
    (`POST /v1/learnings/{id}/supersede`): it then never ranks above `by` and leaves briefs."""
    return Call(
        RequestSpec(
            "POST",
            f"/v1/learnings/{learning_id}/supersede",
            json={"by": str(by)},
            retry=Retry.UNSENT,
        ),
        _model(Learning),
    )


def unsupersede(learning_id: uuid.UUID | str) -> Call[Learning]:
    """Undo a supersession (`DELETE /v1/learnings/{id}/supersede`): the learning is current
    again."""
    return Call(
        RequestSpec("DELETE", f"/v1/learnings/{learning_id}/supersede", retry=Retry.UNSENT),
        _model(Learning),
    )


def reopen(learning_id: uuid.UUID | str) -> Call[Learning]:
    """Reopen a next step a later handoff marked done (`DELETE /v1/learnings/{id}/done`)."""
    return Call(
        RequestSpec("DELETE", f"/v1/learnings/{learning_id}/done", retry=Retry.UNSENT),
        _model(Learning),
    )


def feedback(
    ref: uuid.UUID | str, value: Feedback, *, note: str | None = None
) -> Call[FeedbackOut]:
    """Report a learning `helpful`, `wrong` or `outdated` (`POST /v1/learnings/{ref}/feedback`),
    by its id or the short id a brief shows. Retried only when the request never arrived."""
    payload = _clean({"value": value, "note": note})
    return Call(
        RequestSpec("POST", f"/v1/learnings/{ref}/feedback", json=payload, retry=Retry.UNSENT),
        _model(FeedbackOut),
    )


def list_feedback(ref: uuid.UUID | str) -> Call[FeedbackList]:
    """Every report on a learning, undone ones too (`GET /v1/learnings/{ref}/feedback`)."""
    return Call(RequestSpec("GET", f"/v1/learnings/{ref}/feedback"), _model(FeedbackList))


def undo_feedback(ref: uuid.UUID | str, feedback_id: int) -> Call[FeedbackOut]:
    """Undo a report (`DELETE /v1/learnings/{ref}/feedback/{id}`): the caller's own, or any
    with write scope."""
    return Call(
        RequestSpec("DELETE", f"/v1/learnings/{ref}/feedback/{feedback_id}", retry=Retry.UNSENT),
        _model(FeedbackOut),
    )


def healthz() -> Call[Health]:
    """The server is alive (`GET /healthz`, no key needed); raises `ServiceUnavailable` once
    its database has been unreachable for longer than the server's grace."""
    # Like readyz: a 503 here is the answer (restart the server), not a reason to ask again.
    return Call(RequestSpec("GET", "/healthz", retry=Retry.UNSENT), _model(Health))


def readyz() -> Call[Readiness]:
    """The database answers and the model is loaded (`GET /readyz`); raises
    `ServiceUnavailable` (with the failing check in `details`) when not."""
    # A probe reports the state now: a 503 is the answer, not a reason to wait and ask again.
    return Call(RequestSpec("GET", "/readyz", retry=Retry.UNSENT), _model(Readiness))
