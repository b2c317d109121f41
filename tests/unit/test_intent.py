"""Reading a query's intent and focus (memory_service/recall/intent.py). The phrasings are
written for these tests, not taken from the evaluation sets."""

from __future__ import annotations

import pytest

from memory_service.recall.intent import classify, read_query
from memory_service.vocabulary import Intent


@pytest.mark.parametrize(
    "query",
    [
        "what went wrong the last time we rotated the TLS certificates?",
        "Anything to avoid when bumping the ORM version?",
        "what broke after the switch to HTTP/2",
        "gotchas with the payment sandbox",
        "What surprised us about the CDN cache invalidation?",
        "Before I rewrite the importer: which mistakes did the last attempt make?",
        "pitfalls of running migrations during business hours",
        "what tripped us up with daylight saving time",
        "Is there anything I should watch out for in the billing cron?",
    ],
)
def test_pitfall_questions(query: str) -> None:
    assert classify(query) is Intent.pitfalls


@pytest.mark.parametrize(
    "query",
    [
        "How do we name feature branches?",
        "how should I structure a new API handler",
        "What is our convention for log levels?",
        "what rules do we have for database transactions in handlers",
        "our policy on third-party fonts",
        "How are background jobs handled in this repo?",
        "Is it safe to edit generated files by hand?",
    ],
)
def test_practice_questions(query: str) -> None:
    assert classify(query) is Intent.practice


@pytest.mark.parametrize(
    "query",
    [
        "What is still open on the invoice export?",
        "which tickets are blocked",
        "next steps for the search relevance work",
        "what's left to do before the beta",
        "where did we leave the billing refactor",
        "current status of the mobile release",
    ],
)
def test_open_work_questions(query: str) -> None:
    assert classify(query) is Intent.open_work


@pytest.mark.parametrize(
    "query",
    [
        "Task: add CSV export to the reports page",
        "Task for this session: speed up the login endpoint",
        "Next task - migrate the settings screen to the new design system",
        "This session: port the image resizer to the worker pool",
        "Starting work on two-factor authentication",
        "Picking up the flaky upload test",
        "Implement rate limiting for the public API",
        "Add dark mode to the dashboard",
        "I'm about to refactor the queue consumer",
    ],
)
def test_task_statements(query: str) -> None:
    assert classify(query) is Intent.task


@pytest.mark.parametrize(
    "query",
    [
        "connection reset by peer",
        "KeyError: 'tenant_id'",
        "why is the nightly report empty on Mondays",
        "Which cache does the session store use?",
        "image thumbnails look blurry on retina screens",
        "MAX_UPLOAD_BYTES",
    ],
)
def test_everything_else_is_general(query: str) -> None:
    assert classify(query) is Intent.general


def test_a_pitfall_question_about_a_task_is_a_pitfall_question() -> None:
    assert classify("Before I deploy the gateway, what broke last time?") is Intent.pitfalls
    assert classify("Next task: upgrade the queue. Anything to avoid?") is Intent.pitfalls


def test_the_focus_drops_what_only_asks_for_a_kind_of_answer() -> None:
    assert (
        read_query("Before I upgrade the search cluster, what went wrong last time?").focus
        == "Before I upgrade the search cluster"
    )
    assert (
        read_query("Exports time out for large tenants. How was that solved?").focus
        == "Exports time out for large tenants."
    )
    assert (
        read_query("The worker leaks memory overnight. What code change caused it?").focus
        == "The worker leaks memory overnight."
    )


def test_a_task_statement_is_kept_whole() -> None:
    query = "Task for this session: cache the price lookups. What should I know first?"
    read = read_query(query)
    assert read.intent is Intent.task and read.focus == query


def test_the_focus_keeps_identifiers_and_numbers_whole() -> None:
    for query in (
        "pnpm@8.15.4 lockfile",
        "config/app.yaml ignored",
        "v2.3.1",
        "what is 42?",
        "ERR_SSL_PROTOCOL_ERROR",
    ):
        assert read_query(query).focus == query


def test_a_query_of_filler_alone_is_kept_as_it_is() -> None:
    for query in ("what went wrong?", "What should I know before starting?", "  "):
        assert read_query(query).focus == query.strip()


def test_names_are_what_a_query_mentions_by_name() -> None:
    assert read_query("how do we configure Kafka consumer groups").names == ("Kafka",)
    assert read_query("what broke in the iOS widget extension").names == ("iOS",)
    assert read_query("Next.js middleware redirect loop").names == ("Next.js",)
    assert read_query("config/app.yaml ignored after deploy").names == ("config/app.yaml",)
    # The first word of a sentence, the pronoun and plain words are not names.
    assert read_query("Should I cache the price lookups? Maybe not.").names == ()
    assert read_query("the SAML login fails for Okta users").names == ("SAML", "Okta")
