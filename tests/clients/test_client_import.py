"""`memory import`: a file-based inbox tree and loose HANDOFF.md files, into the real server;
states, dates, senders and recipients kept; a second run stores nothing."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from memory_client import MemoryClient

from tests.clients.helpers import make_repo, run_memory
from tests.helpers import PROJECT

UNREAD = """---
from: claude-code (session 12)
to: widgets
created: 2026-01-12T17:42:09Z
branch: feat/cache
head: 9e3b43ec0b66ab9c231122757aa573d80c0526a8
session_tool: claude-code
topic: Cache layer
---
## Decisions
- Cache entries expire after 5 minutes; longer TTLs served stale prices.
"""
READ = """---
from: codex
to: widgets
created: 2025-12-01T09:00:00+00:00
session_tool: codex
topic: Tests
---
## What NOT to do
- Don't run the integration tests in parallel; they share one database.
"""
NO_DATE = "## Patterns\n- Every migration gets a downgrade.\n"
LOOSE = "---\nfrom: alice\n---\n## Immediate next action\n- Finish the gadget README.\n"


def build_tree(root: Path) -> dict[str, Path]:
    files = {
        "unread": root / "github.com/acme/widgets/widgets/unread/2026-01-12-cache.md",
        "read": root / "github.com/acme/widgets/widgets/read/2025-12-01-tests.md",
        "nodate": root / "local/tools/alice/unread/patterns.md",
        # A recipient name the server refuses (trailing space): reported, not imported.
        "bad": root / "github.com/acme/widgets/bad name /unread/bad.md",
    }
    bodies = {"unread": UNREAD, "read": READ, "nodate": NO_DATE, "bad": NO_DATE}
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(bodies[name])
    stamp = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp()
    os.utime(files["nodate"], (stamp, stamp))
    return files


def test_import_tree_and_loose_files(
    tmp_path: Path, repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    root = tmp_path / "inbox"
    files = build_tree(root)
    gadgets = make_repo(root / "checkouts" / "gadgets", remote="git@github.com:acme/gadgets.git")
    (gadgets / "HANDOFF.md").write_text(LOOSE)

    first = run_memory("import", str(root), "--json", cwd=repo, env=cli_env)
    report = json.loads(first.stdout)
    assert (report["imported"], report["skipped"], report["failed"]) == (4, 0, 1), report
    assert first.returncode == 1  # one file failed, and says why
    [failed] = [i for i in report["items"] if i["result"] == "failed"]
    assert "bad name" in failed["path"] and "worktree" in failed["message"]

    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        widgets = {h.topic: h for h in client.iter_handoffs(project=PROJECT)}
        unread, read = widgets["Cache layer"], widgets["Tests"]
        assert (unread.status, unread.sender, unread.tool, unread.branch) == (
            "unread",
            "claude-code (session 12)",
            "claude-code",
            "feat/cache",
        )
        assert unread.created_at == datetime(2026, 1, 12, 17, 42, 9, tzinfo=UTC)
        assert (read.status, read.claimed_by, read.sender) == ("read", "import", "codex")
        assert read.created_at == datetime(2025, 12, 1, 9, tzinfo=UTC)
        assert [d.id for d in client.peek_inbox(PROJECT, "widgets").handoffs] == [unread.id]

        [tools] = client.list_handoffs(project="local/tools").items
        assert (tools.recipient, tools.status) == ("alice", "unread")
        assert tools.created_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # file mtime

        [loose] = client.list_handoffs(project="github.com/acme/gadgets").items
        assert (loose.recipient, loose.sender, loose.status) == ("gadgets", "alice", "unread")

        # Imported learnings are searchable like any other.
        hits = client.search("parallel integration tests", kinds=["mistake"])
        assert hits.results and "share one database" in hits.results[0].text

    again = run_memory("import", str(root), cwd=repo, env=cli_env)
    assert "Imported 0, skipped 4 (already there), failed 1." in again.stdout

    # Delivered since, then moved from unread/ to read/ by the old tool: still not doubled.
    moved = root / "github.com/acme/widgets/widgets/read/2026-01-12-cache.md"
    files["unread"].rename(moved)
    third = json.loads(run_memory("import", str(root), "--json", cwd=repo, env=cli_env).stdout)
    assert (third["imported"], third["skipped"]) == (0, 4)
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        assert len(list(client.iter_handoffs(project=PROJECT))) == 2


def test_import_single_loose_file_with_project_and_dry_run(
    tmp_path: Path, repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    handoff = notes / "HANDOFF.md"
    handoff.write_text("---\nto: next agent on notes\n---\n- Notes are plain text.\n")

    plan = run_memory(
        "import", str(handoff), "--project", "local/notes", "--dry-run", cwd=repo, env=cli_env
    )
    assert plan.returncode == 0 and "local/notes" in plan.stdout
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        assert client.list_handoffs().items == []

    done = run_memory(
        "import",
        str(handoff),
        "--project",
        "local/notes",
        "--loose-status",
        "read",
        cwd=repo,
        env=cli_env,
    )
    assert "Imported 1, skipped 0" in done.stdout, done.stderr
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        [stored] = client.list_handoffs(project="local/notes").items
    assert (stored.recipient, stored.status) == ("next agent on notes", "read")

    missing = run_memory("import", str(tmp_path / "nope"), cwd=repo, env=cli_env)
    assert missing.returncode == 2 and "no such file" in missing.stderr
