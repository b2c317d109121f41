"""Freshness classification accuracy on timelines (issue 18): for each case of
tests/data/dev_freshness_eval.json, a real git repository with the case's files, its handoff
written through the real write path (`memory_client`: the blob ids of the cited files from one
git lookup, as `memory handoff write` sends them), the case's changes applied (write, delete,
rename, commit, staged-only or unstaged edits), then each learning read back through the real
read path (`GET /v1/cited-paths`, one git lookup, `POST /v1/search` with `checkout`) and its
`freshness` compared with the expected one.

Against a running server (`--url`, `--api-key`), else one it starts on an embedded PostgreSQL
in a temporary folder:

    .venv/bin/python -m bench.freshness_eval [--url URL --api-key KEY] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from memory_client import MemoryClient, checkout
from memory_client.evidence import write_blobs
from memory_client.models import GitEvidence
from memory_client.workspace import detect

from bench.server import ServerProcess

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "dev_freshness_eval.json"
LABELS = ("verified", "changed", "missing", "unknown")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=e", "-c", "user.email=e@example.com", *args],
        check=True,
        capture_output=True,
    )


def _write(repo: Path, path: str, content: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)


def make_repo(root: Path, case: dict[str, Any], run: str) -> tuple[Path, str]:
    # A project of this run's own: an earlier run's learnings would be near-duplicates.
    project = f"github.com/freshness-eval-{run}/{case['id']}"
    repo = root / case["id"]
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", f"https://{project}.git")
    for path, content in case["files"].items():
        _write(repo, path, content)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "before")
    return repo, project


def apply_changes(repo: Path, changes: list[dict[str, Any]]) -> None:
    pending = False
    for change in changes:
        if "write" in change:
            _write(repo, change["write"], change["content"])
            if change.get("unstaged"):
                continue
            _git(repo, "add", "--", change["write"])
            pending = not change.get("stage_only")
            if change.get("stage_only"):
                continue
        elif "delete" in change:
            _git(repo, "rm", "-q", "--", change["delete"])
            pending = True
        elif "rename" in change:
            (repo / change["to"]).parent.mkdir(parents=True, exist_ok=True)
            _git(repo, "mv", "--", change["rename"], change["to"])
            pending = True
        if change.get("commit") and pending:
            _git(repo, "commit", "-qm", "step")
            pending = False
    if pending:
        _git(repo, "commit", "-qm", "after")


def run_case(
    client: MemoryClient, root: Path, case: dict[str, Any], run: str
) -> list[dict[str, Any]]:
    repo, project = make_repo(root, case, run)
    blobs = write_blobs(repo, case["handoff"]) or {}
    created = client.create_handoff(
        project, case["handoff"], recipient="eval", git=GitEvidence(blobs=blobs)
    )
    apply_changes(repo, case["changes"])
    ws = detect(repo)
    files = checkout.read_checkout(client, ws)
    rows = []
    for learning, expected in zip(created.learnings, case["expected"], strict=True):
        found = client.run(checkout.search(ws, learning.text, k=20, files=files))
        got = next((r.freshness for r in found.results if r.id == learning.id), "not found")
        rows.append(
            {"case": case["id"], "text": learning.text[:80], "expected": expected, "got": got}
        )
    return rows


@contextmanager
def _server(url: str | None, key: str | None, folder: Path) -> Iterator[tuple[str, str]]:
    if url and key:
        yield url, key
        return
    with ServerProcess(folder / "data", log_path=folder / "server.log") as server:
        server.start()
        yield server.base_url, server.admin_key()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url")
    parser.add_argument("--api-key")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cases = json.loads(args.data.read_text())["cases"]
    with (
        tempfile.TemporaryDirectory() as tmp,
        _server(args.url, args.api_key, Path(tmp)) as (
            url,
            key,
        ),
        MemoryClient(url, key, timeout=60) as client,
    ):
        run, repos = uuid.uuid4().hex[:8], Path(tmp) / "repos"
        rows = [row for case in cases for row in run_case(client, repos, case, run)]
    right = sum(r["expected"] == r["got"] for r in rows)
    confusion = Counter((r["expected"], r["got"]) for r in rows)
    report = {
        "learnings": len(rows),
        "cases": len(cases),
        "accuracy": round(right / len(rows), 3),
        "confusion": {f"{e} -> {g}": n for (e, g), n in sorted(confusion.items())},
        "misses": [r for r in rows if r["expected"] != r["got"]],
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**report, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
