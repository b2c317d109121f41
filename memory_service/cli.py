"""`memory-service`: run the server, migrate, manage keys."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable
from contextlib import nullcontext
from typing import IO, TYPE_CHECKING, Any

from memory_service import migrate
from memory_service.config import Settings
from memory_service.operator_db import database_url, operator_engine, operator_session

if TYPE_CHECKING:
    from types import FrameType

    from memory_service.portability import ExportReport, ImportReport


def cmd_run(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from memory_service.app import StartupRefused, create_app, refuse_unsafe_settings

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        refuse_unsafe_settings(settings)
    except StartupRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    where = (
        "MEMORY_DATABASE_URL"
        if settings.database_url
        else f"embedded PostgreSQL in {settings.embedded_pgdata}"
    )
    print(
        f"memory-service listening on http://{settings.host}:{settings.port} ({where})", flush=True
    )
    print(f"admin API key file: {settings.admin_key_file}", flush=True)
    app = create_app(settings)
    # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, which runs the lifespan's
    # teardown: the pool closes and the embedded PostgreSQL is stopped, no orphan left. Then
    # it restores the handlers it found and raises the signal again: with Python's own, the
    # process would die of it (a traceback for Ctrl-C, and `make run` reporting an error for
    # a clean stop). The ones found are these, so a requested stop ends with exit code 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stopped)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )
    return 0


def _stopped(signum: int, frame: FrameType | None) -> None:
    """The signal uvicorn raises again once it has shut down: the stop is done."""


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        if args.downgrade:
            migrate.downgrade(url, args.downgrade)
        else:
            migrate.upgrade(url, args.revision)
    print("migrations applied")
    return 0


async def _keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.admin.service import operator_new_key
    from memory_service.auth.keys import parse_scopes

    try:
        scopes = parse_scopes(args.scopes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    projects = [p.strip() for p in args.projects.split(",")] if args.projects else None
    async with operator_session(settings) as session:
        created = await operator_new_key(
            session, args.team, scopes, name=args.name, projects=projects
        )
    print(created.plaintext)
    print(
        f"team={args.team} scopes={','.join(scopes)} prefix={created.key.prefix} "
        "(the key is shown only this once)",
        file=sys.stderr,
    )
    return 0


async def _keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.admin.service import operator_list_keys

    async with operator_session(settings) as session:
        rows = await operator_list_keys(session)
    for team_name, key in rows:
        state = "revoked" if key.revoked_at else "active"
        print(f"{team_name}\t{key.prefix}\t{','.join(key.scopes)}\t{state}\t{key.name or ''}")
    return 0


async def _keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.admin.service import operator_revoke

    async with operator_session(settings) as session:
        revoked = await operator_revoke(session, args.prefix)
    if revoked is None:
        print(f"error: no active key with prefix {args.prefix}", file=sys.stderr)
        return 1
    print(f"revoked {args.prefix}")
    return 0


def cmd_eval_brief(_: Settings, args: argparse.Namespace) -> int:
    from memory_service.brief_eval import run_cli

    return run_cli(args)


def cmd_eval_timelines(_: Settings, args: argparse.Namespace) -> int:
    from memory_service.timeline_eval import run_cli

    return run_cli(args)


def cmd_eval(_: Settings, args: argparse.Namespace) -> int:
    # Imported here: `memory-service run` should not pay for the evaluator's imports.
    from memory_service.evaluation import run_cli

    return run_cli(args)


async def _reembed(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.db import session_factory
    from memory_service.embeddings import Embedder
    from memory_service.learnings.service import reembed

    async with operator_engine(settings) as engine:
        sessions = session_factory(engine)
        team = None
        if args.team is not None:
            from memory_service.forgetting.service import operator_team
            from memory_service.operator_db import system_transaction

            async with system_transaction(sessions) as session:
                team = await operator_team(session, args.team)
            if team is None:
                print(f"error: no team {args.team}", file=sys.stderr)
                return 1
        embedder = Embedder.from_settings(settings).load()
        done = await reembed(
            sessions,
            embedder,
            batch_size=args.batch_size,
            team=team,
            progress=sys.stderr.isatty(),
        )
    print(f"re-embedded {done} learning(s) with {settings.embedding_model}")
    return 0


async def _export(settings: Settings, team: str, out: IO[str]) -> ExportReport:
    from memory_service.embeddings import Embedder
    from memory_service.portability import export_team

    # The model name as it is stored next to embeddings (aliases of the bundled one folded).
    model = Embedder(settings.embedding_model).name
    async with operator_engine(settings) as engine:
        return await export_team(engine, team, out, embedding_model=model)


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    import os
    import tempfile
    from pathlib import Path

    from memory_service.portability import PortabilityError

    try:
        if args.output is None:
            report = asyncio.run(_export(settings, args.team, sys.stdout))
            sys.stdout.flush()
        else:
            # Written beside the target and renamed once complete: a failed export never
            # leaves a partial file under the requested name.
            target = Path(args.output)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            try:
                with os.fdopen(fd, "w", encoding="ascii") as out:
                    report = asyncio.run(_export(settings, args.team, out))
                os.replace(tmp, target)
            finally:
                Path(tmp).unlink(missing_ok=True)
    except PortabilityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{n} {what}" for what, n in report.counts.items())
    print(f"exported team {report.team}: {counts}", file=sys.stderr)
    return 0


async def _import(settings: Settings, source: Iterable[str], team: str | None) -> ImportReport:
    from memory_service.embeddings import Embedder
    from memory_service.portability import import_lines

    model = Embedder(settings.embedding_model).name
    async with operator_engine(settings) as engine:
        return await import_lines(engine, source, team=team, embedding_model=model)


async def _import_bulk(settings: Settings, args: argparse.Namespace) -> ImportReport:
    from pathlib import Path

    from memory_service.bulkload import import_bulk
    from memory_service.embeddings import Embedder

    model = Embedder(settings.embedding_model).name
    async with operator_engine(settings) as engine:
        return await import_bulk(
            engine,
            Path(args.file),
            team=args.team,
            embedding_model=model,
            chunk_rows=args.chunk_rows,
            rebuild_indexes=args.rebuild_indexes,
            progress=sys.stderr.isatty(),
        )


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.portability import PortabilityError

    if not args.bulk and (args.rebuild_indexes or args.chunk_rows is not None):
        print("error: --rebuild-indexes and --chunk-rows go with --bulk", file=sys.stderr)
        return 2
    if args.bulk and args.file == "-":
        print("error: --bulk reads a file twice: name the file, not stdin", file=sys.stderr)
        return 2
    if args.bulk and args.chunk_rows is None:
        from memory_service.bulkload import CHUNK_ROWS

        args.chunk_rows = CHUNK_ROWS
    if args.bulk and args.chunk_rows < 1:
        print("error: --chunk-rows must be at least 1", file=sys.stderr)
        return 2
    try:
        if args.bulk:
            # Its errors say themselves what was imported (nothing, or the chunks before).
            report = asyncio.run(_import_bulk(settings, args))
        else:
            with (
                open(args.file, encoding="utf-8") if args.file != "-" else nullcontext(sys.stdin)
            ) as source:
                report = asyncio.run(_import(settings, source, args.team))
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except (PortabilityError, UnicodeDecodeError) as exc:
        suffix = "" if args.bulk else "; nothing was imported"
        print(f"error: {exc}{suffix}", file=sys.stderr)
        return 1
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    created = " (created)" if report.team_created else ""
    inserted = ", ".join(f"{n} {what}" for what, n in report.inserted.items())
    present = ", ".join(f"{n} {what}" for what, n in report.present.items())
    print(f"imported into team {report.team}{created}: {inserted}; already there: {present}")
    if report.linked:
        print(f"linked {report.linked} learning(s) as near-duplicates of the team's own")
    if report.indexes_built:
        print(f"built index(es): {', '.join(report.indexes_built)}")
    return 0


async def _forgetting(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.audit.service import OPERATOR
    from memory_service.db import session_factory
    from memory_service.forgetting import service as forgetting
    from memory_service.forgetting.schemas import ForgettingPolicy, ForgettingRun
    from memory_service.operator_db import system_transaction

    result: ForgettingRun | None = None
    async with operator_engine(settings) as engine:
        sessions = session_factory(engine)
        async with system_transaction(sessions) as session:
            team_id = await forgetting.operator_team(session, args.team)
            if team_id is None:
                print(f"error: no team {args.team}", file=sys.stderr)
                return 1
            policy = await forgetting.operator_policy(session, team_id)
            if args.forgetting_command == "set":
                days = {
                    "forget_unused_days": args.unused_days,
                    "next_step_expiry_days": args.next_days,
                }
                wanted = policy.model_dump()
                wanted.update({k: (v or None) for k, v in days.items() if v is not None})
                try:
                    checked = ForgettingPolicy.model_validate(wanted)
                except ValueError as exc:
                    print(f"error: days must be 1-10000 (0: off): {exc}", file=sys.stderr)
                    return 2
                policy = await forgetting.set_policy(session, OPERATOR, team_id, checked)
            elif args.forgetting_command == "run" and args.dry_run:
                result = await forgetting.run(
                    session, OPERATOR, team_id, dry_run=True, limit=args.limit
                )
        if args.forgetting_command == "run" and not args.dry_run:
            # A batch of clusters per transaction, committed as it goes, this team only.
            result = await forgetting.run_in_batches(sessions, OPERATOR, team_id, limit=args.limit)
    if result is not None:
        for item in result.learnings:
            print(f"{item.id}\t{item.reason}\t{item.kind}\t{item.project}\t{item.text[:80]}")
        verb = "would forget" if result.dry_run else "forgot"
        count = len(result.learnings) if result.dry_run else result.forgotten
        more = " (more remain: run again)" if result.more else ""
        print(f"{verb} {count} learning(s){more}", file=sys.stderr)
        return 0
    print(
        f"team={args.team} forget_unused_days={policy.forget_unused_days or 'off'} "
        f"next_step_expiry_days={policy.next_step_expiry_days or 'off'}"
    )
    return 0


def _sync(
    fn: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]],
) -> Callable[[Settings, argparse.Namespace], int]:
    return lambda settings, args: asyncio.run(fn(settings, args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory-service", description=__doc__)
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="start the HTTP server (the default)")
    run.set_defaults(func=cmd_run)

    mig = sub.add_parser("migrate", help="apply schema migrations")
    mig.add_argument("revision", nargs="?", default="head")
    mig.add_argument("--downgrade", metavar="REVISION", help="downgrade to REVISION instead")
    mig.set_defaults(func=cmd_migrate)

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--team", required=True)
    create.add_argument("--scopes", default="read,write", help="comma list of read,write,admin")
    create.add_argument("--name")
    create.add_argument("--projects", help="comma list of project slugs the key is limited to")
    create.set_defaults(func=_sync(_keys_create))
    listing = keys_sub.add_parser("list", help="list keys (prefixes only)")
    listing.set_defaults(func=_sync(_keys_list))
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix")
    revoke.set_defaults(func=_sync(_keys_revoke))

    forget = sub.add_parser("forgetting", help="a team's forgetting policy: show, set, run")
    forget_sub = forget.add_subparsers(dest="forgetting_command", required=True)
    for name, help_ in (
        ("show", "print the policy"),
        ("set", "set the policy (0 turns a rule off)"),
        ("run", "apply it now (--dry-run: only list what would go)"),
    ):
        cmd = forget_sub.add_parser(name, help=help_)
        cmd.add_argument("--team", required=True)
        cmd.set_defaults(func=_sync(_forgetting))
        if name == "set":
            cmd.add_argument("--unused-days", type=int, metavar="N")
            cmd.add_argument("--next-step-days", dest="next_days", type=int, metavar="N")
        if name == "run":
            cmd.add_argument("--dry-run", action="store_true")
            cmd.add_argument("--limit", type=int, default=5000)

    ev = sub.add_parser(
        "eval",
        help="measure search quality (recall@5, MRR@10, nDCG@10, latency) on a dataset",
        description="Loads the dataset's handoffs and scores its queries in each search mode. "
        "Default: a fresh in-process service on a temporary embedded PostgreSQL. With --url: "
        "a running server, whose results then also include what the key's team already holds.",
    )
    ev.add_argument(
        "dataset", help="evaluation dataset (JSON, format in docs/evaluation-format.md)"
    )
    ev.add_argument("--url", help="evaluate the server at this base URL instead")
    ev.add_argument("--api-key", help="read+write key for --url")
    ev.add_argument("--modes", default="hybrid,vector,text", help="comma list of search modes")
    ev.add_argument("--k", type=int, default=10, help="results requested per search")
    ev.add_argument("--out", help="also write the full report (per-query details) as JSON")
    ev.add_argument(
        "--off-topic",
        help="questions with nothing relevant in the dataset (JSON, docs/evaluation-format.md): "
        "also report how many get results (noise) and how many real questions got none",
    )
    ev.set_defaults(func=cmd_eval)
    evb = sub.add_parser(
        "eval-brief",
        help="measure the start-up brief without a task, with and without git context",
        description="Loads the handoffs a brief set names into a fresh in-process service on a "
        "temporary embedded PostgreSQL and asks each case's brief without and with its branch, "
        "commits and changed paths: recall@5 and MRR@10 of the brief's learnings, wrong "
        "abstentions and noise on off-topic checkouts.",
    )
    evb.add_argument("dataset", help="brief set (JSON), such as tests/data/dev_brief_eval.json")
    evb.add_argument("--budget", type=int, default=800, help="token budget of each brief")
    evb.add_argument("--out", help="also write the full report (per case) as JSON")
    evb.set_defaults(func=cmd_eval_brief)
    evt = sub.add_parser(
        "eval-timelines",
        help="measure supersession and completed next steps on a timeline set",
        description="Writes each timeline's handoffs in order into a fresh in-process service "
        "on a temporary embedded PostgreSQL and reports precision and recall of the "
        "supersession rule and of correction sections, next steps marked done, untouched "
        "learnings touched, and how often a replaced learning still ranks above its successor.",
    )
    evt.add_argument("dataset", help="timeline set (JSON), such as tests/data/dev_timelines.json")
    evt.set_defaults(func=cmd_eval_timelines)
    reembed = sub.add_parser(
        "reembed", help="re-embed learnings stored with another model than the configured one"
    )
    reembed.add_argument("--batch-size", type=int, default=256)
    reembed.add_argument("--team", help="only this team's learnings (default: every team in turn)")
    reembed.set_defaults(func=_sync(_reembed))
    export = sub.add_parser(
        "export",
        help="write one team's projects, handoffs and learnings (with embeddings) as JSON Lines",
        description="Streams team TEAM to stdout (or --output) in the format `import` reads.",
    )
    export.add_argument("--team", required=True)
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.set_defaults(func=cmd_export)
    load = sub.add_parser(
        "import",
        help="load a file written by `export`: all or nothing (--bulk: a chunk at a time, "
        "resumable), and loading it twice changes nothing",
        description="Keeps ids, embeddings and delivery state; never re-embeds (run `reembed` "
        "when the file's model differs from the configured one).",
    )
    load.add_argument("file", help="the JSON Lines file, or - for stdin")
    load.add_argument(
        "--team", help="team to import into (created if missing); default: the file's"
    )
    load.add_argument(
        "--bulk",
        action="store_true",
        help="load learnings through COPY in large transactions (a chunk at a time): for big "
        "files; an interrupted run resumes when run again",
    )
    load.add_argument(
        "--chunk-rows",
        type=int,
        metavar="N",
        help="with --bulk: learnings per transaction (default 50000)",
    )
    load.add_argument(
        "--rebuild-indexes",
        action="store_true",
        help="with --bulk, offline only: drop the learnings' vector and text-search indexes "
        "(shared by all teams) for the load and build them once after it",
    )
    load.set_defaults(func=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings()
    func = getattr(args, "func", cmd_run)
    result: int = func(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
