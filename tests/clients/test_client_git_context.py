"""What the brief is told about the checkout (memory_client.workspace.detect(context=True)),
from real git repositories: branch, HEAD, the branch's own latest commit subjects and the
uncommitted changes, with at most two git commands for all of it, and less (never an error)
where git cannot say."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from memory_client import MemoryClient
from memory_client.workspace import (
    MAX_CHANGED_PATHS,
    MAX_COMMITS,
    MAX_SUBJECT_CHARS,
    detect,
    parse_status,
)

from tests.clients.helpers import git, make_repo, run_memory
from tests.helpers import PROJECT


def _commit(repo: Path, subject: str, name: str | None = None) -> None:
    path = repo / (name or f"{abs(hash(subject))}.txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(subject + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", subject)


@pytest.fixture
def feature(repo: Path) -> Path:
    """`widgets` on main with history, then a feature branch with two commits of its own and
    uncommitted changes: a modified file, a rename, a new untracked file with a space."""
    _commit(repo, "Main work nobody on the branch did", "main.txt")
    git(repo, "checkout", "-q", "-b", "feat/history-keyset-pagination")
    _commit(repo, "Add keyset cursor to room history", "lib/parley/history.ex")
    _commit(repo, "Clamp history page size", "lib/parley/page.ex")
    (repo / "README.md").write_text("changed\n")
    git(repo, "mv", "lib/parley/page.ex", "lib/parley/paging.ex")
    (repo / "lib" / "parley" / "new cursor.ex").write_text("new\n")
    return repo


def test_branch_commits_and_changes(feature: Path) -> None:
    ws = detect(feature, context=True)
    assert ws.branch == "feat/history-keyset-pagination"
    assert ws.head == git(feature, "rev-parse", "HEAD")
    # Newest first, only the branch's own: main's commits are not what this checkout does.
    assert ws.commits == ("Clamp history page size", "Add keyset cursor to room history")
    assert set(ws.changed_paths) == {
        "README.md",
        "lib/parley/paging.ex",
        "lib/parley/new cursor.ex",
    }
    # Without `context`, detection is what it was.
    plain = detect(feature)
    assert (plain.branch, plain.head) == (ws.branch, ws.head)
    assert (plain.commits, plain.changed_paths) == ((), ())


def test_pushed_branch_and_clone_keep_their_own_commits(feature: Path, tmp_path: Path) -> None:
    """A clone of the branch has `origin/<branch>` and `origin/HEAD` pointing at the same
    commits: those still count as the branch's own."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(feature), str(clone))
    git(clone, "checkout", "-q", "feat/history-keyset-pagination")
    assert detect(clone, context=True).commits == (
        "Clamp history page size",
        "Add keyset cursor to room history",
    )


def test_main_detached_and_bounds(repo: Path) -> None:
    for i in range(MAX_COMMITS + 3):
        _commit(repo, f"Change number {i} " + "x" * 300, f"f{i}.txt")
    ws = detect(repo, context=True)
    # On the default branch: its latest commits, bounded in number and length.
    assert ws.branch == "main" and len(ws.commits) == MAX_COMMITS
    assert ws.commits[0].startswith(f"Change number {MAX_COMMITS + 2} ")
    assert all(len(s) <= MAX_SUBJECT_CHARS for s in ws.commits)

    for i in range(MAX_CHANGED_PATHS + 10):
        (repo / f"untracked{i}.txt").write_text("x\n")
    assert len(detect(repo, context=True).changed_paths) == MAX_CHANGED_PATHS

    git(repo, "checkout", "-q", "--detach")
    detached = detect(repo, context=True)
    assert detached.branch is None and detached.head == git(repo, "rev-parse", "HEAD")
    assert detached.commits and detached.changed_paths


def test_no_commit_no_repository_no_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q", "-b", "trunk")
    (fresh / "a.txt").write_text("a\n")
    ws = detect(fresh, context=True)
    assert (ws.branch, ws.head, ws.commits, ws.changed_paths) == ("trunk", None, (), ("a.txt",))

    plain = tmp_path / "notes"
    plain.mkdir()
    ws = detect(plain, context=True)
    assert not ws.in_git and (ws.branch, ws.commits, ws.changed_paths) == (None, (), ())

    repo = make_repo(tmp_path / "w")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    ws = detect(repo, context=True)
    assert not ws.in_git and (ws.commits, ws.changed_paths) == ((), ())


def _counting_git(tmp_path: Path) -> Path:
    """A `git` first on PATH that logs each call's subcommand, then runs the real git."""
    real = next(
        Path(d) / "git"
        for d in os.environ["PATH"].split(os.pathsep)
        if (Path(d) / "git").is_file() and os.access(Path(d) / "git", os.X_OK)
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "git-calls.log"
    wrapper = bin_dir / "git"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "args = sys.argv[1:]\n"
        "while args[:1] == ['-C']:\n"
        "    args = args[2:]\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write((args[0] if args else '') + '\\n')\n"
        f"os.execv({str(real)!r}, [{str(real)!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return log


def test_the_context_costs_at_most_two_git_commands(
    feature: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _counting_git(tmp_path)
    monkeypatch.setenv("PATH", f"{log.parent / 'bin'}{os.pathsep}{os.environ['PATH']}")

    detect(feature)
    plain = log.read_text().split()
    log.unlink()
    ws = detect(feature, context=True)
    with_context = log.read_text().split()
    assert ws.commits and ws.changed_paths  # the wrapper ran the real git

    # What detection needs either way (top level, remote) is the same; branch, HEAD, commits
    # and changes together cost `git status` and `git log`: the two commands that read branch
    # and HEAD alone before.
    shared = [c for c in plain if c not in ("symbolic-ref", "rev-parse")] + ["rev-parse"]
    context_calls = list(with_context)
    for call in shared:
        context_calls.remove(call)
    assert sorted(context_calls) == ["log", "status"]
    assert len(with_context) <= len(plain)


def test_parse_status_records() -> None:
    raw = "\0".join(
        [
            "# branch.oid (initial)",
            "# branch.head (detached)",
            "1 .M N... 100644 100644 100644 abc abc src/a b.py",
            "2 R. N... 100644 100644 100644 abc abc R100 new/name.py",
            "old/name.py",
            "u UU N... 100644 100644 100644 100644 a b c conflict.py",
            "? untracked.txt",
            "! ignored.log",
            "",
        ]
    )
    status = parse_status(raw)
    assert (status.branch, status.head) == (None, None)
    assert status.changed_paths == ("src/a b.py", "new/name.py", "conflict.py", "untracked.txt")
    assert parse_status("").changed_paths == ()


def test_cli_and_hook_send_the_checkout(
    feature: Path, cli_env: dict[str, str], server_url: str
) -> None:
    """End to end against the real server: `memory brief` without --task and the SessionStart
    hook pick the learnings by what the checkout is doing."""
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        client.create_handoff(
            PROJECT,
            "## What NOT to do\n"
            "- Don't sort room history by `id` alone: ids are UUIDv4, so pages came back out "
            "of order; paginate on `(inserted_at, id)`.\n"
            "## Decisions\n"
            "- Invoice PDFs are rendered by WeasyPrint in a background worker.\n",
            recipient="elsewhere",
        )
    brief = run_memory("brief", "--json", cwd=feature, env=cli_env)
    assert brief.returncode == 0, brief.stderr
    got = json.loads(brief.stdout)
    assert (got["basis"], got["abstained"]) == ("checkout", False)
    assert "UUIDv4" in got["learnings"][0]["text"]

    payload = json.dumps({"cwd": str(feature), "session_id": "s-ctx", "source": "startup"})
    hook = run_memory("hook", "claude-code", cwd=feature, env=cli_env, input=payload)
    assert hook.returncode == 0
    context = json.loads(hook.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "relevant to what this checkout is doing" in context and "UUIDv4" in context
