"""`memory import`: a file-based inbox tree and loose HANDOFF.md files, into the real server;
states, dates, senders and recipients kept; a second run stores nothing. agent-handoff's tree
as it really is: folders named after repository paths, mapped to the repositories' projects
(or by --map / --map-file, else reported), and re-imports after its hook archived a file."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from memory_client import MemoryClient, agent_handoff
from memory_client.agent_handoff import candidate_paths, folder_name, resolve_folder
from memory_client.importer import parse_mapping

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

    # Delivered since, then moved from unread/ to read/ by the old tool: not doubled, and the
    # service's copy follows the file (read), so no session is given it a second time.
    moved = root / "github.com/acme/widgets/widgets/read/2026-01-12-cache.md"
    files["unread"].rename(moved)
    third = run_memory("import", str(root), cwd=repo, env=cli_env)
    assert "Imported 0, marked read 1 (read since the last import), skipped 3" in third.stdout
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        widgets = {h.topic: h for h in client.iter_handoffs(project=PROJECT)}
        assert len(widgets) == 2
        assert (widgets["Cache layer"].status, widgets["Cache layer"].claimed_by) == (
            "read",
            "import",
        )
        assert client.peek_inbox(PROJECT, "widgets").handoffs == []
    fourth = json.loads(run_memory("import", str(root), "--json", cwd=repo, env=cli_env).stdout)
    assert (fourth["imported"], fourth["marked_read"], fourth["skipped"]) == (0, 0, 4)


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


# --- agent-handoff's tree, as its hooks and skill leave it (github.com/zzyyfff/agent-handoff:
# spec/storage-convention.md, spec/file-format.md, lib/inbox.sh) --------------------------------


def agent_handoff_file(name: str, sender: str, to: str, created: str, action: str) -> str:
    """A handoff as agent-handoff's /handoff skill writes it: its required front matter and
    its section order."""
    return f"""---
name: {name}
description: {name}; verify before acting.
from: {sender}
to: {to}
created: {created}
branch: main
head: 9e3b43e
dirty_files_count: 2
session_tool: claude-code
session_id: cse_01LQHojDfypNRjrAJAoRPntm
topic: {name.lower().replace(" ", "-")}
---

# Handoff — {name}

## Status as of {created[:10]}
Half done; the tests are green.

## Immediate next action
{action}

## Decisions made (with evidence)
- Keep the retry budget at 3 (`src/client.py:42`): a fourth retry doubled the p99.

## What NOT to do on resume
- Do not raise the pool size above 20; the database refuses connections past it.

## Reader instruction
The SessionStart hook should already have moved this file to `read/`.
"""


def archive(path: Path, received_at: str) -> Path:
    """What agent-handoff's SessionStart hook does to a file it surfaced: `received_at` stamped
    just before the closing `---` (a new modification time), then moved to `read/`."""
    head, _, rest = path.read_text().partition("\n---\n")
    path.write_text(f"{head}\nreceived_at: {received_at}\n---\n{rest}")
    target = path.parent.parent / "read" / path.name
    target.parent.mkdir(exist_ok=True)
    path.rename(target)
    return target


def test_import_agent_handoff_tree(
    tmp_path: Path, repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    home = tmp_path.resolve() / "home" / "me"
    # The user's repositories, where agent-handoff's folder names point: a plain one, one with
    # a dash in its name, a worktree whose suffix agent-handoff strips (`-wt2`), two that one
    # folder name can stand for (`lab/api-v2` and `lab/api/v2`), and a folder inside a
    # repository (the home directory kept in git) that is not a repository of its own.
    make_repo(home, remote="git@github.com:me/dotfiles.git")
    make_repo(home / "work" / "widgets", remote="git@github.com:acme/widgets.git")
    make_repo(home / "work" / "price-cache", remote="https://github.com/acme/price-cache.git")
    make_repo(home / "work" / "billing-wt2", remote="ssh://git@github.com:22/acme/billing.git")
    make_repo(home / "lab" / "api-v2", remote="git@github.com:acme/api-v2.git")
    make_repo(home / "lab" / "api" / "v2", remote="git@github.com:acme/api.git")
    (home / "notes").mkdir()

    root = tmp_path / "agent-handoffs"
    widgets = folder_name(home / "work" / "widgets")
    assert widgets.endswith("home-me-work-widgets") and "/" not in widgets
    folders = {
        "widgets": widgets,
        "price": folder_name(home / "work" / "price-cache"),
        "billing": folder_name(home / "work" / "billing-wt2"),
        "api": folder_name(home / "lab" / "api-v2"),
        "notes": folder_name(home / "notes"),
        "gone": folder_name(home / "old" / "gone"),  # moved or deleted since
        "laptop": folder_name(Path("/Users/me/Developer/tools")),  # another machine's path
    }
    assert folders["billing"] == folder_name(home / "work" / "billing")  # suffix stripped

    def put(key: str, recipient: str, state: str, stem: str, **fields: str) -> Path:
        path = root / folders[key] / recipient / state / f"{stem}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(agent_handoff_file(**fields))
        return path

    cache = put(
        "widgets", "widgets", "unread", "20260112T174209Z-from-widgets-cache-layer",
        name="Cache layer", sender="widgets", to="widgets", created="2026-01-12T17:42:09Z",
        action="Add hit/miss metrics in `src/cache.py`.",
    )  # fmt: skip
    put(
        "price", "price-cache", "unread", "20260113T090000Z-from-price-cache",
        name="Price feed", sender="price-cache", to="price-cache",
        created="2026-01-13T09:00:00Z", action="Backfill the missing January prices.",
    )  # fmt: skip
    put(
        "billing", "billing-wt2", "read", "20260110T080000Z-from-billing",
        name="Invoices", sender="billing", to="billing-wt2", created="2026-01-10T08:00:00Z",
        action="Send the December invoices again.",
    )  # fmt: skip
    for key, stem in (("api", "a"), ("notes", "b"), ("gone", "c"), ("gone", "d")):
        put(key, "x", "unread", f"20260101T00000{stem}Z-from-x", name=f"Orphan {stem}",
            sender="x", to="x", created="2026-01-01T00:00:00Z", action="Nothing.")  # fmt: skip
    put(
        "laptop", "tools", "unread", "20260114T100000Z-from-tools",
        name="Tools", sender="tools", to="tools", created="2026-01-14T10:00:00Z",
        action="Pin the linter version.",
    )  # fmt: skip
    # agent-handoff's own in-flight files: a writer's temporary file, a hook's claimed file.
    inflight = root / folders["widgets"] / "widgets" / "unread"
    (inflight / ".tmp-4242-1767000000-77-x.md").write_text("---\nname: half\n")
    (inflight / ".claim-4243-20260101T000000Z-from-x.md").write_text(UNREAD)

    # Nothing is guessed: the dry run names the folders it cannot place and how to map them.
    plan = run_memory("import", str(root), "--dry-run", cwd=repo, env=cli_env)
    assert plan.returncode == 1, plan.stderr
    assert f"pass --map {folders['gone']}=SLUG" in plan.stdout
    assert f"{folders['api']}: ambiguous" in plan.stdout
    assert "github.com/acme/api-v2" in plan.stdout and "github.com/acme/api " in plan.stdout
    assert f"{folders['notes']}: no git repository at {home / 'notes'}" in plan.stdout
    assert "github.com/acme/widgets → widgets" in plan.stdout

    # The run: folders on disk by their repository, the others by --map / --map-file
    # (--map wins); the folder nobody mapped is reported, none of its files sent.
    mapping = tmp_path / "agent-handoff.map"
    mapping.write_text(
        f"# agent-handoff folder = project\n\n{folders['api']} = github.com/acme/api-v2\n"
        f"{folders['laptop']}=github.com/acme/wrong\n"
    )
    first = run_memory(
        "import", str(root), "--map-file", str(mapping),
        "--map", f"{folders['laptop']}=github.com/acme/tools", "--json", cwd=repo, env=cli_env,
    )  # fmt: skip
    assert first.returncode == 1, first.stderr  # something was left out, and it says what
    report = json.loads(first.stdout)
    assert (report["imported"], report["unmapped"], report["failed"]) == (5, 3, 0), report
    left_out = {Path(i["path"]).parent.parent.parent.name for i in report["items"]
                if i["result"] == "unmapped"}  # fmt: skip
    assert left_out == {folders["notes"], folders["gone"]}

    key = cli_env["MEMORY_API_KEY"]
    with MemoryClient(server_url, key) as client:
        stored = {(h.project, h.recipient, h.status) for h in client.iter_handoffs()}
        assert stored == {
            ("github.com/acme/widgets", "widgets", "unread"),
            ("github.com/acme/price-cache", "price-cache", "unread"),
            ("github.com/acme/billing", "billing-wt2", "read"),
            ("github.com/acme/api-v2", "x", "unread"),
            ("github.com/acme/tools", "tools", "unread"),
        }
        [price] = client.claim_inbox("github.com/acme/price-cache", "price-cache").handoffs

    # agent-handoff's hook surfaces the cache handoff in a Claude Code session and archives it.
    archive(cache, "2026-01-12T18:00:00Z")
    second = run_memory(
        "import", str(root), "--map-file", str(mapping),
        "--map", f"{folders['laptop']}=github.com/acme/tools", cwd=repo, env=cli_env,
    )  # fmt: skip
    assert "Imported 0, marked read 1 (read since the last import), skipped 4" in second.stdout
    assert "unmapped 3 (not imported)" in second.stdout and second.returncode == 1
    with MemoryClient(server_url, key) as client:
        handoffs = {h.topic: h for h in client.iter_handoffs()}
        assert len(handoffs) == 5  # no second copy
        assert (handoffs["cache-layer"].status, handoffs["cache-layer"].claimed_by) == (
            "read",
            "import",
        )
        assert client.peek_inbox("github.com/acme/widgets", "widgets").handoffs == []
        # The other way round: the service delivered the price handoff, its file is still in
        # unread/ (agent-handoff's hook never ran there). The service's copy stays read.
        assert handoffs["price-feed"].status == "read"
        assert handoffs["price-feed"].claimed_by != "import" and handoffs["price-feed"].id == (
            price.id
        )

    # Pointed at one project's folder, its name is the folder.
    one = run_memory("import", str(root / folders["widgets"]), "--json", cwd=repo, env=cli_env)
    assert (json.loads(one.stdout)["skipped"], one.returncode) == (1, 0)
    gone = run_memory("import", str(root / folders["gone"]), "--dry-run", cwd=repo, env=cli_env)
    assert gone.returncode == 1
    assert f"pass --map {folders['gone']}=SLUG or --project SLUG" in gone.stdout


def test_agent_handoff_folder_names_and_their_readings(tmp_path: Path) -> None:
    """The canonical slug as agent-handoff's spec/storage-convention.md tabulates it, and its
    readings back into paths: only folders that exist, every split of the dashes."""
    assert folder_name(Path("/Users/jonathan/Developer/personal/assistant")) == (
        "Users-jonathan-Developer-personal-assistant"
    )
    for suffix in ("-worker", "-worker3", "-wt", "-wt2", "-preview", "-dev-preview"):
        assert folder_name(Path(f"/home/alice/work/billing{suffix}")) == "home-alice-work-billing"
    assert folder_name(Path("/home/alice/work/my-wt-tools")) == "home-alice-work-my-wt-tools"

    base = tmp_path.resolve()
    for path in ("a/b-c/d", "a/b/c-d", "a-b/c/d", "a/b/c/d", "a/b/c/x"):
        (base / path).mkdir(parents=True)
    name = folder_name(base / "a" / "b" / "c" / "d")
    found = {str(p.relative_to(base)) for p in candidate_paths(name)}
    assert found == {"a/b-c/d", "a/b/c-d", "a-b/c/d", "a/b/c/d"}
    # A worktree suffix put back from the recipient when the stripped path does not exist.
    (base / "e" / "billing-dev-preview").mkdir(parents=True)
    stripped = folder_name(base / "e" / "billing-dev-preview")
    assert candidate_paths(stripped) == []
    assert candidate_paths(stripped, ["billing-dev-preview"]) == [
        base / "e" / "billing-dev-preview"
    ]
    assert resolve_folder(stripped, ["billing-dev-preview"]).project is None  # not a repository


def test_mapping_lines() -> None:
    text = "# folder = project\n\nhome-me-a = github.com/acme/a\n home-me-b=local/b \n"
    assert parse_mapping(text.splitlines(), "map.txt") == {
        "home-me-a": "github.com/acme/a",
        "home-me-b": "local/b",
    }
    for bad, says in (("home-me-a", "line 1"), ("x=", "line 1"), ("x=not a slug", "invalid")):
        with pytest.raises(ValueError, match=says):
            parse_mapping([bad], "map.txt")


def test_removing_agent_handoffs_hook_keeps_everything_else() -> None:
    theirs = {
        "type": "command",
        "command": "'/opt/ah/adapters/claude-code/hooks/surface-handoffs.sh'",
    }
    mine = {"type": "command", "command": "~/bin/surface-handoffs.sh.bak"}
    settings = {
        "hooks": {
            "SessionStart": ["junk", {"hooks": "not a list"}, theirs, {"hooks": [theirs, mine]}],
            "Stop": [{"hooks": [theirs]}],  # another event: not its SessionStart hook
        }
    }
    assert agent_handoff.hooks_in(settings) == [theirs["command"]] * 2
    assert agent_handoff.remove_hooks(settings) == [theirs["command"]] * 2
    assert settings == {
        "hooks": {
            "SessionStart": ["junk", {"hooks": "not a list"}, {"hooks": [mine]}],
            "Stop": [{"hooks": [theirs]}],
        }
    }
    assert agent_handoff.remove_hooks(settings) == []
    only = {"hooks": {"SessionStart": [{"hooks": [theirs]}]}, "model": "x"}
    agent_handoff.remove_hooks(only)
    assert only == {"model": "x"}


def test_import_without_a_folder_reads_agent_handoffs_inbox(
    home: Path, repo: Path, cli_env: dict[str, str]
) -> None:
    """`memory import` alone reads ~/.agent-handoffs (agent-handoff's inbox), and says so when
    there is none instead of importing nothing quietly."""
    missing = run_memory("import", "--dry-run", cwd=repo, env=cli_env)
    assert missing.returncode == 2, missing.stdout
    assert ".agent-handoffs does not exist" in missing.stderr

    inbox = home / ".agent-handoffs" / "github.com" / "acme" / "widgets" / "widgets" / "unread"
    inbox.mkdir(parents=True)
    (inbox / "20261201T100000Z-from-api.md").write_text(
        "---\nfrom: api\ncreated: 2026-12-01T10:00:00Z\n---\n## Decisions\n- Prices stay in cents.\n"
    )
    plan = run_memory("import", "--dry-run", "--json", cwd=repo, env=cli_env)
    assert plan.returncode == 0, plan.stderr
    [item] = json.loads(plan.stdout)["would_import"]
    assert (item["project"], item["recipient"], item["status"]) == (
        "github.com/acme/widgets",
        "widgets",
        "unread",
    )
