"""Wall time of the start-up hook and of `memory brief` with freshness (issue 18) in a
repository of 50,000 files: each run a new process (interpreter start and imports included),
which detects the checkout, asks `GET /v1/cited-paths`, runs ONE `git cat-file --batch-check`
over those paths, and sends them with the brief. The hook must stay inside its 2-second
fail-open deadline.

It builds (once, reused afterwards) a git repository of `--files` files under `--repo`
(default /tmp/freshness-bench-repo, `origin` github.com/bench/fifty-k), starts its own server
on an embedded PostgreSQL in `--data` (default /tmp/freshness-bench-data), writes `--handoffs`
handoffs (5 bullets each, citing 2-3 files of the repository each, written with the checkout's
blob ids as `memory handoff write` sends them), then rewrites and deletes some cited files and
times `--runs` runs of each command. Also times the pieces alone: the git lookup over the
cited paths and the `cited-paths` round trip.

    .venv/bin/python -m bench.freshness_hook [--runs 30] [--files 50000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from memory_client import MemoryClient, _core
from memory_client.evidence import blob_ids, write_blobs
from memory_client.models import GitEvidence

from bench.server import ServerProcess
from memory_service.evaluation import latency_summary

PROJECT = "github.com/bench/fifty-k"
TOPICS = ["cache", "billing", "export", "auth", "search", "queue", "retry", "schema", "ui", "cli"]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def build_repo(repo: Path, files: int) -> list[str]:
    """The repository's paths (built once: a repository already there is reused)."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "remote", "add", "origin", f"https://{PROJECT}.git")
        for i in range(files):
            path = repo / f"pkg{i % 50:02d}" / f"mod{(i // 50) % 40:02d}" / f"file{i:05d}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# file {i}\nVALUE = {i}\n")
        _git(repo, "add", "-A")
        _git(repo, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "init")
    return _git(repo, "ls-files").splitlines()


def handoff_body(rng: random.Random, paths: list[str], n: int) -> str:
    bullets = []
    for j in range(5):
        cited = rng.sample(paths, rng.choice((2, 3)))
        topic = TOPICS[(n + j) % len(TOPICS)]
        refs = ", ".join(f"`{p}:{rng.randint(1, 2)}`" for p in cited)
        bullets.append(
            f"- Never change the {topic} handling in {refs} without running the {topic} "
            f"tests; handoff {n} point {j} broke it once."
        )
    return "## What NOT to do\n" + "\n".join(bullets) + "\n"


def seed(url: str, key: str, repo: Path, paths: list[str], handoffs: int) -> list[str]:
    """Writes the handoffs with the checkout's blob ids; returns every cited path."""
    rng = random.Random(18)
    cited: list[str] = []
    with MemoryClient(url, key, timeout=120) as client:
        for n in range(handoffs):
            body = handoff_body(rng, paths, n)
            blobs = write_blobs(repo, body) or {}
            cited.extend(blobs)
            client.create_handoff(
                PROJECT, body, recipient="elsewhere", git=GitEvidence(blobs=blobs)
            )
    return sorted(set(cited))


def churn(repo: Path, cited: list[str]) -> None:
    """Rewrites a tenth of the cited files and deletes another tenth (committed)."""
    rng = random.Random(7)
    picked = rng.sample(cited, len(cited) // 5)
    for i, path in enumerate(picked):
        if i % 2:
            (repo / path).unlink()
        else:
            (repo / path).write_text("# rewritten\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "churn")


def time_command(
    args: list[str], repo: Path, env: dict[str, str], runs: int, stdin: str | None
) -> dict[str, Any]:
    memory = str(Path(sys.executable).with_name("memory"))
    seconds, printed, badged = [], 0, 0
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [memory, *args],
            cwd=repo,
            input=stdin.replace("SESSION", str(uuid.uuid4())) if stdin else None,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        seconds.append(time.perf_counter() - started)
        printed += bool(done.stdout.strip())
        badged += "since" in done.stdout
    return {
        "command": " ".join(["memory", *args]),
        **latency_summary(seconds),
        "printed": printed,
        "badged": badged,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--handoffs", type=int, default=200)
    parser.add_argument(
        "--repo", type=Path, default=Path(tempfile.gettempdir()) / "freshness-bench-repo"
    )
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "freshness-bench-data"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    started = time.perf_counter()
    paths = build_repo(args.repo, args.files)
    print(f"repository: {len(paths)} files ({time.perf_counter() - started:.0f} s)", flush=True)
    server = ServerProcess(args.data, log_path=args.data.parent / "freshness-bench-server.log")
    with server:
        server.start()
        url, key = server.base_url, server.admin_key()
        with MemoryClient(url, key) as client:
            cited_before = client.run(_cited_call()).paths
        if not cited_before:
            started = time.perf_counter()
            cited = seed(url, key, args.repo, paths, args.handoffs)
            print(
                f"seeded {args.handoffs} handoffs citing {len(cited)} files "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
            churn(args.repo, cited)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_", "CLAUDE"))}
        env.update(MEMORY_URL=url, MEMORY_API_KEY=key)
        hook_stdin = json.dumps(
            {
                "session_id": "SESSION",
                "cwd": str(args.repo),
                "source": "startup",
                "hook_event_name": "SessionStart",
            }
        )
        report: dict[str, Any] = {"files": len(paths), "runs": args.runs}
        report["hook"] = time_command(
            ["hook", "claude-code"], args.repo, env, args.runs, hook_stdin
        )
        report["brief"] = time_command(
            ["brief", "--task", "change the cache handling"], args.repo, env, args.runs, None
        )
        with MemoryClient(url, key) as client:
            lookups, gits = [], []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                cited = client.run(_cited_call()).paths
                t1 = time.perf_counter()
                found = blob_ids(args.repo, cited)
                gits.append(time.perf_counter() - t1)
                lookups.append(t1 - t0)
        report["cited_paths"] = {"paths": len(cited), **latency_summary(lookups)}
        report["git_lookup"] = {
            "paths": len(cited),
            "missing": sum(v is None for v in (found or {}).values()),
            **latency_summary(gits),
        }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _cited_call() -> Any:
    return _core.cited_paths(PROJECT, limit=500)


if __name__ == "__main__":
    raise SystemExit(main())
