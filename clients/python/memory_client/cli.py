"""`memory`: the memory service from a shell, for people and for agents.

Exit codes: 0 success; 1 the server refused the request (the message says why); 2 usage or
configuration error; 3 the server could not be reached; 141 (128 + SIGPIPE, as other
command-line tools) the reader of the output went away (`memory ... --json | head`), quietly."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel

from memory_client import agent_memory, checkout, doctor, render
from memory_client.client import MemoryClient
from memory_client.config import check_url, config_file, missing_key_message, resolve, save
from memory_client.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    MemoryClientError,
)
from memory_client.frontmatter import field
from memory_client.importer import RESULTS, Outcome, discover, parse_mapping, run_import
from memory_client.integrations import claude_code, claude_code_command, claude_code_prompt, codex
from memory_client.models import KINDS, Kind
from memory_client.workspace import Workspace, check_project_slug, check_worktree, detect

EXIT_API = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_BROKEN_PIPE = 141
# The server's limit on a checked command (POST /v1/check).
CHECK_MAX_CHARS = 4000

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A mistake in how the command was called; exit code 2."""


# --- helpers -------------------------------------------------------------------------------


def _client() -> MemoryClient:
    config = resolve()
    if not config.api_key:
        raise UsageError(missing_key_message())
    return MemoryClient(config.url, config.api_key)


def _workspace(args: argparse.Namespace, *, context: bool = False) -> Workspace:
    ws = detect(Path.cwd(), context=context)
    project = getattr(args, "project", None)
    worktree = getattr(args, "worktree", None)
    try:
        if project:
            check_project_slug(project)
        if worktree:
            check_worktree(worktree)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return ws.named(project, worktree)


def _emit(args: argparse.Namespace, model: BaseModel | dict[str, Any], text: str) -> None:
    if args.json:
        data = model if isinstance(model, dict) else model.model_dump(mode="json")
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(text)


def _read_body(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {args.file}: {exc}") from exc
    if stdin.isatty():
        raise UsageError("pipe the handoff markdown on stdin or pass --file FILE")
    return stdin.read()


def _kinds(values: list[str] | None) -> list[Kind] | None:
    if not values:
        return None
    kinds: list[Kind] = []
    for value in values:
        for part in value.split(","):
            name = part.strip()
            match = next((k for k in KINDS if k == name), None)
            if match is None:
                raise UsageError(f"unknown kind {name!r}; choose from {', '.join(KINDS)}")
            kinds.append(match)
    return kinds


def _detected_tool() -> str | None:
    # Claude Code sets CLAUDECODE=1 in the shells it runs.
    return "claude-code" if os.environ.get("CLAUDECODE") == "1" else None


# --- commands --------------------------------------------------------------------------------


def cmd_handoff_write(args: argparse.Namespace) -> int:
    body = _read_body(args, sys.stdin)
    if not body.strip():
        raise UsageError("the handoff is empty")
    ws = _workspace(args)
    # Front matter the agent wrote wins over what the CLI guesses; explicit options win over
    # both (the server applies request fields over front matter).
    with _client() as client:
        result = client.create_handoff(
            ws,
            body,
            recipient=args.to,
            topic=args.topic,
            tool=args.tool or (None if field(body, "session_tool", "tool") else _detected_tool()),
            session_id=args.session_id,
            visibility=args.visibility,
        )
    _emit(args, result, render.created(result))
    return 0


def cmd_handoff_list(args: argparse.Namespace) -> int:
    project = None if args.all else _workspace(args).project
    with _client() as client:
        page = client.list_handoffs(
            project=project, recipient=args.to, status=args.status, limit=args.limit
        )
    _emit(args, page, render.handoff_list(page.items))
    return 0


def cmd_handoff_show(args: argparse.Namespace) -> int:
    with _client() as client:
        handoff = client.get_handoff(args.id)
    header = (
        f"{handoff.sentinel} ({handoff.id}) · {handoff.project} → {handoff.recipient} · "
        f"{handoff.status} · {handoff.created_at:%Y-%m-%d %H:%M} UTC"
    )
    _emit(args, handoff, f"{header}\n\n{handoff.body.strip()}")
    return 0


def cmd_handoff_delete(args: argparse.Namespace) -> int:
    with _client() as client:
        client.delete_handoff(args.id)
    _emit(args, {"deleted": args.id}, f"Deleted handoff {args.id} and its learnings.")
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    with _client() as client:
        if args.claim:
            inbox = client.run(checkout.claim_inbox(ws))
        else:
            inbox = client.peek_inbox(ws.project, ws.worktree)
    text = render.inbox(inbox, claimed=args.claim, worktree=ws.worktree, project=ws.project)
    _emit(args, inbox, text)
    return 0


def cmd_brief(args: argparse.Namespace) -> int:
    # Without --task the checkout says what the session is about (branch, commits, changes).
    ws = _workspace(args, context=not args.task)
    with _client() as client:
        files = checkout.read_checkout(client, ws)
        brief = client.run(
            checkout.brief(ws, task=args.task, token_budget=args.budget, files=files)
        )
    _emit(args, brief, brief.markdown.rstrip())
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    with _client() as client:
        result = client.run(
            checkout.search(
                ws,
                args.query,
                k=args.k,
                all_projects=args.all,
                kinds=_kinds(args.kind),
                mode=args.mode,
                files=checkout.read_checkout(client, ws),
            )
        )
    _emit(args, result, render.search(result))
    return 0


def cmd_recall(args: argparse.Namespace) -> int:
    text = " ".join(args.text).strip()
    if not text:
        raise UsageError("say what you are about to do: memory recall TEXT")
    ws = _workspace(args)
    with _client() as client:
        result = client.run(
            checkout.recall(
                ws,
                text,
                session_id=args.session_id,
                k=args.k,
                files=checkout.read_checkout(client, ws),
            )
        )
    _emit(args, result, render.recall(result))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 whatever the answer, and also when the server cannot answer: a check informs,
    it never stops the command (a script running `memory check -- CMD && CMD` keeps working
    with the server down)."""
    words = list(args.cmd)
    if words and words[0] == "--":
        words = words[1:]
    if not words or not any(w.strip() for w in words):
        raise UsageError("give the command to check after `--`: memory check -- terraform apply")
    command = words[0] if len(words) == 1 else shlex.join(words)
    if len(command) > CHECK_MAX_CHARS:
        raise UsageError(f"the command is longer than {CHECK_MAX_CHARS} characters")
    ws = _workspace(args)
    try:
        with _client() as client:
            result = client.run(
                checkout.check(
                    ws,
                    command,
                    k=args.k,
                    session_id=os.environ.get("MEMORY_SESSION_ID"),
                    files=checkout.read_checkout(client, ws),
                )
            )
    except (ConnectionFailed, APIError) as exc:
        print(
            f"memory: could not check the command ({exc}); run it as you meant to", file=sys.stderr
        )
        return 0
    _emit(args, result, render.check(result, command))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    with _client() as client:
        result = client.forget(args.id)
    _emit(args, result, f"Forgot {result.deleted} learning(s) (the learning and its copies).")
    return 0


def cmd_supersede(args: argparse.Namespace) -> int:
    with _client() as client:
        if args.undo:
            result = client.unsupersede(args.old)
            _emit(args, result, f"{result.id} is current again.")
        else:
            result = client.supersede(args.old, args.by)
            _emit(args, result, f"{result.id} is superseded by {result.superseded_by}.")
    return 0


def cmd_reopen(args: argparse.Namespace) -> int:
    with _client() as client:
        result = client.reopen(args.id)
    _emit(args, result, f"{result.id} is open again.")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    if (args.value is None) == (args.undo is None):
        print(
            "memory feedback: give a value (helpful, wrong, outdated) or --undo FEEDBACK_ID",
            file=sys.stderr,
        )
        return 2
    with _client() as client:
        if args.undo is not None:
            result = client.undo_feedback(args.id, args.undo)
            text = f"Undid feedback {result.id} ({result.value}) on learning {result.short_id}."
        else:
            result = client.feedback(args.id, args.value, note=args.note)
            effect = {
                "helpful": "it ranks a little higher",
                "wrong": "it no longer appears in briefs"
                if result.wrong
                else "it is demoted (only a key with write scope can hide it)",
                "outdated": "it is demoted and marked outdated",
            }[result.value]
            text = (
                f"Recorded {result.value} on learning {result.short_id} (feedback {result.id}): "
                f"{effect}. Undo: memory feedback {result.short_id} --undo {result.id}"
            )
    _emit(args, result, text)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 only when the server is ready AND accepts the key: 3 unreachable or not ready,
    1 the key is refused (wrong or revoked), 2 no key at all."""
    config = resolve()
    ws = _workspace(args)
    report: dict[str, Any] = {
        "url": config.url,
        "url_source": config.url_source,
        "api_key_source": config.key_source,
        "project": ws.project,
        "worktree": ws.worktree,
        "branch": ws.branch,
        "head": ws.head,
    }
    code = 0
    key_state = "accepted" if config.api_key else "none found"
    try:
        doctor.verify(config.url, config.api_key)
        report["server"] = "ready"
    except AuthenticationError as exc:
        report["server"] = "ready"
        key_state = f"refused by the server ({exc.message})"
        code = EXIT_API
    except MemoryClientError as exc:
        report["server"] = f"not ready: {exc}"
        key_state = "not checked"
        code = EXIT_UNREACHABLE
    report["api_key"] = key_state
    lines = [
        f"server   {config.url} ({config.url_source}): {report['server']}",
        f"api key  {config.key_source or 'none'}: {key_state}",
        f"project  {ws.project}",
        f"worktree {ws.worktree}" + (f" on {ws.branch}" if ws.branch else ""),
    ]
    _emit(args, report, "\n".join(lines))
    if code == EXIT_API:
        return _fail(
            f"the server refused the key from {config.key_source}: wrong or revoked; "
            "`memory login` with a valid one",
            EXIT_API,
        )
    if code:
        return code
    return 0 if config.api_key else _fail(missing_key_message(), EXIT_USAGE)


def _read_key(value: str | None) -> str | None:
    """A key given on the command line, else piped on stdin, else typed at a prompt (not
    echoed); None when nothing was given."""
    if value is None:
        if sys.stdin.isatty():
            value = getpass.getpass("API key (empty: keep the one memory finds now): ")
        else:
            value = sys.stdin.readline()
    return value.strip() or None


def _checked_save(url: str, key: str | None, values: dict[str, str]) -> str:
    """Checks `key` against the server at `url`, then writes `values` to the config file;
    nothing is written when the check fails. Returns what happened, for the user."""
    try:
        doctor.verify(url, key)
    except AuthenticationError as exc:
        raise _Refused(
            f"the server at {url} refused the key ({exc.message}): wrong or revoked; "
            "nothing was written"
        ) from exc
    path = save(values)
    shadowed = [v for v in ("MEMORY_URL", "MEMORY_API_KEY") if os.environ.get(v)]
    note = (
        f" ({' and '.join(shadowed)} in this shell still win over the file; unset them to use it)"
        if shadowed
        else ""
    )
    checked = "the key is accepted" if key else "no key to check yet"
    return f"{url} is ready and {checked}. Saved {' and '.join(values)} to {path}.{note}"


class _Refused(Exception):
    """The server refused the key being configured; exit code 1."""


def cmd_login(args: argparse.Namespace) -> int:
    current = resolve()
    url = check_url(args.url, "--url") if args.url else current.url
    key = _read_key(None) or current.api_key
    if not key:
        raise UsageError(f"give the API key on stdin or at the prompt ({missing_key_message()})")
    try:
        text = _checked_save(url, key, {"url": url, "api_key": key})
    except _Refused as exc:
        return _fail(str(exc), EXIT_API)
    _emit(args, {"url": url, "config_file": str(config_file())}, text)
    return 0


def cmd_config_set(args: argparse.Namespace) -> int:
    current = resolve()
    if args.name == "url":
        url = check_url(args.value or "", "memory config set url")
        key = current.api_key
        values = {"url": url}
    else:
        url = current.url
        key = _read_key(args.value)
        if not key:
            raise UsageError("give the key: memory config set api_key KEY, or on stdin")
        values = {"api_key": key}
    try:
        text = _checked_save(url, key, values)
    except _Refused as exc:
        return _fail(str(exc), EXIT_API)
    _emit(args, {"set": list(values), "config_file": str(config_file())}, text)
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    config = resolve()
    path = config_file()
    shown_key = f"{config.api_key[:8]}…" if config.api_key else None
    report = {
        "url": config.url,
        "url_source": config.url_source,
        "api_key": shown_key,
        "api_key_source": config.key_source,
        "config_file": str(path),
        "config_file_exists": path.exists(),
    }
    lines = [
        f"url      {config.url} ({config.url_source})",
        f"api_key  {shown_key or 'none'}" + (f" ({config.key_source})" if shown_key else ""),
        f"file     {path}" + ("" if path.exists() else " (not there yet: `memory login`)"),
    ]
    _emit(args, report, "\n".join(lines))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = doctor.run_checks(Path.cwd())
    lines = []
    for check in checks:
        lines.append(f"{check.outcome:<5} {check.name:<12} {check.detail}")
        if check.fix:
            lines.append(f"{'':<5} {'':<12} fix: {check.fix}")
    failed = sum(c.outcome == "fail" for c in checks)
    lines.append("All good." if not failed else f"{failed} problem(s) to fix.")
    _emit(args, {"checks": [c.as_json() for c in checks], "ok": not failed}, "\n".join(lines))
    return EXIT_API if failed else 0


def _import_mapping(args: argparse.Namespace) -> dict[str, str]:
    """Inbox folder -> project, from `--map-file` and then `--map` (which wins)."""
    mapping: dict[str, str] = {}
    try:
        if args.map_file:
            path = Path(args.map_file).expanduser()
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"cannot read the mapping file {path}: {exc}") from exc
            mapping.update(parse_mapping(lines, str(path)))
        mapping.update(parse_mapping(args.map or [], "--map"))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return mapping


def _unmapped_lines(outcomes: list[Outcome]) -> list[str]:
    """One line per folder no project was found for (its files share the message)."""
    folders: dict[str, int] = {}
    for o in outcomes:
        if o.result == "unmapped":
            folders[o.message] = folders.get(o.message, 0) + 1
    return [f"unmapped ({n} file(s) not imported): {message}" for message, n in folders.items()]


def cmd_import(args: argparse.Namespace) -> int:
    if args.source_tool:
        return cmd_import_agent_memory(args)
    if args.path is None:
        # agent-handoff's inbox, where most file-based handoffs of a newcomer already are.
        default = Path.home() / ".agent-handoffs"
        if not default.is_dir():
            raise UsageError(
                f"give the inbox root to import ({default} does not exist), or --from "
                "claude-code|codex|agents-md"
            )
        args.path = str(default)
    try:
        items, refused = discover(
            Path(args.path),
            project=args.project,
            loose_status=args.loose_status,
            mapping=_import_mapping(args),
        )
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    if args.dry_run:
        plan = [
            {
                "path": str(i.path),
                "project": i.project,
                "recipient": i.recipient,
                "status": i.status,
                "folder": i.folder,
                "mapped_by": i.mapped_by,
            }
            for i in items
        ]
        unmapped = [o.as_json() for o in refused if o.result == "unmapped"]
        text = "\n".join(
            f"{i.status:<6} {i.project} → {i.recipient or '(front matter `to`)'}  {i.path}"
            for i in items
        )
        lines = [text or "Nothing to import.", *_unmapped_lines(refused)]
        _emit(args, {"would_import": plan, "unmapped": unmapped}, "\n".join(lines))
        return EXIT_API if unmapped else 0
    outcomes = list(refused)
    if items:
        # Imported here, the one command that shows a progress bar.
        from tqdm import tqdm

        # A bar only for imports long enough to wait on, and only on a terminal.
        with (
            _client() as client,
            tqdm(
                total=len(items),
                unit="handoff",
                file=sys.stderr,
                disable=True if args.json or len(items) < 10 else None,
            ) as bar,
        ):
            outcomes += run_import(client, items, progress=lambda _: bar.update())
    counts: dict[str, int] = {r: sum(o.result == r for o in outcomes) for r in RESULTS}
    lines = [f"{o.result}: {o.path}: {o.message}" for o in outcomes if o.result == "failed"]
    lines += _unmapped_lines(outcomes)
    marked = f"marked read {counts['marked_read']} (read since the last import), "
    left_out = f", unmapped {counts['unmapped']} (not imported)" if counts["unmapped"] else ""
    lines.append(
        f"Imported {counts['imported']}, {marked if counts['marked_read'] else ''}"
        f"skipped {counts['skipped']} (already there), failed {counts['failed']}{left_out}."
    )
    _emit(args, {**counts, "items": [o.as_json() for o in outcomes]}, "\n".join(lines))
    return EXIT_API if counts["failed"] or counts["unmapped"] else 0


def cmd_import_agent_memory(args: argparse.Namespace) -> int:
    """`memory import --from TOOL [PATH]`: an agent's own memory, as learnings (agent_memory.py)."""
    try:
        options = agent_memory.Options(Path.home(), args.project, _import_mapping(args))
        path = Path(args.path) if args.path else None
        sources = agent_memory.discover(args.source_tool, path, options)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from exc
    if args.dry_run:
        _emit(args, *agent_memory.plan_report(sources))
        return 0
    with _client() as client:
        outcomes = agent_memory.run_import(client, sources)
    report, text = agent_memory.import_report(outcomes, verbose=args.verbose)
    _emit(args, report, text)
    return EXIT_API if report["failed"] or report["unmapped"] else 0


def cmd_install(args: argparse.Namespace) -> int:
    try:
        replace = getattr(args, "replace_agent_handoff", False)
        if args.agent == "claude-code" and args.action == "install":
            ws = detect()
            done = claude_code.install(
                replace_agent_handoff=replace, project_dir=ws.root if ws.in_git else None
            )
        elif args.agent == "claude-code":
            done = claude_code.uninstall()
        elif args.action == "install":
            done = codex.install(replace_agent_handoff=replace)
        else:
            done = codex.uninstall()
        if args.action == "install":
            # Hooks and MCP servers the agent starts may not see this shell's variables.
            done += doctor.record_for_agents()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    _emit(args, {"agent": args.agent, "action": args.action, "done": done}, "\n".join(done))
    return 0


def cmd_hook(args: argparse.Namespace) -> int:
    if args.agent == "claude-code-prompt":
        return claude_code_prompt.run_hook(sys.stdin, sys.stdout)
    if args.agent == "claude-code-command":
        return claude_code_command.run_hook(sys.stdin, sys.stdout)
    return claude_code.run_hook(sys.stdin, sys.stdout, budget=args.budget)


def cmd_mcp(args: argparse.Namespace) -> int:
    # Imported only here: the MCP SDK takes most of a second to import, which `memory hook`
    # (2 s for everything) must not pay.
    from memory_client.mcp_server import serve

    serve()
    return 0


# --- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    # `--json` is accepted before or after the subcommand; SUPPRESS keeps the subcommand's
    # default from overwriting a `--json` given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    parser = argparse.ArgumentParser(
        prog="memory",
        description="Shared memory for coding agents: handoffs between sessions and searchable "
        "learnings. Server and key: MEMORY_URL / MEMORY_API_KEY, else ~/.config/memory/"
        "config.toml, else the local server's saved admin key.",
        epilog="Exit codes: 0 ok, 1 refused by the server, 2 usage or configuration, "
        "3 server unreachable.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help_: str, **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_, description=help_, **kw)
        p.set_defaults(func=handler)
        return p

    def where(p: argparse.ArgumentParser, worktree: bool = True) -> None:
        p.add_argument("--project", help="project slug (default: from this git checkout)")
        if worktree:
            p.add_argument("--worktree", help="worktree name (default: this checkout's folder)")

    handoff = sub.add_parser("handoff", help="write, list, show or delete handoffs")
    hsub = handoff.add_subparsers(dest="handoff_command", metavar="ACTION", required=True)

    write = hsub.add_parser(
        "write",
        parents=[common],
        help="send a handoff (markdown from --file or stdin) to a worktree's next session",
    )
    write.set_defaults(func=cmd_handoff_write)
    write.add_argument("--to", metavar="WORKTREE", help="recipient worktree (default: this one)")
    write.add_argument("--topic", metavar="T", help="a few words naming the work")
    write.add_argument("--file", metavar="F", help="read the markdown from F instead of stdin")
    write.add_argument("--tool", help="the agent writing it (claude-code, codex, ...)")
    write.add_argument("--session-id", help="the writing session's id")
    write.add_argument("--visibility", choices=["team", "project"])
    where(write, worktree=False)

    listing = hsub.add_parser("list", parents=[common], help="list handoffs, newest first")
    listing.set_defaults(func=cmd_handoff_list)
    listing.add_argument("--to", metavar="WORKTREE", help="only this recipient")
    listing.add_argument("--status", choices=["unread", "read"])
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--all", action="store_true", help="every project, not just this one")
    where(listing, worktree=False)

    show = hsub.add_parser("show", parents=[common], help="print one handoff (stays unread)")
    show.set_defaults(func=cmd_handoff_show)
    show.add_argument("id")

    delete = hsub.add_parser("delete", parents=[common], help="delete a handoff and learnings")
    delete.set_defaults(func=cmd_handoff_delete)
    delete.add_argument("id")

    inbox = add("inbox", cmd_inbox, "show this worktree's unread handoffs (--claim: take them)")
    inbox.add_argument(
        "--claim", action="store_true", help="take delivery: print them and mark them read"
    )
    where(inbox)

    brief = add(
        "brief", cmd_brief, "start-up brief: this worktree's handoffs (now read) and learnings"
    )
    brief.add_argument(
        "--task",
        metavar="TEXT",
        help="what this session will do (without it: the checkout's branch, commits and changes)",
    )
    brief.add_argument("--budget", metavar="N", type=int, default=800, help="max tokens")
    where(brief)

    search = add("search", cmd_search, "search past learnings (default: this project)")
    search.add_argument("query")
    scope = search.add_mutually_exclusive_group()
    scope.add_argument("--project", metavar="SLUG", help="search this project")
    scope.add_argument("--all", action="store_true", help="search every project")
    search.add_argument(
        "--kind", metavar="K", action="append", help="only this kind (repeat or comma-separate)"
    )
    search.add_argument("-k", type=int, default=10, help="number of results")
    search.add_argument("--mode", choices=["hybrid", "vector", "text"], default="hybrid")

    recall = add(
        "recall",
        cmd_recall,
        "the few past learnings clearly relevant to what you are about to do (or nothing)",
    )
    recall.add_argument("text", nargs="+", help="the task or question, as you would say it")
    recall.add_argument(
        "-k", type=int, default=3, choices=range(1, 6), metavar="K", help="at most K (1-5)"
    )
    recall.add_argument("--session-id", help="a learning is given to a session once")
    where(recall, worktree=False)

    check = add(
        "check",
        cmd_check,
        "before a risky command (deploy, migration, destructive op, infra apply): the past "
        "mistakes it closely matches; prints nothing alarming for everyday commands; exit 0",
    )
    check.add_argument("-k", type=int, choices=[1, 2, 3], default=2, help="at most K warnings")
    where(check, worktree=False)
    check.add_argument(
        "cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command, after `--`"
    )

    forget = add("forget", cmd_forget, "forget a learning (and its near-duplicates) by id")
    forget.add_argument("id")
    sup = add(
        "supersede",
        cmd_supersede,
        "mark a learning as replaced by a later one of the same project (or --undo)",
    )
    sup.add_argument("old", help="the learning that is no longer true")
    how = sup.add_mutually_exclusive_group(required=True)
    how.add_argument("--by", help="the later learning that replaces it")
    how.add_argument("--undo", action="store_true", help="make it current again")
    reopen = add("reopen", cmd_reopen, "reopen a next step a later handoff marked done")
    reopen.add_argument("id")

    fb = add(
        "feedback",
        cmd_feedback,
        "report a learning from a brief or search helpful, wrong or outdated (by its id or the "
        "short id the brief shows), or undo a report",
    )
    fb.add_argument("id", help="the learning's id or short id")
    fb.add_argument("value", nargs="?", choices=["helpful", "wrong", "outdated"])
    fb.add_argument("--note", help="why, in a sentence")
    fb.add_argument("--undo", type=int, metavar="FEEDBACK_ID", help="undo this report instead")

    status = add(
        "status",
        cmd_status,
        "show the server, key source and detected workspace; check the server accepts the key",
    )
    where(status)

    login = add(
        "login",
        cmd_login,
        "check an API key (read from stdin or a prompt) against the server and save server "
        "and key to the config file (mode 0600)",
    )
    login.add_argument("--url", help="the server (default: the one memory finds now)")

    config = sub.add_parser("config", help="show or set the saved server and key")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = csub.add_parser(
        "show", parents=[common], help="the server and key memory uses, and where each is from"
    )
    show.set_defaults(func=cmd_config_show)
    setting = csub.add_parser(
        "set",
        parents=[common],
        help="check a server URL or API key against the server, then save it to the config file",
    )
    setting.set_defaults(func=cmd_config_set)
    setting.add_argument("name", choices=["url", "api_key"])
    setting.add_argument("value", nargs="?", help="the value (api_key: else stdin or a prompt)")

    add(
        "doctor",
        cmd_doctor,
        "check server, key, project detection, installed hooks and whether they reach the "
        "server; say what to fix",
    )

    imp = add(
        "import",
        cmd_import,
        "import a file-based handoff inbox or HANDOFF.md files, or an agent's own memory (--from)",
    )
    imp.add_argument(
        "path",
        nargs="?",
        help="inbox root (<root>/<project>/<recipient>/{unread,read}/*.md; default: "
        "agent-handoff's ~/.agent-handoffs) or a HANDOFF.md; with --from: the tool's memory "
        "folder or file (default: its own place; agents-md: the current folder)",
    )
    imp.add_argument(
        "--from",
        dest="source_tool",
        choices=agent_memory.TOOLS,
        help="import an agent's own memory as learnings: claude-code (~/.claude/projects/*/"
        "memory), codex (~/.codex/memories), agents-md (CLAUDE.md / AGENTS.md files)",
    )
    imp.add_argument(
        "--map",
        action="append",
        metavar="FOLDER=SLUG",
        help="the project of an inbox folder (e.g. home-me-work-widgets=github.com/acme/"
        "widgets), or with --from of a memory folder, Codex cwd or file's folder, whose "
        "repository is not on this machine; repeatable, wins over --map-file",
    )
    imp.add_argument(
        "--map-file",
        metavar="FILE",
        help="FOLDER=SLUG lines, as --map takes them (# comments and blank lines skipped)",
    )
    imp.add_argument("--verbose", "-v", action="store_true", help="with --from: every file")
    imp.add_argument(
        "--project", help="project for loose HANDOFF.md files (or, with --from, memory) outside git"
    )
    imp.add_argument(
        "--loose-status",
        choices=["unread", "read"],
        default="unread",
        help="state of loose HANDOFF.md files (default: unread, i.e. still to deliver)",
    )
    imp.add_argument("--dry-run", action="store_true", help="list what would be imported")

    for action in ("install", "uninstall"):
        p = add(action, cmd_install, f"{action} the integration with an agent")
        p.add_argument("agent", choices=["claude-code", "codex"])
        p.set_defaults(action=action)
        if action == "install":
            p.add_argument(
                "--replace-agent-handoff",
                action="store_true",
                help="remove agent-handoff's SessionStart hook, so one tool delivers "
                "handoffs: claude-code (user settings, this project's .claude/settings.json, "
                "and its /handoff skill link), codex (~/.codex/hooks.json)",
            )

    hook = add("hook", cmd_hook, "agent hooks (reads the hook JSON on stdin)")
    hook.add_argument(
        "agent",
        choices=["claude-code", "claude-code-prompt", "claude-code-command"],
        help="claude-code: the SessionStart brief; claude-code-prompt: the UserPromptSubmit "
        "recall; claude-code-command: the PreToolUse warnings for a Bash command",
    )
    hook.add_argument("--budget", type=int, default=800, help="max tokens of the brief")

    add("mcp", cmd_mcp, "serve the memory tools over MCP (stdio)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "func", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code = handler(args)
        sys.stdout.flush()  # a reader that went away is noticed here, not at exit
        return code
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except (UsageError, ConfigurationError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except ConnectionFailed as exc:
        return _fail(f"{exc}. Is the server running (`make run`)?", EXIT_UNREACHABLE)
    except AuthenticationError as exc:
        return _fail(
            f"{exc.message}; check MEMORY_API_KEY or the config file (`memory doctor`)", EXIT_API
        )
    except APIError as exc:
        return _fail(str(exc), EXIT_API)
    except KeyboardInterrupt:
        return 130


def _discard_stdout() -> None:
    """Points stdout at the null device: what is still buffered for a reader that went away
    would otherwise fail again, with a traceback, when the interpreter flushes it at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind stdout (embedded, captured)
        pass


def _fail(message: str, code: int) -> int:
    print(f"memory: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
