"""Search, near-duplicates, ranking, forgetting and the start-up brief, with the real model."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from memory_service.config import Settings
from memory_service.db import libpq_url
from memory_service.recall.stats import SearchStats
from tests.helpers import MakeKey, auth, post_handoff, write_handoff

DEV_SET = Path(__file__).resolve().parent / "data" / "dev_eval.json"
A = "github.com/acme/api"
B = "github.com/acme/web"


post = partial(write_handoff, recipient="main")


async def search(
    client: httpx.AsyncClient, key: str, query: str, **extra: Any
) -> list[dict[str, Any]]:
    response = await client.post("/v1/search", json={"query": query, **extra}, headers=auth(key))
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


@pytest.fixture
async def dev_key(client: httpx.AsyncClient, make_key: MakeKey) -> str:
    """A key whose team holds every dev-set handoff."""
    key = await make_key()
    for h in json.loads(DEV_SET.read_text())["handoffs"]:
        await post(
            client, key, h["project"], h["body"], recipient=h["worktree"], created_at=h["created"]
        )
    return key


async def test_each_mode_finds_the_relevant_learning(
    client: httpx.AsyncClient, dev_key: str
) -> None:
    question = "How do clients scroll back through a very long conversation without the database getting slower?"
    for mode in ("hybrid", "vector"):
        top = await search(
            client,
            dev_key,
            question,
            mode=mode,
            k=5,
            project="gitlab.com/kestrel-works/parley-chat",
            kinds=["decision"],
        )
        assert any("keyset pagination" in r["text"] for r in top), mode
    exact = await search(
        client, dev_key, "cannot reduce stream outside of transaction", mode="text", k=3
    )
    assert "Repo.stream/2" in exact[0]["text"]
    hybrid = await search(client, dev_key, "cannot reduce stream outside of transaction", k=3)
    assert "Repo.stream/2" in hybrid[0]["text"]
    result = hybrid[0]
    assert set(result) >= {
        "id",
        "kind",
        "text",
        "score",
        "project",
        "handoff_id",
        "created_at",
        "occurrences",
        "projects",
    }
    assert result["project"] == "gitlab.com/kestrel-works/parley-chat"
    assert result["kind"] == "mistake"


async def test_filters(client: httpx.AsyncClient, dev_key: str) -> None:
    query = "flaky tests that depend on time"
    only = await search(client, dev_key, query, project="github.com/quillpoint-ai/infer-gate", k=20)
    assert only and {r["project"] for r in only} == {"github.com/quillpoint-ai/infer-gate"}
    two = {"github.com/quillpoint-ai/infer-gate", "gitlab.com/kestrel-works/parley-chat"}
    both = await search(client, dev_key, query, projects=sorted(two), k=20)
    assert {r["project"] for r in both} <= two
    mistakes = await search(client, dev_key, query, kinds=["mistake"], k=20)
    assert mistakes and {r["kind"] for r in mistakes} == {"mistake"}
    recent = await search(client, dev_key, query, since="2026-02-15T00:00:00Z", k=20)
    assert recent and all(r["created_at"] >= "2026-02-15" for r in recent)
    none = await search(client, dev_key, query, project="github.com/no/such-project")
    assert none == []


async def test_off_topic_query_returns_little_or_nothing(
    client: httpx.AsyncClient, dev_key: str
) -> None:
    for query in ("recipe for sourdough bread with rye flour", "what is the capital of australia"):
        response = await client.post("/v1/search", json={"query": query}, headers=auth(dev_key))
        assert response.status_code == 200
        assert response.json() | {"intent": None} == {
            "results": [],
            "abstained": True,
            "intent": None,
        }
    on_topic = await client.post(
        "/v1/search",
        json={"query": "What went wrong with Room auto-migrations?"},
        headers=auth(dev_key),
    )
    body = on_topic.json()
    assert body["abstained"] is False and body["results"]
    assert body["intent"] == "pitfalls"


async def test_a_pitfall_question_ranks_the_mistake_above_an_equally_close_pattern(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key()
    await post(
        client,
        key,
        A,
        "## What NOT to do\n"
        "- Renaming the ledger export columns broke the finance team's spreadsheet import.\n"
        "\n## Pattern to Follow\n"
        "- Renaming the ledger export columns goes through a versioned export format.\n",
    )
    texts = {
        "mistake": "Renaming the ledger export columns broke",
        "pattern": "Renaming the ledger export columns goes through",
    }

    async def ranked(query: str) -> tuple[str, list[str], dict[str, float]]:
        response = await client.post("/v1/search", json={"query": query}, headers=auth(key))
        body = response.json()
        kinds = [r["kind"] for r in body["results"]]
        scores = {r["kind"]: r["score"] for r in body["results"]}
        assert set(kinds) == set(texts), body
        return body["intent"], kinds, scores

    intent, kinds, scores = await ranked(
        "Anything to avoid when renaming the ledger export columns?"
    )
    assert intent == "pitfalls" and kinds[0] == "mistake"
    # The same subject asked as a plain question ranks them by closeness alone: the pitfall
    # question's lead comes from the intent's weight (1.3 against 1 in recall/ranking.py).
    intent, _, plain = await ranked("renaming the ledger export columns")
    assert intent == "general"
    assert scores["mistake"] / scores["pattern"] > 1.15 * plain["mistake"] / plain["pattern"]


async def test_common_terms_narrow_the_text_lookup_but_lose_no_match(
    client: httpx.AsyncClient, make_key: MakeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a large table the full-text lookup skips terms found in many learnings (their
    share comes from PostgreSQL's statistics; here they are given). A learning holding all of
    a query's common terms is still found when its informative terms match nothing, and one
    found by an informative term still ranks by every term."""
    key = await make_key()
    await post(
        client,
        key,
        A,
        "## Decisions\n- The ledger reconciler runs before the payout batch every night.\n"
        "- Invoices are rendered by the zephyrine template engine.\n"
        "- The ledger export is gzip-compressed.",
    )

    async def common(self: SearchStats, session: object, *_: object) -> list[str]:
        return ["ledger", "payout", "batch"]

    monkeypatch.setattr(SearchStats, "common_terms", common)
    for mode in ("text", "hybrid"):
        # "quokka" (informative) matches nothing; "ledger payout" (common) holds the answer.
        found = await search(client, key, "ledger payout quokka", mode=mode, k=3)
        assert found and "reconciler" in found[0]["text"], (mode, found)
        rare = await search(client, key, "zephyrine template for the ledger", mode=mode, k=3)
        assert rare and "zephyrine" in rare[0]["text"], (mode, rare)


async def test_search_never_crosses_teams(
    client: httpx.AsyncClient, dev_key: str, make_key: MakeKey
) -> None:
    other = await make_key(team="other")
    assert await search(client, other, "keyset pagination") == []
    await post(client, other, A, "## Decisions\n- Room history uses keyset pagination.")
    results = await search(client, other, "keyset pagination", k=50)
    assert len(results) == 1


async def test_bad_search_requests(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    key = await make_key()
    for body in (
        {"query": ""},
        {"query": "x", "k": 0},
        {"query": "x", "k": 1000},
        {"query": "x", "mode": "magic"},
        {"query": "x", "kinds": ["wisdom"]},
        {"query": "x", "project": "../etc"},
        {"query": "x" * 5000},
    ):
        response = await client.post("/v1/search", json=body, headers=auth(key))
        assert response.status_code == 422, body
    tricky = await client.post(
        "/v1/search", json={"query": "a & b | !c :* ( ' \" \\"}, headers=auth(key)
    )
    assert tricky.status_code == 200


async def test_near_duplicates_merge_across_projects(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    key = await make_key()
    first = await post(
        client,
        key,
        A,
        "## What NOT to do\n- Don't run `alembic downgrade` on production; it drops the audit table.",
    )
    await post(
        client,
        key,
        B,
        "## Gotchas\n- Don't run `alembic downgrade` on production: it drops the audit table!",
    )
    await post(
        client,
        key,
        B,
        "## Mistakes to avoid\n- don't  run `alembic downgrade` on production; it drops the audit table.",
    )
    distinct = await post(
        client,
        key,
        B,
        "## What NOT to do\n- Don't run `alembic upgrade` inside a request handler; it deadlocks the pool.",
    )
    results = await search(client, key, "alembic downgrade production audit table", k=5)
    merged = [r for r in results if "downgrade" in r["text"]]
    assert len(merged) == 1
    assert merged[0]["occurrences"] == 3
    assert merged[0]["projects"] == [A, B]
    assert merged[0]["id"] == first["learnings"][0]["id"]
    assert any(r["id"] == distinct["learnings"][0]["id"] for r in results)

    # Deleting the canonical learning's handoff hands its role to a surviving copy.
    assert (
        await client.delete(f"/v1/handoffs/{first['id']}", headers=auth(key))
    ).status_code == 204
    after = [
        r
        for r in await search(client, key, "alembic downgrade production audit table")
        if "downgrade" in r["text"]
    ]
    assert len(after) == 1
    assert after[0]["occurrences"] == 2
    assert after[0]["projects"] == [B]


async def test_concurrent_repeats_are_all_counted(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    """Handoffs repeating the same stored learnings at the same moment, listed in different
    orders: every write succeeds and every repeat is counted once, none lost to a concurrent
    bump. (The rows are locked in id order so such writers wait instead of deadlocking; this
    test cannot force the interleaving that would deadlock without it.)"""
    key = await make_key()
    bullets = [
        "Don't bump the lockfile by hand; run `uv lock` so hashes stay consistent.",
        "Never point the staging worker at the production queue, even for a smoke test.",
        "Do not cache the feature-flag client per request; it opens a socket each time.",
        "Don't rename the `events` topic in place: consumers keep reading the old name.",
    ]
    await post(client, key, A, "## What NOT to do\n" + "".join(f"- {b}\n" for b in bullets))
    orders = [bullets, bullets[::-1], bullets[1:] + bullets[:1], bullets[2:] + bullets[:2]] * 2
    responses = await asyncio.gather(
        *[
            post_handoff(
                client,
                key,
                B,
                "## What NOT to do\n" + "".join(f"- {b}\n" for b in order),
                recipient=f"worker-{i}",
            )
            for i, order in enumerate(orders)
        ]
    )
    assert [r.status_code for r in responses] == [201] * len(orders), responses[0].text
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        rows = conn.execute(
            "SELECT text, occurrences FROM learnings WHERE canonical_id IS NULL ORDER BY text"
        ).fetchall()
    assert sorted(text for text, _ in rows) == sorted(bullets)
    assert {occurrences for _, occurrences in rows} == {1 + len(orders)}


async def test_a_new_bullet_written_concurrently_is_stored_once(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    """Eight handoffs carrying the same bullets that nobody has stored yet, written at the
    same moment (parallel agents finishing from one brief): each bullet ends up as one
    canonical learning counted eight times, not as several that search would show apart."""
    key = await make_key()
    bullets = [
        "Don't retry the payout webhook from the worker; the provider already retries it.",
        "Never run the backfill without `--dry-run` first: it rewrites ledger rows in place.",
        "Decision: keep the idempotency window at 24 h, matching the provider's replay window.",
    ]
    responses = await asyncio.gather(
        *[
            post_handoff(
                client,
                key,
                A if i % 2 else B,
                "## What NOT to do\n"
                + "".join(f"- {b}\n" for b in (bullets if i % 2 else bullets[::-1])),
                recipient=f"worker-{i}",
            )
            for i in range(8)
        ]
    )
    assert [r.status_code for r in responses] == [201] * 8, responses[0].text
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        rows = conn.execute(
            "SELECT text, occurrences FROM learnings WHERE canonical_id IS NULL ORDER BY text"
        ).fetchall()
    assert sorted(text for text, _ in rows) == sorted(bullets)
    assert {occurrences for _, occurrences in rows} == {8}


async def test_project_visibility_is_not_merged_into_team_knowledge(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key()
    text = "## Decisions\n- Feature flags are read from LaunchDarkly at startup only."
    await post(client, key, A, text, visibility="project")
    await post(client, key, B, text)
    team_wide = await search(client, key, "feature flags LaunchDarkly startup")
    assert [r["project"] for r in team_wide] == [B]
    scoped = await search(client, key, "feature flags LaunchDarkly startup", project=A)
    assert [r["project"] for r in scoped] == [A]


async def test_ranking_weighs_recency_per_kind_and_own_project(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key()
    query = "how does the deploy pipeline switch traffic"

    async def score_when(body: str, created_at: str, **extra: Any) -> float:
        created = await post(client, key, A, body, created_at=created_at)
        results = await search(client, key, query, mode="vector", **extra)
        await client.delete(f"/v1/handoffs/{created['id']}", headers=auth(key))
        return float(results[0]["score"])

    status = (
        "## Current State\n- The deploy pipeline uses blue-green switching on the load balancer."
    )
    mistake = "## Gotchas\n- The deploy pipeline uses blue-green switching on the load balancer."
    old, new = "2024-11-01T00:00:00Z", "2026-11-20T00:00:00Z"
    # Same text, same relevance: the recent one scores higher...
    assert await score_when(status, new) > await score_when(status, old)
    # ... and a status fades faster than a mistake to avoid.
    status_ratio = await score_when(status, old) / await score_when(status, new)
    mistake_ratio = await score_when(mistake, old) / await score_when(mistake, new)
    assert status_ratio < mistake_ratio < 1
    # The caller's own project ranks a little higher.
    plain = await score_when(mistake, new)
    preferred = await score_when(mistake, new, prefer_project=A)
    assert preferred == pytest.approx(plain * 1.1, rel=1e-3)


async def test_get_and_forget_learning(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings
) -> None:
    key = await make_key()
    created = await post(
        client, key, A, "## Gotchas\n- The CI cache key must include the lockfile hash."
    )
    await post(client, key, B, "## Gotchas\n- The CI cache key must include the lockfile hash.")
    learning_id = created["learnings"][0]["id"]
    got = (await client.get(f"/v1/learnings/{learning_id}", headers=auth(key))).json()
    assert (
        got["kind"] == "mistake"
        and got["project"] == A
        and got["embedding_model"] == "all-MiniLM-L6-v2"
    )
    assert got["occurrences"] == 2
    reader = await make_key(scopes="read")
    assert (
        await client.delete(f"/v1/learnings/{learning_id}", headers=auth(reader))
    ).status_code == 403
    forgotten = await client.delete(f"/v1/learnings/{learning_id}", headers=auth(key))
    assert forgotten.json() == {"deleted": 2}
    assert await search(client, key, "CI cache key lockfile hash") == []
    assert (await client.get(f"/v1/learnings/{learning_id}", headers=auth(key))).status_code == 404
    # The handoffs themselves stay.
    assert (await client.get(f"/v1/handoffs/{created['id']}", headers=auth(key))).status_code == 200


async def test_brief_claims_and_frames_learnings(
    client: httpx.AsyncClient, dev_key: str, embedder: Any
) -> None:
    project = "gitlab.com/kestrel-works/parley-chat"
    body = {
        "project": project,
        "worktree": "parley-chat",
        "branch": "main",
        "head": "0123456789ab",
        "task": "add result highlighting to the message search endpoint",
        "token_budget": 800,
    }
    response = await client.post("/v1/brief", json=body, headers=auth(dev_key))
    assert response.status_code == 200, response.text
    brief = response.json()
    markdown = brief["markdown"]
    assert brief["tokens"] <= 800
    assert embedder.count_tokens(markdown) == brief["tokens"]
    assert "not instructions" in markdown and "verify" in markdown
    assert len(brief["handoffs"]) == 4  # the dev set's unread handoffs for this worktree
    assert brief["handoffs"][0]["sentinel"] in markdown
    assert "**Drift:**" in markdown
    assert "to_tsquery" in markdown  # the key mistake, from a handoff or as a learning
    for learning in brief["learnings"]:
        assert (
            f"[{learning['kind']} · {learning['project']} · {learning['created_at'][:10]}"
            in markdown
        )
        assert learning["kind"] in {"mistake", "decision", "pattern", "assumption", "discovery"}
    # Claimed: the next brief delivers no handoff again.
    again = (await client.post("/v1/brief", json=body, headers=auth(dev_key))).json()
    assert again["handoffs"] == []
    assert again["learnings"]
    assert any("ts_headline" in x["text"] or "to_tsquery" in x["text"] for x in again["learnings"])


async def test_brief_respects_small_budgets_and_no_task(
    client: httpx.AsyncClient, dev_key: str, embedder: Any
) -> None:
    for budget in (100, 250):
        brief = (
            await client.post(
                "/v1/brief",
                json={
                    "project": "github.com/mossgrove-studio/lantern-drift",
                    "worktree": "lantern-drift",
                    "token_budget": budget,
                },
                headers=auth(dev_key),
            )
        ).json()
        assert brief["tokens"] <= budget
        assert embedder.count_tokens(brief["markdown"]) <= budget
    empty = await client.post(
        "/v1/brief", json={"project": "github.com/no/such", "worktree": "x"}, headers=auth(dev_key)
    )
    assert empty.status_code == 200
    assert empty.json()["handoffs"] == [] and empty.json()["learnings"] == []
    no_task = (
        await client.post(
            "/v1/brief",
            json={"project": "codeberg.org/fernhollow/basket-vue", "worktree": "nobody-here"},
            headers=auth(dev_key),
        )
    ).json()
    assert no_task["learnings"] and all(
        x["project"] == "codeberg.org/fernhollow/basket-vue" for x in no_task["learnings"]
    )
    assert {x["kind"] for x in no_task["learnings"]} <= {"mistake", "decision", "pattern"}


def _insert_random_learnings(url: str, projects: int, per_project: int, team: str = "bulk") -> None:
    """Many rows fast: random unit-ish vectors generated inside PostgreSQL."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            """
            WITH t AS (INSERT INTO teams (id, name) VALUES (gen_random_uuid(), %(team)s) RETURNING id),
            p AS (INSERT INTO projects (team_id, id, slug)
                  SELECT t.id, gen_random_uuid(), 'github.com/bulk/p' || g FROM t, generate_series(1, %(projects)s) g
                  RETURNING team_id, id),
            h AS (INSERT INTO handoffs (team_id, id, project_id, recipient, body, sentinel, content_hash, created_at)
                  SELECT team_id, gen_random_uuid(), id, 'w', 'b', 's', 'h', now() FROM p RETURNING team_id, id, project_id)
            INSERT INTO learnings (team_id, id, handoff_id, project_id, kind, text, position, content_hash,
                                   embedding, embedding_model, created_at)
            SELECT h.team_id, gen_random_uuid(), h.id, h.project_id, 'decision', 'bulk ' || g, g, md5(g::text),
                   (SELECT array_agg(random() - 0.5) FROM generate_series(1, 384) d WHERE g > -d)::vector,
                   'all-MiniLM-L6-v2', now()
              FROM h, generate_series(1, %(per)s) g
            """,
            {"projects": projects, "per": per_project, "team": team},
        )


@pytest.mark.slow
async def test_filtered_search_keeps_recall_at_20k(settings: Settings, embedder: Any) -> None:
    """20,000 learnings over 40 projects: a project-filtered search returns k results whose
    recall@10 against an exact scan is at least 0.95 (the HNSW index alone would lose most)."""
    import numpy as np

    from memory_service.auth.service import Principal
    from memory_service.db import create_engine, session_factory
    from memory_service.recall.ranking import Ranking
    from memory_service.recall.search import Query
    from memory_service.recall.search import search as run_search

    url = str(settings.database_url)
    _insert_random_learnings(url, 40, 500)
    with psycopg.connect(libpq_url(url)) as conn:
        team_id = conn.execute("SELECT id FROM teams WHERE name = 'bulk'").fetchone()[0]  # type: ignore[index]
    principal = Principal(
        team_id=team_id, key_id=team_id, prefix="x", scopes=frozenset({"read"}), projects=None
    )
    rng = np.random.default_rng(7)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    recalls = []
    try:
        for i in range(10):
            vector = rng.standard_normal(384)
            project = f"github.com/bulk/p{i * 4 + 1}"
            async with session_factory(engine)() as session, session.begin():
                got = await run_search(
                    session,
                    embedder,
                    principal,
                    Query(text="x", k=10, project=project, mode="vector"),
                    # Random vectors are all "off-topic": switch the relevance floor off.
                    Ranking(query_gate=-1, min_similarity=-1, relative_floor=0),
                    query_vector=vector,
                )
            assert len(got) == 10
            literal = "[" + ",".join(str(float(v)) for v in vector) + "]"
            with psycopg.connect(libpq_url(url)) as conn:
                exact = conn.execute(
                    """
                    SELECT l.id FROM learnings l JOIN projects p ON p.team_id = l.team_id AND p.id = l.project_id
                     WHERE p.slug = %s ORDER BY (l.embedding <=> %s::vector) + 0 LIMIT 10
                    """,
                    (project, literal),
                ).fetchall()
            recalls.append(len({r.id for r in got} & {row[0] for row in exact}) / 10)
    finally:
        await engine.dispose()
    assert sum(recalls) / len(recalls) >= 0.95


def _plan_nodes(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(node type, relation or index name) of every node of an EXPLAIN (FORMAT JSON) plan."""
    own = (plan["Node Type"], plan.get("Index Name") or plan.get("Relation Name") or "")
    return [own, *(n for child in plan.get("Plans", []) for n in _plan_nodes(child))]


@pytest.mark.slow
async def test_search_plans_fit_the_team_not_the_table(settings: Settings, embedder: Any) -> None:
    """The plans PostgreSQL picks for the search's statements: a small team inside a big table
    (and newer than its statistics) never reads the table sequentially, and a big team's
    vector leg walks the HNSW index. A plan made for the average team (as a forced generic plan
    would be) fails this; it was once a sequential scan costing 80-100 ms per search."""
    import numpy as np
    from sqlalchemy import event, text

    from memory_service.auth.service import Principal
    from memory_service.db import create_engine, session_factory
    from memory_service.recall.ranking import Ranking
    from memory_service.recall.search import Query
    from memory_service.recall.search import search as run_search
    from memory_service.tenancy import APP_ROLE, scope_to_team
    from memory_service.vectors import register

    url = str(settings.database_url)
    _insert_random_learnings(url, 20, 1000, team="big")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    _insert_random_learnings(url, 2, 60, team="small")  # after ANALYZE: unknown to the planner
    with psycopg.connect(libpq_url(url)) as conn:
        teams = dict(conn.execute("SELECT name, id FROM teams").fetchall())  # type: ignore[arg-type]

    engine = create_engine(url, pool_size=1, max_overflow=0, role=APP_ROLE)
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    vector = np.random.default_rng(3).standard_normal(384).astype(np.float32)

    async def search_as(
        team: str, mode: str, project: str | None, stats: SearchStats | None = None
    ) -> list[Any]:
        """One search of `team` in its own transaction, as a request runs it."""
        principal = Principal(teams[team], teams[team], "x", frozenset({"read"}), None)
        async with session_factory(engine)() as session:
            scope_to_team(session, principal.team_id)
            async with session.begin():
                found = await run_search(
                    session,
                    embedder,
                    principal,
                    Query(text="bulk 7", k=10, project=project, mode=mode),
                    Ranking(query_gate=-1, min_similarity=-1, relative_floor=0),
                    query_vector=vector,
                    stats=stats,
                )
                await session.execute(text("SELECT pg_stat_force_next_flush()"))
        return found

    plans: dict[tuple[str, str, str | None], list[tuple[str, str]]] = {}
    try:
        for team in ("small", "big"):
            for mode in ("hybrid", "vector", "text"):
                for project in (None, "github.com/bulk/p1"):
                    sent.clear()
                    assert await search_as(team, mode, project), (team, mode, project)
                    with psycopg.connect(libpq_url(url), options=f"-c role={APP_ROLE}") as conn:
                        register(conn)
                        with conn.transaction():
                            nodes: list[tuple[str, str]] = []
                            for sql, params in sent:
                                if "pg_stat_force_next_flush" in sql:
                                    continue
                                if "set_config" in sql:
                                    conn.execute(sql, params)
                                    continue
                                row = conn.execute(
                                    "EXPLAIN (FORMAT JSON) " + sql, params or None
                                ).fetchone()
                                assert row is not None
                                if team == "small" or sql.lstrip().startswith("WITH"):
                                    # The big team's row count reads all its rows: fine.
                                    nodes += _plan_nodes(row[0][0]["Plan"])
                    plans[(team, mode, project)] = nodes

        # As the service runs them: the same statements again and again on one connection,
        # which psycopg prepares after five runs and PostgreSQL may then plan once for every
        # team. The small team's searches must still read no table sequentially.
        def seq_tuples_read() -> int:
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                row = conn.execute(
                    "SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = 'learnings'"
                ).fetchone()
                assert row is not None
                return int(row[0])

        stats = SearchStats()  # the row counts cached, as in the service
        for mode in ("hybrid", "vector", "text"):
            for project in (None, "github.com/bulk/p1"):
                for _ in range(8):
                    await search_as("big", mode, project, stats)
                before = seq_tuples_read()
                for _ in range(8):
                    await search_as("small", mode, project, stats)
                assert seq_tuples_read() == before, (mode, project)
    finally:
        await engine.dispose()

    for (team, mode, project), nodes in plans.items():
        assert ("Seq Scan", "learnings") not in nodes, (team, mode, project, nodes)
        hnsw = ("Index Scan", "ix_learnings_embedding_hnsw") in nodes
        if team == "small" or mode == "text":
            # 120 rows (60 behind the project filter) are scanned exactly: recall 1.0.
            assert not hnsw, (team, mode, project)
        elif project is None:
            assert hnsw, (team, mode, project, nodes)
