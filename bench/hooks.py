"""Wall time of the Claude Code hooks as Claude Code runs them (issue 17): each hook command a
new process, process start and imports included, fed the JSON Claude Code pipes to it.

Against a running server (`--url`, `--api-key`, or MEMORY_URL / MEMORY_API_KEY) and a project
(`--project`, e.g. github.com/org/repo: the hooks take the project from the checkout, so the
script makes a throw-away git checkout whose `origin` is that project), it runs `--runs` times
(100) each of:

- SessionStart: `memory hook claude-code` (the start-up brief);
- UserPromptSubmit: `memory hook claude-code-prompt`, cycling through realistic prompts (work
  prompts and small talk), each run a new session, so every run takes the whole path;
- PreToolUse: `memory hook claude-code-command` with everyday and risky Bash commands, when
  this `memory` has that hook;

and reports p50 / p95 / max wall time and how often each printed something, next to a bare
`python -c pass` for scale (interpreter start alone, on the same machine at the same time).
Then the server-side part of the lookups with one client on a warm connection
(`POST /v1/recall`, and `POST /v1/check` when the server has it): p50 / p95 of the round
trip, which on localhost is the server's time plus well under a millisecond.

The lead runs it against a 100k-learning database; on the dev set:
    .venv/bin/python -m bench.hooks --url http://127.0.0.1:8765 --api-key KEY \\
        --project gitlab.com/kestrel-works/parley-chat [--runs 100] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from memory_service.evaluation import latency_summary

PROMPTS = [
    "the export task blows up with 'cannot reduce stream outside of transaction', take a look",
    "add highlighting of the matched words to the message search results",
    "in the proxy route, create an httpx.AsyncClient per request",
    "why does the release build crash at startup while debug works?",
    "rename the grainSize parameter ID to grain_size to match our naming convention",
    "keep the cart items in a ref([]) at the top of useCart.ts",
    "write a terraform module for a versioned s3 bucket",
    "summarize what you changed so far",
    "thanks, looks good!",
    "continue",
]
COMMANDS = [
    "ls -la",
    "git status",
    "pytest -x -q",
    "npm test",
    "mix ecto.migrate",
    "./gradlew :android:assembleRelease",
    "uv lock --upgrade",
    "fly deploy --strategy rolling",
    "xcrun notarytool submit Grainwell.pkg --wait",
    "cat README.md",
]


def _memory_bin(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    sibling = Path(sys.executable).with_name("memory")
    if sibling.exists():
        return [str(sibling)]
    found = shutil.which("memory")
    return [found] if found else [sys.executable, "-m", "memory_client"]


def _checkout(parent: Path, project: str) -> Path:
    repo = parent / project.rsplit("/", 1)[-1]
    repo.mkdir(parents=True)
    for args in (
        ["init", "-q", "-b", "main"],
        ["remote", "add", "origin", f"https://{project}.git"],
        [
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "init",
        ],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return repo


def _has_hook(memory: list[str], name: str, env: dict[str, str]) -> bool:
    done = subprocess.run(
        [*memory, "hook", "--help"], capture_output=True, text=True, env=env, check=False
    )
    return name in done.stdout


def _payload(event: str, repo: Path, run: int) -> str:
    base: dict[str, Any] = {
        "session_id": str(uuid.uuid4()),
        "transcript_path": str(repo / "transcript.jsonl"),
        "cwd": str(repo),
        "permission_mode": "default",
        "hook_event_name": event,
    }
    if event == "SessionStart":
        base["source"] = "startup"
    elif event == "UserPromptSubmit":
        base["prompt"] = PROMPTS[run % len(PROMPTS)]
    else:
        base["tool_name"] = "Bash"
        base["tool_input"] = {"command": COMMANDS[run % len(COMMANDS)], "description": "run"}
    return json.dumps(base)


def time_hook(
    memory: list[str], args: list[str], event: str, repo: Path, env: dict[str, str], runs: int
) -> dict[str, Any]:
    seconds, spoke, failed = [], 0, 0
    for run in range(runs):
        stdin = _payload(event, repo, run)
        started = time.perf_counter()
        done = subprocess.run(
            [*memory, *args], input=stdin, capture_output=True, text=True, env=env, check=False
        )
        seconds.append(time.perf_counter() - started)
        spoke += bool(done.stdout.strip())
        failed += done.returncode != 0
    return {
        "command": " ".join(["memory", *args]),
        **latency_summary(seconds),
        "printed": spoke,
        "nonzero_exit": failed,
    }


def _bare_python(runs: int) -> dict[str, Any]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        seconds.append(time.perf_counter() - started)
    return latency_summary(seconds)


def time_lookups(url: str, key: str, project: str, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        bodies = {
            "/v1/recall": [
                {"text": PROMPTS[i % len(PROMPTS)], "project": project, "k": 3} for i in range(runs)
            ],
            "/v1/check": [
                {"command": COMMANDS[i % len(COMMANDS)], "project": project} for i in range(runs)
            ],
        }
        for path, items in bodies.items():
            first = client.post(path, json=items[0])
            if first.status_code in (404, 405):
                out[path] = "not on this server"
                continue
            if first.status_code != 200:
                out[path] = f"{first.status_code}: {first.text[:200]}"
                continue
            seconds = []
            for body in items:
                started = time.perf_counter()
                client.post(path, json=body).raise_for_status()
                seconds.append(time.perf_counter() - started)
            out[path] = latency_summary(seconds)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("MEMORY_URL", "http://127.0.0.1:8765"))
    parser.add_argument("--api-key", default=os.environ.get("MEMORY_API_KEY"))
    parser.add_argument("--project", required=True, help="e.g. github.com/org/repo")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--memory", help="the `memory` command (default: this venv's)")
    parser.add_argument("--json", metavar="OUT", help="write the report here too")
    args = parser.parse_args()
    if not args.api_key:
        parser.error("an API key is needed (--api-key or MEMORY_API_KEY)")
    memory = _memory_bin(args.memory)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")},
        "MEMORY_URL": args.url,
        "MEMORY_API_KEY": args.api_key,
    }
    report: dict[str, Any] = {"url": args.url, "project": args.project, "runs": args.runs}
    with tempfile.TemporaryDirectory(prefix="memory-hooks-") as tmp:
        repo = _checkout(Path(tmp), args.project)
        hooks = [
            ("SessionStart", ["hook", "claude-code"]),
            ("UserPromptSubmit", ["hook", "claude-code-prompt"]),
        ]
        if _has_hook(memory, "claude-code-command", env):
            hooks.append(("PreToolUse", ["hook", "claude-code-command"]))
        report["hooks"] = {
            event: time_hook(memory, hook_args, event, repo, env, args.runs)
            for event, hook_args in hooks
        }
    report["bare_python"] = _bare_python(args.runs)
    report["server"] = time_lookups(args.url, args.api_key, args.project, args.runs)
    for event, row in report["hooks"].items():
        print(
            f"{event:<17} {row['command']:<32} p50 {row['p50_ms']:7.1f} ms  "
            f"p95 {row['p95_ms']:7.1f} ms  max {row['max_ms']:7.1f} ms  "
            f"printed {row['printed']}/{row['n']}  nonzero exits {row['nonzero_exit']}"
        )
    bare = report["bare_python"]
    print(f"{'(python -c pass)':<50} p50 {bare['p50_ms']:7.1f} ms  p95 {bare['p95_ms']:7.1f} ms")
    for path, row in report["server"].items():
        if isinstance(row, dict):
            print(
                f"server {path:<12} p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms  "
                f"(one client, n={row['n']})"
            )
        else:
            print(f"server {path:<12} {row}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
