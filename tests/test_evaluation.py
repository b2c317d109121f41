"""The retrieval evaluator: metric functions on hand-computed rankings, dataset validation, the
CLI's exit codes, and one end-to-end run against the real app, database and model."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_service.cli import main as cli_main
from memory_service.evaluation import (
    MODES,
    DatasetError,
    first_relevant_rank,
    format_report,
    handoff_request,
    load_dataset,
    load_off_topic,
    ndcg_at,
    parse_dataset,
    percentile,
    recall_at,
    reciprocal_rank,
    run_eval,
    score_query,
    search_request,
)
from tests.helpers import MakeKey

DATA = Path(__file__).resolve().parent / "data"


def dcg(*ranks: int) -> float:
    return sum(1 / math.log2(r + 1) for r in ranks)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def test_perfect_ranking() -> None:
    texts = ["- uses alpha here", "beta is the answer", "noise", "more noise"]
    relevant = ["alpha", "beta"]
    assert recall_at(texts, relevant) == 1.0
    assert reciprocal_rank(texts, relevant) == 1.0
    assert ndcg_at(texts, relevant) == pytest.approx(1.0)
    assert first_relevant_rank(texts, relevant) == 1


def test_relevant_at_rank_three() -> None:
    texts = ["noise one", "noise two", "the alpha bullet", "noise four"]
    assert reciprocal_rank(texts, ["alpha"]) == pytest.approx(1 / 3)
    assert first_relevant_rank(texts, ["alpha"]) == 3
    assert recall_at(texts, ["alpha"]) == 1.0
    assert ndcg_at(texts, ["alpha"]) == pytest.approx(dcg(3) / dcg(1))  # 0.5


def test_recall_counts_substrings_not_results_and_stops_at_five() -> None:
    texts = ["alpha", "n", "n", "n", "n", "beta at rank six"]
    assert recall_at(texts, ["alpha", "beta"]) == 0.5
    assert recall_at(texts, ["alpha", "beta"], depth=6) == 1.0
    # Two relevant substrings in one result: both found.
    assert recall_at(["alpha and beta"], ["alpha", "beta", "gamma"]) == pytest.approx(2 / 3)


def test_duplicates_are_not_double_credited() -> None:
    # The same relevant bullet twice (e.g. stored from two handoffs) gains only once.
    texts = ["alpha bullet", "alpha bullet again", "beta bullet"]
    relevant = ["alpha", "beta"]
    assert ndcg_at(texts, relevant) == pytest.approx(dcg(1, 3) / dcg(1, 2))
    assert recall_at(texts, relevant) == 1.0
    assert reciprocal_rank(texts, relevant) == 1.0
    # A repeated substring in the dataset's list counts once.
    assert recall_at(["alpha"], ["alpha", "alpha"]) == 1.0
    assert ndcg_at(["alpha"], ["alpha", "alpha"]) == pytest.approx(1.0)


def test_one_result_holding_two_substrings_gains_once() -> None:
    texts = ["alpha and beta together", "noise"]
    assert ndcg_at(texts, ["alpha", "beta"]) == pytest.approx(dcg(1) / dcg(1, 2))


def test_no_hits() -> None:
    texts = ["noise"] * 10
    assert recall_at(texts, ["alpha"]) == 0.0
    assert reciprocal_rank(texts, ["alpha"]) == 0.0
    assert ndcg_at(texts, ["alpha"]) == 0.0
    assert first_relevant_rank(texts, ["alpha"]) is None
    assert recall_at([], ["alpha"]) == 0.0
    assert ndcg_at([], ["alpha"]) == 0.0


def test_rank_metrics_stop_at_ten() -> None:
    texts = ["noise"] * 10 + ["alpha"]
    assert reciprocal_rank(texts, ["alpha"]) == 0.0
    assert ndcg_at(texts, ["alpha"]) == 0.0


def test_ideal_dcg_is_capped_at_ten() -> None:
    relevant = [f"r{i:02d}" for i in range(12)]
    assert ndcg_at(relevant[:10], relevant) == pytest.approx(1.0)


def test_matching_is_verbatim() -> None:
    assert reciprocal_rank(["Alpha"], ["alpha"]) == 0.0


def test_score_query_reports_found_and_missing() -> None:
    score = score_query(["noise", "has beta", "has alpha"], ["alpha", "beta", "gamma"])
    assert score.first_rank == 2
    assert score.found == ["alpha", "beta"]
    assert score.missing == ["gamma"]
    assert score.mrr == 0.5
    assert score.recall == pytest.approx(2 / 3)


def test_percentile() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))


# --------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------


def tiny_dataset() -> dict[str, Any]:
    return {
        "version": 1,
        "handoffs": [
            {
                "id": "t1",
                "project": "github.com/acme/billing",
                "worktree": "billing",
                "recipient": "next agent on billing",
                "sender": "claude-code (session 2)",
                "tool": "claude-code",
                "branch": "feat/invoices",
                "head": "9e3b43ec0b66ab9c231122757aa573d80c0526a8",
                "created": "2026-01-10T09:00:00Z",
                "body": "## Decisions\n"
                "- Invoice totals are stored as integer cents; floats lost a cent on "
                "three-way splits.\n"
                "- PDF rendering moved to a background worker so checkout stays under 300 ms.\n"
                "\n## What NOT to do\n"
                "- Do not retry Stripe webhooks inline; the handler timed out and Stripe "
                "sent every event twice.\n",
            },
            {
                "id": "t2",
                "project": "github.com/acme/mobile",
                "worktree": "mobile",
                "recipient": "mobile",
                "sender": "codex",
                "tool": "codex",
                "branch": "main",
                "head": "1111111",
                "created": "2026-01-11T10:00:00+00:00",
                "body": "## Gotchas\n"
                "- `FlatList` re-renders every row when `keyExtractor` returns the array "
                "index; key rows by `item.uuid`.\n"
                "\n## Patterns\n"
                "- Screens fetch through `useQuery` hooks, never from `useEffect`.\n",
            },
            {
                "id": "t3",
                "project": "github.com/acme/infra",
                "worktree": "infra",
                "recipient": None,
                "sender": "cursor",
                "tool": "cursor",
                "branch": None,
                "head": None,
                "created": None,
                "body": "## Root cause\n"
                "- The nightly backup failed because the disk of the database host was full "
                "of old WAL segments.\n"
                "\n## Next Steps\n"
                "- Add an alert when free disk space on db hosts drops below 15 percent.\n",
            },
        ],
        "secrets": ["sk-fakeTESTsecret0123456789abcdef"],
        "queries": [
            {
                "id": "e1",
                "query": "How should money amounts be stored to avoid rounding errors?",
                "project": "github.com/acme/billing",
                "kinds": None,
                "relevant": ["Invoice totals are stored as integer cents"],
                "type": "paraphrase",
            },
            {
                "id": "e2",
                "query": "keyExtractor FlatList",
                "project": None,
                "kinds": ["mistake"],
                "relevant": ["`FlatList` re-renders every row"],
                "type": "identifier",
            },
            {
                "id": "e3",
                "query": "Why did the database backup job fail?",
                "project": None,
                "kinds": None,
                "relevant": ["nightly backup failed because the disk"],
                "type": "cross_project",
            },
        ],
    }


def write(tmp_path: Path, data: Any, name: str = "set.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_valid_dataset_loads(tmp_path: Path) -> None:
    dataset = load_dataset(write(tmp_path, tiny_dataset()))
    assert [h.id for h in dataset.handoffs] == ["t1", "t2", "t3"]
    assert dataset.types() == ["paraphrase", "identifier", "cross_project"]


def test_dev_set_is_valid() -> None:
    dataset = load_dataset(DATA / "dev_eval.json")
    assert len(dataset.queries) > 0
    # The second set asks other questions of the same handoffs.
    extra = load_dataset(DATA / "dev_eval_extra.json")
    assert extra.handoffs == dataset.handoffs and len(extra.queries) >= 24


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="dataset file not found"):
        load_dataset(tmp_path / "nope.json")


def test_not_json(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"not valid JSON: .* line 1, column"):
        load_dataset(write(tmp_path, '{"version": 1,'))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(version=2), r"version: Input should be 1"),
        (lambda d: d.pop("queries"), r"queries: Field required"),
        (lambda d: d.update(queries=[]), r"queries: List should have at least 1 item"),
        (lambda d: d["queries"][1].update(relevant=[]), r"queries\[1\] \(e2\)\.relevant"),
        (lambda d: d["queries"][2].update(relevant=[""]), r"must not contain empty strings"),
        (lambda d: d["queries"][0].pop("type"), r"queries\[0\] \(e1\)\.type: Field required"),
        (lambda d: d["queries"][0].update(kinds="mistake"), r"\(e1\)\.kinds"),
        (lambda d: d["handoffs"][0].pop("body"), r"handoffs\[0\] \(t1\)\.body: Field required"),
        (lambda d: d["handoffs"][1].update(created="yesterday"), r"not an ISO 8601 datetime"),
        (lambda d: d["handoffs"][2].update(id="t1"), r"duplicate handoff ids: t1"),
        (lambda d: d["queries"][2].update(id="e1"), r"duplicate query ids: e1"),
    ],
)
def test_malformed_dataset(mutate: Any, expected: str) -> None:
    data = tiny_dataset()
    mutate(data)
    with pytest.raises(DatasetError, match=expected):
        parse_dataset(data)


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(DatasetError, match="top level must be a JSON object"):
        parse_dataset([1, 2])


def test_requests_follow_the_contract(tmp_path: Path) -> None:
    dataset = load_dataset(write(tmp_path, tiny_dataset()))
    first = handoff_request(dataset.handoffs[0])
    assert first["recipient"] == "billing"  # the worktree, not the free-prose recipient
    assert first["created_at"] == "2026-01-10T09:00:00Z"
    assert first["sender"] == "claude-code (session 2)"
    third = handoff_request(dataset.handoffs[2])
    assert "branch" not in third and "created_at" not in third
    assert search_request(dataset.queries[0], "vector", 10) == {
        "query": dataset.queries[0].query,
        "k": 10,
        "mode": "vector",
        "project": "github.com/acme/billing",
    }
    assert search_request(dataset.queries[1], "text", 10)["kinds"] == ["mistake"]
    assert "project" not in search_request(dataset.queries[1], "text", 10)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def test_cli_missing_dataset_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["eval", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "dataset file not found" in err
    assert "Traceback" not in err


def test_cli_malformed_dataset_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tiny_dataset()
    del data["queries"][0]["relevant"]
    assert cli_main(["eval", str(write(tmp_path, data))]) == 2
    assert "queries[0] (e1).relevant: Field required" in capsys.readouterr().err


def test_cli_rejects_unknown_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, tiny_dataset())
    assert cli_main(["eval", str(path), "--modes", "vector,bm25"]) == 2
    assert "unknown search mode(s): bm25" in capsys.readouterr().err


def test_cli_refuses_a_malformed_off_topic_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, tiny_dataset())
    off = write(tmp_path, {"version": 1, "queries": [{"id": "o1"}]}, "off.json")
    assert cli_main(["eval", str(path), "--off-topic", str(off)]) == 2
    assert "queries[0] (o1).query: Field required" in capsys.readouterr().err
    doubles = {"version": 1, "queries": [{"id": "o", "query": "a"}, {"id": "o", "query": "b"}]}
    assert (
        cli_main(["eval", str(path), "--off-topic", str(write(tmp_path, doubles, "o2.json"))]) == 2
    )
    assert "duplicate question ids: o" in capsys.readouterr().err


def test_shipped_off_topic_set_is_valid() -> None:
    questions = load_off_topic(DATA / "off_topic.json").queries
    assert len(questions) >= 60


def test_cli_url_needs_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, tiny_dataset())
    assert cli_main(["eval", str(path), "--url", "http://127.0.0.1:9"]) == 2
    assert "--url needs --api-key" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# End to end: the real app, database and model
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_run_eval_end_to_end(
    tmp_path: Path, client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key("alpha", "read,write")
    path = write(tmp_path, tiny_dataset())
    report = await run_eval(path, url=None, api_key=key, modes=list(MODES), k=10, client=client)

    assert set(report["modes"]) == set(MODES)
    for mode in MODES:
        data = report["modes"][mode]
        assert set(data["by_type"]) == {"paraphrase", "identifier", "cross_project"}
        assert data["overall"]["n"] == 3
        assert data["latency"]["n"] == 3
        assert {q["id"] for q in data["queries"]} == {"e1", "e2", "e3"}
    assert report["modes"]["vector"]["overall"]["recall@5"] > 0
    assert report["load"]["handoffs"] == 3
    assert report["unreachable"] == {}
    assert report["secret_leaks"] == {}
    table = format_report(report)
    for mode in MODES:
        assert f"latency {mode}" in table

    # Every dataset question has relevant learnings: none may be abstained on here.
    assert report["modes"]["hybrid"]["abstention"]["wrong"] == 0

    # A rerun against the same server stores nothing twice (Idempotency-Key eval-<id>).
    again = await run_eval(path, api_key=key, modes=["vector"], client=client)
    assert again["load"]["duplicates"] == 3


@pytest.mark.slow
async def test_off_topic_questions_are_counted_as_noise_or_abstentions(
    tmp_path: Path, client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key("alpha", "read,write")
    path = write(tmp_path, tiny_dataset())
    off = {
        "version": 1,
        "queries": [
            {"id": "o1", "query": "recipe for sourdough bread with rye flour"},
            {"id": "o2", "query": "what is the capital of australia"},
            # Not off-topic at all: the evaluator must count it as noise.
            {"id": "o3", "query": "integer cents for invoice totals"},
        ],
    }
    report = await run_eval(
        path,
        api_key=key,
        modes=["hybrid", "text"],
        client=client,
        off_topic_path=write(tmp_path, off, "off.json"),
    )
    hybrid = report["modes"]["hybrid"]["abstention"]
    assert hybrid["wrong"] == 0 and hybrid["questions"] == 3
    assert hybrid["off_topic"]["noisy_ids"].keys() == {"o3"}
    assert hybrid["off_topic"]["noise_rate"] == pytest.approx(1 / 3)
    assert {q["intent"] for q in report["modes"]["hybrid"]["queries"]} <= {
        "pitfalls",
        "practice",
        "open_work",
        "task",
        "general",
    }
    assert "noise on 1/3 (33.3%) off-topic questions" in format_report(report)
