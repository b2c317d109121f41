"""`memory import --from claude-code|codex|agents-md`: an agent's own memory, written here as
the tools write it (Claude Code's auto memory with its MEMORY.md index and typed topic files,
Codex's MEMORY.md task groups, CLAUDE.md / AGENTS.md), imported into the real server as
learnings of the right project and kind, with "imported from <tool>" provenance, once."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
from memory_client import MemoryClient
from memory_client.agent_memory import blocks, decode_folder, kind_of
from memory_client.integrations import codex as codex_install

from tests.clients.helpers import make_repo, run_memory
from tests.helpers import PROJECT


def folder_name(path: Path) -> str:
    """Claude Code's project folder name: the path, every non-alphanumeric character a `-`."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(path))


INDEX = """# Memory index

- [Real database in tests](feedback_real_db.md) — integration tests hit Postgres, never mocks
- [Merge freeze](project_merge_freeze.md) — non-critical merges frozen from 2026-03-05
- [Who I work with](user_role.md) — senior Go dev, new to the React side

## Build notes
- `make test-fast` skips the slow embedding tests; CI always runs the full suite.
"""
TOPICS = {
    "feedback_real_db.md": """---
name: Real database in tests
description: integration tests must hit a real Postgres, not mocks
type: feedback
---
Integration tests must hit a real Postgres database, not mocks.

**Why:** last quarter the mocked tests passed while the prod migration failed.
**How to apply:** use the `pg` fixture in tests/conftest.py for anything touching SQL.
""",
    "feedback_no_summary.md": """---
name: No trailing summaries
description: don't end replies with a summary of the diff
type: feedback
---
Don't end a reply with a summary of what was changed; the user reads the diff.
""",
    "project_merge_freeze.md": """---
name: Merge freeze
description: merge freeze for the mobile release cut
type: project
---
Non-critical merges are frozen from 2026-03-05 while mobile cuts the release branch.
""",
    "project_auth.md": """---
name: Auth rewrite reason
description: why the auth middleware is being rewritten
type: project
---
We decided to rewrite the auth middleware because legal flagged how session tokens are
stored; it is a compliance change, not tech debt.
""",
    "user_role.md": """---
name: Who I work with
description: the user's background
type: user
---
Senior Go developer, new to the React half of this repository.
""",
    "reference_dashboard.md": """---
name: Latency dashboard
type: reference
---
grafana.internal/d/api-latency is the on-call latency dashboard; check it when editing
request handling.
""",
    # Topic files as the docs show them, without front matter: read by their headings.
    "debugging.md": "# Debugging\n\n- CORS errors in local dev come from the Vite proxy, not "
    "the backend.\n",
    "api-conventions.md": '# API conventions\n\n- Errors are returned as `{"error": {"code", '
    '"message"}}` with a 4xx status.\n',
    # Unreadable front matter: reported, the rest still imported.
    "feedback_broken.md": "---\nname: [broken\ntype: feedback\n---\nKeep it.\n",
}


def claude_memory(home: Path, folder: str, files: dict[str, str]) -> Path:
    memory = home / ".claude" / "projects" / folder / "memory"
    memory.mkdir(parents=True)
    for name, text in files.items():
        (memory / name).write_text(text)
    return memory


def imported(server_url: str, key: str, report: dict[str, object]) -> dict[str, tuple[str, str]]:
    """text -> (kind, id) of every learning the import's handoffs hold."""
    out: dict[str, tuple[str, str]] = {}
    with MemoryClient(server_url, key) as client:
        for item in report["items"]:  # type: ignore[attr-defined]
            for handoff_id in item["handoff_ids"]:
                for learning in client.get_handoff(handoff_id).learnings:
                    out[learning.text] = (learning.kind, str(learning.id))
    return out


def test_claude_code_auto_memory(
    tmp_path: Path, home: Path, repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    key = cli_env["MEMORY_API_KEY"]
    memory = claude_memory(home, folder_name(repo), {"MEMORY.md": INDEX, **TOPICS})
    # A folder whose repository is not on this machine: reported, not guessed.
    claude_memory(
        home, "-home-someone-old-app", {"feedback_x.md": TOPICS["feedback_no_summary.md"]}
    )
    # A folder that does not decode to a path, mapped by its sessions' recorded `cwd`.
    gadgets = make_repo(tmp_path / "co" / "gadgets", remote="https://github.com/acme/gadgets")
    (gadgets / "src").mkdir()
    sessions = home / ".claude" / "projects" / "-renamed-gadgets"
    claude_memory(home, "-renamed-gadgets", {"project_ship.md": TOPICS["project_auth.md"]})
    (sessions / "0c5a.jsonl").write_text(
        json.dumps({"type": "summary"}) + "\n" + json.dumps({"cwd": str(gadgets / "src")}) + "\n"
    )

    done = run_memory("import", "--from", "claude-code", "--json", cwd=tmp_path, env=cli_env)
    report = json.loads(done.stdout)
    assert done.returncode == 1, done.stderr  # the unmapped folder and the broken file
    by_file = {Path(i["where"]).name: i for i in report["items"]}
    assert by_file["feedback_x.md"]["result"] == "unmapped"
    assert "--map='-home-someone-old-app=SLUG'" in by_file["feedback_x.md"]["message"]
    assert by_file["feedback_broken.md"]["result"] == "failed"
    assert "front matter" in by_file["feedback_broken.md"]["message"]
    assert by_file["user_role.md"]["result"] == "skipped"  # the person, not the project
    assert by_file["project_ship.md"]["project"] == "github.com/acme/gadgets"
    assert (report["learnings"], report["flagged"]) == (9, 0), report

    learnings = imported(server_url, key, report)
    kinds = {text: kind for text, (kind, _) in learnings.items()}
    assert kinds == {
        "`make test-fast` skips the slow embedding tests; CI always runs the full suite.": (
            "pattern"
        ),
        "Integration tests must hit a real Postgres database, not mocks. Why: last quarter the "
        "mocked tests passed while the prod migration failed. How to apply: use the `pg` fixture "
        "in tests/conftest.py for anything touching SQL.": "pattern",
        "Don't end a reply with a summary of what was changed; the user reads the diff.": (
            "mistake"
        ),
        "Non-critical merges are frozen from 2026-03-05 while mobile cuts the release branch.": (
            "note"
        ),
        "We decided to rewrite the auth middleware because legal flagged how session tokens are "
        "stored; it is a compliance change, not tech debt.": "decision",
        "grafana.internal/d/api-latency is the on-call latency dashboard; check it when editing "
        "request handling.": "note",
        "CORS errors in local dev come from the Vite proxy, not the backend.": "discovery",
        'Errors are returned as `{"error": {"code", "message"}}` with a 4xx status.': "pattern",
    }  # the index lines, the user profile and the broken file are not learnings

    # Provenance: the REST API and the client both say where it came from.
    _, learning_id = learnings[
        "Don't end a reply with a summary of what was changed; the user reads the diff."
    ]
    raw = httpx.get(
        f"{server_url}/v1/learnings/{learning_id}", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert (raw["project"], raw["imported_from"]) == (PROJECT, "claude-code")
    with MemoryClient(server_url, key) as client:
        shown = client.get_learning(learning_id)
        assert shown.imported_from == "claude-code"
        assert shown.section == "Mistakes: No trailing summaries"  # the memory's name
        # Archived: never delivered to a session, in any inbox.
        handoffs = list(client.iter_handoffs(project=PROJECT))
        assert {h.status for h in handoffs} == {"read"}
        assert client.peek_inbox(PROJECT, "memory-import").handoffs == []
        [one] = [h for h in handoffs if h.topic and h.topic.endswith("/feedback_real_db.md")]
        origin = client.get_handoff(one.id).front_matter
        assert origin["imported_from"] == "claude-code"
        assert (
            origin["source"] == f"~/.claude/projects/{folder_name(repo)}/memory/feedback_real_db.md"
        )
        # A learning written as a handoff says nothing of the kind.
        written = client.create_handoff(
            PROJECT, "## Decisions\n- Widgets ship weekly.\n", recipient="widgets"
        )
        assert client.get_learning(written.learnings[0].id).imported_from is None

    # Again: nothing stored twice.
    again = json.loads(
        run_memory("import", "--from", "claude-code", "--json", cwd=tmp_path, env=cli_env).stdout
    )
    assert (again["learnings"], again["imported"]) == (0, 0), again

    # An edited index adds only its new entry; an edited memory only its new text.
    (memory / "MEMORY.md").write_text(INDEX + "- Run `make db` once before the first test run.\n")
    reworded = TOPICS["feedback_no_summary.md"].replace("the user reads", "they read")
    (memory / "feedback_no_summary.md").write_text(reworded)
    third = json.loads(
        run_memory(
            "import",
            "--from",
            "claude-code",
            str(memory.parent),  # one project's folder
            "--json",
            cwd=tmp_path,
            env=cli_env,
        ).stdout
    )
    assert third["learnings"] == 2, third
    added = {Path(i["where"]).name: i for i in third["items"] if i["stored"]}
    assert set(added) == {"MEMORY.md", "feedback_no_summary.md"}
    assert (added["MEMORY.md"]["stored"], added["MEMORY.md"]["already"]) == (1, 1)
    # One memory, one file: its new text replaces the old one (superseded, not deleted).
    assert added["feedback_no_summary.md"]["superseded"] == 1
    with MemoryClient(server_url, key) as client:
        [new_id] = [
            str(x.id)
            for x in client.get_handoff(added["feedback_no_summary.md"]["handoff_ids"][0]).learnings
        ]
        assert client.get_learning(learning_id).superseded_by == uuid.UUID(new_id)

    # The unmapped folder, mapped by the user.
    mapped = run_memory(
        "import",
        "--from",
        "claude-code",
        "--map=-home-someone-old-app=github.com/acme/old-app",  # as the report says
        "--json",
        cwd=tmp_path,
        env=cli_env,
    )
    last = json.loads(mapped.stdout)
    assert last["unmapped"] == 0 and last["learnings"] == 1, last
    with MemoryClient(server_url, key) as client:
        [old] = client.list_handoffs(project="github.com/acme/old-app").items
        assert old.status == "read"


CLAUDE_MD = """# CLAUDE.md

This file gives guidance to Claude Code when working in this repository.

@docs/architecture.md

## Commands
- `make test` runs the unit and integration suites (needs Docker).
- Run `make lint` before every commit.

```bash
make test
```

## Code style
- Use pnpm, not npm.
- Never commit generated files under `gen/`.
- Prefer small pure functions; keep I/O at the edges:
  - parse in `src/api/io.py`
  - compute in `src/api/core.py`

## Setup
- Install the toolchain with `curl -fsSL https://get.acme.dev/install.sh | sh` before anything.

## Architecture
The API server lives in `src/api/`, the React app in `web/`.

We chose SQLite for the local cache instead of Redis to keep setup to one binary.

| Service | Port |
| --- | --- |
| api | 8080 |

## Gotchas
- The payment sandbox rejects amounts under 50 cents.
"""
AGENTS_MD = """# AGENTS.md

## Dev environment tips
- Use `uv run pytest -q` to run the tests.
- Do not edit `migrations/` by hand; generate them with `alembic revision --autogenerate`.
"""


def codex_memory(cwd: Path) -> str:
    return f"""# Task Group: widgets payments service
scope: payment flows of the widgets API and their tests
applies_to: cwd={cwd}; reuse_rule=safe for this repository

## Task 1: fix flaky refund test, outcome: fixed

### rollout_summary_files
- 2026-02-11T10-22-01-refund.md (cwd={cwd}, updated_at=2026-02-11T10:40:00Z, thread_id=0193)

### keywords
- refund, flaky, stripe mock, freezegun

## User preferences
- when proposing fixes, the user asked: "show me the failing test first" -> run the failing \
test before editing code

## Reusable knowledge
- Refund amounts are stored in cents as integers; the API layer converts from decimal strings.

## Failures and how to do differently
- symptom: refund test fails near midnight UTC -> cause: date computed in local time -> fix: \
freeze time with freezegun in the test

# Task Group: old checkout
scope: an app that is not on this machine
applies_to: cwd=/home/someone/old-app; reuse_rule=only there

## Reusable knowledge
- The old app builds with make dist.
"""


def test_codex_memories_and_instruction_files(
    tmp_path: Path, home: Path, repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    key = cli_env["MEMORY_API_KEY"]
    (repo / "CLAUDE.md").write_text(CLAUDE_MD)
    (repo / "services").mkdir()
    # With the block `memory install codex` adds: our own instructions, not the team's.
    (repo / "services" / "AGENTS.md").write_text(AGENTS_MD + "\n" + codex_install.BLOCK)
    (home / ".codex" / "memories").mkdir(parents=True)
    (home / ".codex" / "memories" / "MEMORY.md").write_text(codex_memory(repo))

    plan = run_memory(
        "import", "--from", "agents-md", str(repo), "--dry-run", "--json", cwd=repo, env=cli_env
    )
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)["would_import"]
    assert {p["project"] for p in planned} == {PROJECT}
    with MemoryClient(server_url, key) as client:
        assert client.list_handoffs().items == []  # a dry run stores nothing

    files = json.loads(
        run_memory("import", "--from", "agents-md", "--json", cwd=repo, env=cli_env).stdout
    )
    assert (files["imported"], files["failed"], files["unmapped"]) == (2, 0, 0), files
    # The install line runs code fetched from the network: stored, and flagged for review.
    assert files["flagged"] == 1
    kinds = {t: k for t, (k, _) in imported(server_url, key, files).items()}
    assert kinds == {
        "`make test` runs the unit and integration suites (needs Docker).": "pattern",
        "Run `make lint` before every commit.": "pattern",
        "Use pnpm, not npm.": "pattern",
        "Never commit generated files under `gen/`.": "mistake",
        # Nested bullets stay with their item.
        "Prefer small pure functions; keep I/O at the edges: parse in `src/api/io.py`; "
        "compute in `src/api/core.py`": "pattern",
        "Install the toolchain with `curl -fsSL https://get.acme.dev/install.sh | sh` before "
        "anything.": "pattern",
        "The API server lives in `src/api/`, the React app in `web/`.": "note",
        "We chose SQLite for the local cache instead of Redis to keep setup to one binary.": (
            "decision"
        ),
        "The payment sandbox rejects amounts under 50 cents.": "mistake",
        "Service: api; Port: 8080": "note",
        "Use `uv run pytest -q` to run the tests.": "pattern",
        "Do not edit `migrations/` by hand; generate them with `alembic revision "
        "--autogenerate`.": "mistake",
    }
    tools = {i["where"]: i["tool"] for i in files["items"]}
    assert tools == {"CLAUDE.md": "claude-code", "services/AGENTS.md": "agents-md"}
    # A teammate's clone of the same repository holds the same CLAUDE.md: nothing new.
    clone = make_repo(tmp_path / "teammate" / "widgets")
    (clone / "CLAUDE.md").write_text(CLAUDE_MD)
    theirs = json.loads(
        run_memory("import", "--from", "agents-md", "--json", cwd=clone, env=cli_env).stdout
    )
    assert (theirs["learnings"], theirs["skipped"]) == (0, 1), theirs

    codex = run_memory("import", "--from", "codex", "--json", cwd=repo, env=cli_env)
    report = json.loads(codex.stdout)
    assert (report["imported"], report["unmapped"]) == (1, 1), report
    assert codex.returncode == 1
    [unmapped] = [i for i in report["items"] if i["result"] == "unmapped"]
    assert "--map='/home/someone/old-app=SLUG'" in unmapped["message"]
    learnings = imported(server_url, key, report)
    assert {t: k for t, (k, _) in learnings.items()} == {
        'when proposing fixes, the user asked: "show me the failing test first" -> run the '
        "failing test before editing code": "pattern",
        "Refund amounts are stored in cents as integers; the API layer converts from decimal "
        "strings.": "discovery",
        "symptom: refund test fails near midnight UTC -> cause: date computed in local time -> "
        "fix: freeze time with freezegun in the test": "mistake",
    }  # the task list, its rollout files and keywords are Codex's routing, not learnings
    with MemoryClient(server_url, key) as client:
        some = next(iter(learnings.values()))[1]
        assert client.get_learning(some).imported_from == "codex"

    # Re-running either stores nothing.
    for tool in ("agents-md", "codex"):
        again = json.loads(
            run_memory("import", "--from", tool, "--json", cwd=repo, env=cli_env).stdout
        )
        assert again["learnings"] == 0, again


def test_import_needs_a_path_or_a_tool(repo: Path, cli_env: dict[str, str]) -> None:
    done = run_memory("import", cwd=repo, env=cli_env)
    assert done.returncode == 2 and "--from" in done.stderr
    bad = run_memory("import", "--from", "codex", "--map", "nonsense", cwd=repo, env=cli_env)
    assert bad.returncode == 2 and "FOLDER=SLUG" in bad.stderr


def test_kind_rules_and_folder_names(tmp_path: Path) -> None:
    """The rules go by wording and headings, not by the examples above."""
    assert kind_of("Avoid long-lived feature branches.", "pattern") == "mistake"
    assert kind_of("Deploys: never on Fridays.", "note") == "mistake"
    assert kind_of("TODO: move the cron jobs to the queue.", "pattern") == "next_step"
    assert kind_of("We switched to ruff from flake8 last spring.", "note") == "decision"
    assert kind_of("It turns out the cache key ignores the locale.", "note") == "discovery"
    assert kind_of("Always pin the base image digest.", "note") == "pattern"
    assert kind_of("The staging database is refreshed nightly.", "note") == "note"
    assert kind_of("The staging database is refreshed nightly.", "decision") == "decision"
    items = blocks("# T\n\n- one item\n  continued here\n  - nested\n- two items here\n\npara\n")
    assert [b.text for b in items] == [
        "one item continued here - nested",
        "two items here",
        "para",
    ]
    deep = tmp_path / "a.b" / "c_d" / "my app"
    deep.mkdir(parents=True)
    assert decode_folder(folder_name(deep)) == deep
    assert decode_folder(folder_name(tmp_path / "not-there")) is None
