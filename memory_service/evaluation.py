"""Retrieval evaluation: load a dataset's handoffs into a service, run its queries through
`POST /v1/search` in each mode, and report recall@5, MRR@10, nDCG@10 (overall and per query
type) plus client-side search latency.

The dataset format is fixed in docs/evaluation-format.md. A result is relevant
when its `text` contains one of the query's `relevant` substrings, verbatim (case and spacing
included: the substrings are copied from the handoff bodies, and a parser that mangles them
should show up here as a miss, not be papered over).

Two targets:

- default: a fresh service in this process, on an embedded PostgreSQL in a temporary folder
  that is deleted afterwards, so the numbers depend on the dataset alone;
- `url` + `api_key`: a running server over HTTP. Its results then include whatever that key's
  team already holds, which can push the dataset's learnings down the ranking. Handoffs are
  written with `Idempotency-Key: eval-<dataset id>`, so a rerun against the same server does
  not store them twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from memory_service.vocabulary import SearchMode, values

MODES: tuple[str, ...] = values(SearchMode)
# Reported in this order; any other type a dataset uses follows, in order of first appearance.
KNOWN_TYPES: tuple[str, ...] = ("paraphrase", "identifier", "startup", "cross_project")
RECALL_DEPTH = 5
RANK_DEPTH = 10
DEFAULT_K = 10
TOP_PREVIEWS = 3
PREVIEW_CHARS = 120
READY_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 120.0
EVAL_TEAM = "eval"
METRIC_KEYS: tuple[str, ...] = ("recall@5", "mrr@10", "ndcg@10")


class DatasetError(Exception):
    """The dataset file is missing, is not JSON, or does not follow the format."""


class EvalError(Exception):
    """The service could not be evaluated (not ready, a request failed, unexpected answer)."""


# --------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------

NonEmpty = Field(min_length=1)


class DatasetHandoff(BaseModel):
    """A handoff as the dataset format has it (docs/evaluation-format.md), not `HandoffCreate`,
    whose optional fields it resembles: the format has its own names and meanings (`worktree` is
    the inbox, `recipient` free prose, `created` a string), ignores unknown fields where the API
    refuses them, and the service checks lengths and formats itself when the handoff is posted
    (`handoff_request` maps one onto the other)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = NonEmpty
    project: str = NonEmpty
    worktree: str = NonEmpty
    body: str = NonEmpty
    recipient: str | None = None
    sender: str | None = None
    tool: str | None = None
    branch: str | None = None
    head: str | None = None
    created: str | None = None

    @field_validator("created")
    @classmethod
    def _iso_datetime(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"not an ISO 8601 datetime: {value!r}") from None
        return value


class DatasetQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = NonEmpty
    query: str = NonEmpty
    project: str | None = None
    kinds: list[str] | None = Field(default=None, min_length=1)
    relevant: list[str] = NonEmpty
    type: str = NonEmpty

    @field_validator("relevant", "kinds")
    @classmethod
    def _no_empty_strings(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not item for item in value):
            raise ValueError("must not contain empty strings")
        return value


class Dataset(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal[1]
    handoffs: list[DatasetHandoff]
    secrets: list[str] = Field(default_factory=list)
    queries: list[DatasetQuery] = NonEmpty

    @model_validator(mode="after")
    def _unique_ids(self) -> Dataset:
        for what, ids in (
            ("handoff", [h.id for h in self.handoffs]),
            ("query", [q.id for q in self.queries]),
        ):
            doubles = sorted(i for i, count in Counter(ids).items() if count > 1)
            if doubles:
                raise ValueError(f"duplicate {what} ids: {', '.join(doubles)}")
        return self

    def types(self) -> list[str]:
        present = list(dict.fromkeys(q.type for q in self.queries))
        return [t for t in KNOWN_TYPES if t in present] + [
            t for t in present if t not in KNOWN_TYPES
        ]


class OffTopicQuestion(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = NonEmpty
    query: str = NonEmpty


class OffTopicSet(BaseModel):
    """Questions about nothing a dataset holds (docs/evaluation-format.md): every result
    returned for one of them is noise."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal[1]
    queries: list[OffTopicQuestion] = NonEmpty

    @model_validator(mode="after")
    def _unique_ids(self) -> OffTopicSet:
        doubles = sorted(i for i, n in Counter(q.id for q in self.queries).items() if n > 1)
        if doubles:
            raise ValueError(f"duplicate question ids: {', '.join(doubles)}")
        return self


def _where(loc: Sequence[int | str], data: Any) -> str:
    """`queries[3] (q04).relevant` from pydantic's ('queries', 3, 'relevant')."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                out += f" ({node['id']})"
        else:
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, dict) else None
    return out or "dataset"


def parse_dataset(data: Any, source: str = "dataset") -> Dataset:
    """Validates an already decoded dataset; every problem is listed in one DatasetError."""
    if not isinstance(data, dict):
        raise DatasetError(f"{source}: the top level must be a JSON object")
    try:
        return Dataset.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        lines = [f"  {_where(e['loc'], data)}: {e['msg']}" for e in errors[:20]]
        if len(errors) > 20:
            lines.append(f"  ... and {len(errors) - 20} more")
        raise DatasetError(
            f"{source} is not a valid evaluation dataset "
            f"(see docs/evaluation-format.md):\n" + "\n".join(lines)
        ) from None


def load_dataset(path: str | Path) -> Dataset:
    return parse_dataset(_read_json(path), str(path))


def load_off_topic(path: str | Path) -> OffTopicSet:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: the top level must be a JSON object")
    try:
        return OffTopicSet.model_validate(data)
    except ValidationError as exc:
        lines = [f"  {_where(e['loc'], data)}: {e['msg']}" for e in exc.errors()[:20]]
        raise DatasetError(
            f"{path} is not a valid off-topic question set "
            f"(see docs/evaluation-format.md):\n" + "\n".join(lines)
        ) from None


def _read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"dataset file not found: {path}") from None
    except IsADirectoryError:
        raise DatasetError(f"dataset path is a directory, not a file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read dataset file {path}: {exc}") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


# --------------------------------------------------------------------------------------------
# Metrics (pure)
# --------------------------------------------------------------------------------------------


def _distinct(relevant: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(relevant))


def first_relevant_rank(
    texts: Sequence[str], relevant: Sequence[str], depth: int = RANK_DEPTH
) -> int | None:
    """1-based rank of the first result containing any relevant substring, within `depth`."""
    for rank, text in enumerate(texts[:depth], start=1):
        if any(r in text for r in relevant):
            return rank
    return None


def found_relevant(
    texts: Sequence[str], relevant: Sequence[str], depth: int = RANK_DEPTH
) -> list[str]:
    """The relevant substrings contained in at least one of the top `depth` results."""
    top = texts[:depth]
    return [r for r in _distinct(relevant) if any(r in text for text in top)]


def recall_at(texts: Sequence[str], relevant: Sequence[str], depth: int = RECALL_DEPTH) -> float:
    """Fraction of the distinct relevant substrings found in the top `depth` results."""
    wanted = _distinct(relevant)
    if not wanted:
        return 0.0
    return len(found_relevant(texts, wanted, depth)) / len(wanted)


def reciprocal_rank(
    texts: Sequence[str], relevant: Sequence[str], depth: int = RANK_DEPTH
) -> float:
    rank = first_relevant_rank(texts, relevant, depth)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at(texts: Sequence[str], relevant: Sequence[str], depth: int = RANK_DEPTH) -> float:
    """Binary-gain nDCG where each relevant substring is credited once: a result gains 1 when
    it contains a substring no earlier result was credited for, and every substring it
    contains is then credited (so a duplicate of a found bullet gains nothing). The ideal is
    one new substring per rank: min(#relevant, depth) ones."""
    wanted = _distinct(relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(wanted), depth) + 1))
    if ideal == 0.0:
        return 0.0
    credited: set[str] = set()
    dcg = 0.0
    for rank, text in enumerate(texts[:depth], start=1):
        new = [r for r in wanted if r not in credited and r in text]
        if new:
            dcg += 1.0 / math.log2(rank + 1)
            credited.update(new)
    return dcg / ideal


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class QueryScore:
    recall: float
    mrr: float
    ndcg: float
    first_rank: int | None
    found: list[str]
    missing: list[str]

    def metrics(self) -> dict[str, float]:
        return {"recall@5": self.recall, "mrr@10": self.mrr, "ndcg@10": self.ndcg}


def score_query(texts: Sequence[str], relevant: Sequence[str]) -> QueryScore:
    found = found_relevant(texts, relevant, RANK_DEPTH)
    return QueryScore(
        recall=recall_at(texts, relevant, RECALL_DEPTH),
        mrr=reciprocal_rank(texts, relevant, RANK_DEPTH),
        ndcg=ndcg_at(texts, relevant, RANK_DEPTH),
        first_rank=first_relevant_rank(texts, relevant, RANK_DEPTH),
        found=found,
        missing=[r for r in _distinct(relevant) if r not in found],
    )


def mean_metrics(scores: Sequence[QueryScore]) -> dict[str, float | int]:
    """Mean of each metric over the queries (zeros for none), with `n`."""
    out: dict[str, float | int] = {}
    for key in METRIC_KEYS:
        values = [s.metrics()[key] for s in scores]
        out[key] = sum(values) / len(values) if values else 0.0
    out["n"] = len(scores)
    return out


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int]:
    ms = [s * 1000.0 for s in seconds]
    return {
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "mean_ms": sum(ms) / len(ms) if ms else math.nan,
        "max_ms": max(ms) if ms else math.nan,
        "n": len(ms),
    }


# --------------------------------------------------------------------------------------------
# Talking to the service
# --------------------------------------------------------------------------------------------


def _describe(response: httpx.Response) -> str:
    """The error envelope's code and message, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        text = f"{err.get('code', 'error')}: {err.get('message', '')}"
        if err.get("details"):
            text += f" {json.dumps(err['details'])[:300]}"
        return f"{response.status_code} {text}"
    return f"{response.status_code} {response.text[:300]}"


async def wait_ready(client: httpx.AsyncClient) -> None:
    """Until `/readyz` says 200: the model loads in the background after start-up."""
    last = "no answer"
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            while True:
                try:
                    response = await client.get("/readyz")
                    if response.status_code == 200:
                        return
                    last = _describe(response)
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.25)
    except TimeoutError:
        raise EvalError(
            f"the service was not ready after {READY_TIMEOUT_S:.0f} s (/readyz: {last})"
        ) from None


@dataclass
class _Loaded:
    handoffs: int = 0
    duplicates: int = 0
    learnings: list[str] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0


def handoff_request(handoff: DatasetHandoff) -> dict[str, Any]:
    """The JSON body of `POST /v1/handoffs` for one dataset handoff. The inbox is the
    worktree (the dataset's `recipient` is free prose such as "next agent on repo")."""
    body: dict[str, Any] = {
        "project": handoff.project,
        "body": handoff.body,
        "recipient": handoff.worktree,
    }
    for name in ("sender", "tool", "branch", "head"):
        value = getattr(handoff, name)
        if value is not None:
            body[name] = value
    if handoff.created is not None:
        body["created_at"] = handoff.created
    return body


def search_request(query: DatasetQuery, mode: str, k: int) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query.query, "k": k, "mode": mode}
    if query.project is not None:
        body["project"] = query.project
    if query.kinds is not None:
        body["kinds"] = list(query.kinds)
    return body


async def _load_handoffs(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    dataset: Dataset,
    progress: Callable[[str], None],
) -> _Loaded:
    loaded = _Loaded()
    started = time.perf_counter()
    total = len(dataset.handoffs)
    for number, handoff in enumerate(dataset.handoffs, start=1):
        try:
            response = await client.post(
                "/v1/handoffs",
                json=handoff_request(handoff),
                headers={**headers, "Idempotency-Key": f"eval-{handoff.id}"},
            )
        except httpx.TransportError as exc:
            raise EvalError(f"POST /v1/handoffs ({handoff.id}) failed: {exc}") from exc
        if response.status_code not in (200, 201):
            hint = ""
            if response.status_code == 409:
                hint = (
                    " (this server already holds a different handoff under that Idempotency-Key:"
                    " the dataset changed since an earlier run; use a fresh server or team)"
                )
            raise EvalError(
                f"POST /v1/handoffs for dataset handoff {handoff.id} failed: "
                f"{_describe(response)}{hint}"
            )
        data = response.json()
        loaded.handoffs += 1
        loaded.duplicates += bool(data.get("duplicate"))
        loaded.learnings.extend(str(item.get("text", "")) for item in data.get("learnings", []))
        if data.get("warnings"):
            loaded.warnings[handoff.id] = [str(w) for w in data["warnings"]]
        if number % 25 == 0 or number == total:
            progress(f"loaded {number}/{total} handoffs")
    loaded.seconds = time.perf_counter() - started
    return loaded


@dataclass(frozen=True)
class _Answer:
    results: list[dict[str, Any]]
    seconds: float
    # As the server says (servers before issue 17 say neither: no results is an abstention).
    abstained: bool
    intent: str | None


async def _search(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> _Answer:
    started = time.perf_counter()
    try:
        response = await client.post("/v1/search", json=body, headers=headers)
    except httpx.TransportError as exc:
        raise EvalError(f"POST /v1/search failed: {exc}") from exc
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise EvalError(
            f"POST /v1/search (mode={body['mode']}, query={body['query'][:60]!r}) failed: "
            f"{_describe(response)}"
        )
    try:
        data = response.json()
        results = data["results"]
        if not isinstance(results, list) or not all(
            isinstance(r, dict) and isinstance(r.get("text"), str) for r in results
        ):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise EvalError(
            f"POST /v1/search answered without a `results` list of objects with `text`: "
            f"{response.text[:300]}"
        ) from None
    abstained = data.get("abstained")
    intent = data.get("intent")
    return _Answer(
        results,
        elapsed,
        abstained if isinstance(abstained, bool) else not results,
        intent if isinstance(intent, str) else None,
    )


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _secret_hits(texts: Iterable[str], secrets: Sequence[str]) -> list[str]:
    return sorted({s for s in secrets for t in texts if s in t})


def _mask(secret: str) -> str:
    return secret[:6] + "…" if len(secret) > 8 else "…"


async def evaluate(
    dataset: Dataset,
    client: httpx.AsyncClient,
    api_key: str,
    *,
    modes: Sequence[str] = MODES,
    k: int = DEFAULT_K,
    target: str = "client",
    progress: Callable[[str], None] | None = None,
    off_topic: OffTopicSet | None = None,
) -> dict[str, Any]:
    """Loads the dataset's handoffs through `client` and scores every query in every mode;
    with `off_topic`, also asks those questions and counts the ones that got results."""
    say = progress or (lambda _: None)
    headers = {"Authorization": f"Bearer {api_key}"}
    await wait_ready(client)
    loaded = await _load_handoffs(client, headers, dataset, say)
    types = dataset.types()

    # A relevant substring that no stored learning contains can never be found by any mode:
    # that is a parsing/redaction problem (or a dataset typo), not a ranking one.
    unreachable = {
        q.id: missing
        for q in dataset.queries
        if (
            missing := [
                r for r in _distinct(q.relevant) if not any(r in t for t in loaded.learnings)
            ]
        )
    }
    leaks: dict[str, list[str]] = {}
    stored_leaks = _secret_hits(loaded.learnings, dataset.secrets)
    if stored_leaks:
        leaks["stored learnings"] = [_mask(s) for s in stored_leaks]

    report_modes: dict[str, Any] = {}
    for mode in modes:
        say(f"searching: mode={mode}, {len(dataset.queries)} queries")
        # The first search of a mode pays for lazy work (plans, caches, model warm-up).
        await _search(client, headers, search_request(dataset.queries[0], mode, k))
        per_query: list[dict[str, Any]] = []
        scores: dict[str, QueryScore] = {}
        latencies: list[float] = []
        mode_leaks: set[str] = set()
        wrongly_abstained: list[str] = []
        for query in dataset.queries:
            answer = await _search(client, headers, search_request(query, mode, k))
            results, elapsed = answer.results, answer.seconds
            if answer.abstained:
                wrongly_abstained.append(query.id)
            latencies.append(elapsed)
            texts = [str(r["text"]) for r in results]
            score = score_query(texts, query.relevant)
            scores[query.id] = score
            mode_leaks.update(_secret_hits(texts, dataset.secrets))
            per_query.append(
                {
                    "id": query.id,
                    "type": query.type,
                    "query": query.query,
                    "project": query.project,
                    "kinds": query.kinds,
                    **score.metrics(),
                    "first_relevant_rank": score.first_rank,
                    "found": score.found,
                    "missing": score.missing,
                    "unreachable": unreachable.get(query.id, []),
                    "results": len(results),
                    "intent": answer.intent,
                    "abstained": answer.abstained,
                    "latency_ms": elapsed * 1000.0,
                    "top": [
                        {
                            "kind": r.get("kind"),
                            "score": r.get("score"),
                            "project": r.get("project"),
                            "text": _preview(str(r["text"])),
                        }
                        for r in results[:TOP_PREVIEWS]
                    ],
                }
            )
        if mode_leaks:
            leaks[f"{mode} results"] = [_mask(s) for s in sorted(mode_leaks)]
        report_modes[mode] = {
            "overall": mean_metrics(list(scores.values())),
            "by_type": {
                t: mean_metrics([scores[q.id] for q in dataset.queries if q.type == t])
                for t in types
            },
            "latency": latency_summary(latencies),
            "queries": per_query,
            "abstention": await _abstention(
                client, headers, mode, k, dataset, wrongly_abstained, off_topic
            ),
        }

    never_hit = [
        q.id
        for i, q in enumerate(dataset.queries)
        if all(report_modes[m]["queries"][i]["first_relevant_rank"] is None for m in modes)
    ]
    return {
        "target": target,
        "k": k,
        "modes": report_modes,
        "types": types,
        "dataset": {
            "handoffs": len(dataset.handoffs),
            "queries": len(dataset.queries),
            "queries_by_type": {t: sum(q.type == t for q in dataset.queries) for t in types},
        },
        "load": {
            "handoffs": loaded.handoffs,
            "duplicates": loaded.duplicates,
            "learnings": len(loaded.learnings),
            "seconds": loaded.seconds,
            "warnings": loaded.warnings,
        },
        "unreachable": unreachable,
        "never_hit": never_hit,
        "secret_leaks": leaks,
    }


async def _abstention(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    mode: str,
    k: int,
    dataset: Dataset,
    wrongly_abstained: list[str],
    off_topic: OffTopicSet | None,
) -> dict[str, Any]:
    """Every dataset question has relevant learnings: an abstention on one is wrong. With an
    off-topic set, every one of its questions that gets any result is noise."""
    out: dict[str, Any] = {
        "wrong": len(wrongly_abstained),
        "questions": len(dataset.queries),
        "wrong_rate": len(wrongly_abstained) / len(dataset.queries),
        "wrong_ids": wrongly_abstained,
    }
    if off_topic is None:
        return out
    noisy: dict[str, int] = {}
    for question in off_topic.queries:
        body = {"query": question.query, "k": k, "mode": mode}
        answer = await _search(client, headers, body)
        if answer.results:
            noisy[question.id] = len(answer.results)
    total = len(off_topic.queries)
    out["off_topic"] = {
        "noisy": len(noisy),
        "questions": total,
        "noise_rate": len(noisy) / total,
        "noisy_ids": noisy,
    }
    return out


@asynccontextmanager
async def fresh_service() -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An in-process service on a new embedded PostgreSQL in a temporary folder, with a
    read/write key of its own team. Everything is deleted on exit."""
    import anyio.to_thread

    from memory_service.app import create_app
    from memory_service.auth.service import create_key, get_or_create_team
    from memory_service.config import Settings
    from memory_service.operator_db import system_transaction

    with tempfile.TemporaryDirectory(prefix="memory-eval-") as tmp_name:
        tmp = Path(tmp_name)
        server, url = await anyio.to_thread.run_sync(_start_embedded, tmp / "pgdata")
        try:
            settings = Settings(database_url=url, data_dir=tmp / "data", bootstrap_admin_key=False)
            app = create_app(settings)
            # The app's own lifespan (migrations, background model load, teardown), driven
            # without asgi-lifespan, which is only a dev dependency.
            async with app.router.lifespan_context(app):
                sessions = app.state.memory.sessions
                if sessions is None:
                    raise EvalError("the in-process service started without a database")
                async with system_transaction(sessions) as session:
                    team = await get_or_create_team(session, EVAL_TEAM)
                    created = await create_key(session, team, "read,write", name="eval")
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://memory-eval", timeout=REQUEST_TIMEOUT_S
                ) as client:
                    yield client, created.plaintext
        finally:
            await anyio.to_thread.run_sync(server.cleanup)


def _start_embedded(pgdata: Path) -> tuple[Any, str]:
    import psycopg
    from pgserver.postgres_server import get_server

    server = get_server(pgdata, cleanup_mode="delete")
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE memory_eval")
        url: str = server.get_uri("memory_eval")
    except BaseException:
        server.cleanup()
        raise
    return server, url


def check_modes(modes: Iterable[str]) -> list[str]:
    chosen = [m.strip() for m in modes if m.strip()]
    unknown = [m for m in chosen if m not in MODES]
    if unknown or not chosen:
        raise ValueError(
            f"unknown search mode(s): {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(MODES)}"
        )
    return list(dict.fromkeys(chosen))


async def run_eval(
    dataset_path: str | Path,
    *,
    url: str | None = None,
    api_key: str | None = None,
    modes: Sequence[str] = MODES,
    k: int = DEFAULT_K,
    client: httpx.AsyncClient | None = None,
    progress: Callable[[str], None] | None = None,
    off_topic_path: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluates search on a dataset file and returns the report (see `format_report`); with
    `off_topic_path`, also the abstentions (noise on those questions, wrong abstentions on the
    dataset's).

    Target, in order: `client` (an already built client, e.g. a test's; needs `api_key`),
    `url` (a running server; needs `api_key`; its team's existing data is searched too), else a
    fresh in-process service on a temporary embedded PostgreSQL. A coroutine, so that a caller
    already inside an event loop (tests, benchmarks) can pass its own client."""
    dataset = load_dataset(dataset_path)
    off_topic = load_off_topic(off_topic_path) if off_topic_path is not None else None
    chosen = check_modes(modes)
    report = await _run(
        dataset,
        url=url,
        api_key=api_key,
        modes=chosen,
        k=k,
        client=client,
        progress=progress,
        off_topic=off_topic,
    )
    report["dataset"]["path"] = str(dataset_path)
    if off_topic_path is not None:
        report["off_topic_path"] = str(off_topic_path)
    return report


async def _run(
    dataset: Dataset,
    *,
    url: str | None,
    api_key: str | None,
    modes: list[str],
    k: int,
    client: httpx.AsyncClient | None,
    progress: Callable[[str], None] | None,
    off_topic: OffTopicSet | None,
) -> dict[str, Any]:
    chosen = modes
    if k < 1:
        raise ValueError("k must be at least 1")
    if client is not None or url is not None:
        if not api_key:
            raise EvalError("an API key is needed to evaluate a running server (--api-key)")
        if client is not None:
            return await evaluate(
                dataset,
                client,
                api_key,
                modes=chosen,
                k=k,
                target="client",
                progress=progress,
                off_topic=off_topic,
            )
        assert url is not None
        async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) as remote:
            report = await evaluate(
                dataset,
                remote,
                api_key,
                modes=chosen,
                k=k,
                target=url,
                progress=progress,
                off_topic=off_topic,
            )
        report["note"] = "results include whatever the key's team already held on this server"
        return report
    async with fresh_service() as (local, key):
        return await evaluate(
            dataset,
            local,
            key,
            modes=chosen,
            k=k,
            target="fresh in-process service (temporary embedded PostgreSQL)",
            progress=progress,
            off_topic=off_topic,
        )


# --------------------------------------------------------------------------------------------
# Output and command line
# --------------------------------------------------------------------------------------------


def format_report(report: dict[str, Any]) -> str:
    rows = [("mode", "type", "R@5", "MRR@10", "nDCG@10", "n")]
    for mode, data in report["modes"].items():
        groups = [("overall", data["overall"]), *data["by_type"].items()]
        for number, (name, m) in enumerate(groups):
            rows.append(
                (
                    mode if number == 0 else "",
                    name,
                    f"{m['recall@5']:.3f}",
                    f"{m['mrr@10']:.3f}",
                    f"{m['ndcg@10']:.3f}",
                    str(m["n"]),
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    for mode, data in report["modes"].items():
        lat = data["latency"]
        lines.append(
            f"latency {mode:<6}  p50 {lat['p50_ms']:7.1f} ms  p95 {lat['p95_ms']:7.1f} ms  "
            f"(n={lat['n']}, client-side, after 1 warm-up)"
        )
    lines.append("")
    for mode, data in report["modes"].items():
        ab = data["abstention"]
        line = (
            f"abstain {mode:<6}  wrong {ab['wrong']}/{ab['questions']} "
            f"({ab['wrong_rate']:.1%}) of the dataset's questions"
        )
        if "off_topic" in ab:
            off = ab["off_topic"]
            line += (
                f"; noise on {off['noisy']}/{off['questions']} ({off['noise_rate']:.1%}) "
                "off-topic questions"
            )
        lines.append(line)
    load = report["load"]
    lines.append("")
    lines.append(
        f"target: {report['target']}; {load['handoffs']} handoffs -> {load['learnings']} "
        f"learnings in {load['seconds']:.1f} s ({load['duplicates']} already there); "
        f"k={report['k']}"
    )
    if report.get("note"):
        lines.append(f"note: {report['note']}")
    if report["unreachable"]:
        lines.append(
            "unreachable (relevant text in no stored learning): "
            + ", ".join(f"{q} ({len(v)})" for q, v in report["unreachable"].items())
        )
    if report["never_hit"]:
        lines.append("never hit in top 10 by any mode: " + ", ".join(report["never_hit"]))
    for where, secrets in report["secret_leaks"].items():
        lines.append(f"WARNING: dataset secrets found in {where}: {', '.join(secrets)}")
    return "\n".join(lines)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_cli(args: argparse.Namespace) -> int:
    """`memory-service eval`: 0 on success, 2 for bad arguments or a bad dataset, 1 when the
    service could not be evaluated."""
    try:
        load_dataset(args.dataset)  # fail fast, before any database starts
        off_topic = getattr(args, "off_topic", None)
        if off_topic:
            load_off_topic(off_topic)
        modes = check_modes(str(args.modes).split(","))
        if args.k < 1:
            raise ValueError("--k must be at least 1")
        if args.url and not args.api_key:
            raise ValueError("--url needs --api-key (a key with read and write scopes)")
        if args.api_key and not args.url:
            raise ValueError("--api-key only applies with --url")
    except (DatasetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(
            run_eval(
                args.dataset,
                url=args.url,
                api_key=args.api_key,
                modes=modes,
                k=args.k,
                progress=_progress,
                off_topic_path=off_topic,
            )
        )
    except EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_report(report), flush=True)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"full report: {out}", file=sys.stderr)
    return 0
