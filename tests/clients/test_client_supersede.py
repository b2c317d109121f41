"""`memory supersede OLD --by NEW`, `--undo` and `memory reopen`, against the real server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clients.helpers import run_memory


def _write(body: str, repo: Path, env: dict[str, str]) -> str:
    written = run_memory("handoff", "write", "--json", cwd=repo, env=env, input=body)
    assert written.returncode == 0, written.stderr
    learning_id: str = json.loads(written.stdout)["learnings"][0]["id"]
    return learning_id


def test_supersede_and_undo(repo: Path, cli_env: dict[str, str]) -> None:
    old = _write("## Decisions\n- Deploys go out on Tuesdays only.\n", repo, cli_env)
    new = _write("## Decisions\n- Search indexes are rebuilt hourly.\n", repo, cli_env)
    done = run_memory("supersede", old, "--by", new, cwd=repo, env=cli_env)
    assert done.returncode == 0, done.stderr
    assert f"{old} is superseded by {new}" in done.stdout
    found = json.loads(
        run_memory("search", "when do deploys go out", "--json", cwd=repo, env=cli_env).stdout
    )
    assert {r["id"]: r["superseded_by"] for r in found["results"]}[old] == new
    # A cycle is refused, with the server's message, and changes nothing.
    cycle = run_memory("supersede", new, "--by", old, cwd=repo, env=cli_env)
    assert cycle.returncode != 0 and "cycle" in cycle.stderr
    undone = run_memory("supersede", old, "--undo", "--json", cwd=repo, env=cli_env)
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout)["superseded_by"] is None
    assert run_memory("supersede", old, cwd=repo, env=cli_env).returncode != 0  # --by or --undo


def test_reopen_a_step_marked_done(repo: Path, cli_env: dict[str, str]) -> None:
    step = _write("## Next Steps\n- Add rate limiting to the public checkout API.\n", repo, cli_env)
    _write("## Completed\n- Added rate limiting to the public checkout API.\n", repo, cli_env)
    reopened = run_memory("reopen", step, "--json", cwd=repo, env=cli_env)
    assert reopened.returncode == 0, reopened.stderr
    assert json.loads(reopened.stdout)["done_at"] is None
    assert run_memory("reopen", step, cwd=repo, env=cli_env).returncode != 0  # not done now
