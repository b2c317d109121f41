"""`memory-service`: run the server, migrate, manage keys."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service import migrate
from memory_service.config import Settings
from memory_service.db import EmbeddedPostgres, create_engine, session_factory


def _database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.embedded_pgdata)
    return embedded.start(), embedded


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    url, embedded = _database_url(settings)
    try:
        migrate.upgrade(url)
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            async with session_factory(engine)() as session, session.begin():
                yield session
        finally:
            await engine.dispose()
    finally:
        if embedded is not None:
            embedded.stop()


def cmd_run(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from memory_service.app import create_app

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    where = (
        "MEMORY_DATABASE_URL"
        if settings.database_url
        else f"embedded PostgreSQL in {settings.embedded_pgdata}"
    )
    print(
        f"memory-service listening on http://{settings.host}:{settings.port} ({where})", flush=True
    )
    print(f"admin API key file: {settings.admin_key_file}", flush=True)
    # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, which runs the lifespan's
    # teardown: the pool closes and the embedded PostgreSQL is stopped, no orphan left.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    url, embedded = _database_url(settings)
    try:
        if args.downgrade:
            migrate.downgrade(url, args.downgrade)
        else:
            migrate.upgrade(url, args.revision)
    finally:
        if embedded is not None:
            embedded.stop()
    print("migrations applied")
    return 0


async def _keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.auth.keys import parse_scopes
    from memory_service.auth.service import create_key, get_or_create_team

    try:
        scopes = parse_scopes(args.scopes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    projects = [p.strip() for p in args.projects.split(",")] if args.projects else None
    async with _session(settings) as session:
        team = await get_or_create_team(session, args.team)
        created = await create_key(session, team, scopes, name=args.name, projects=projects)
    print(created.plaintext)
    print(
        f"team={args.team} scopes={','.join(scopes)} prefix={created.key.prefix} "
        "(the key is shown only this once)",
        file=sys.stderr,
    )
    return 0


async def _keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.models import ApiKey, Team

    async with _session(settings) as session:
        rows = (
            await session.execute(
                select(Team.name, ApiKey)
                .join(Team, Team.id == ApiKey.team_id)
                .order_by(Team.name, ApiKey.created_at)
            )
        ).all()
    for team_name, key in rows:
        state = "revoked" if key.revoked_at else "active"
        print(f"{team_name}\t{key.prefix}\t{','.join(key.scopes)}\t{state}\t{key.name or ''}")
    return 0


async def _keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import func, update

    from memory_service.models import ApiKey

    async with _session(settings) as session:
        result = await session.execute(
            update(ApiKey)
            .where(ApiKey.prefix == args.prefix, ApiKey.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        print(f"error: no active key with prefix {args.prefix}", file=sys.stderr)
        return 1
    print(f"revoked {args.prefix}")
    return 0


def cmd_eval(_: Settings, args: argparse.Namespace) -> int:
    # Imported here: `memory-service run` should not pay for the evaluator's imports.
    from memory_service.evaluation import run_cli

    return run_cli(args)


async def _reembed(settings: Settings, args: argparse.Namespace) -> int:
    from memory_service.embeddings import Embedder
    from memory_service.recall.reembed import reembed

    url, embedded = _database_url(settings)
    try:
        migrate.upgrade(url)
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            embedder = Embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
            embedder.load()
            done = await reembed(session_factory(engine), embedder, batch_size=args.batch_size)
        finally:
            await engine.dispose()
    finally:
        if embedded is not None:
            embedded.stop()
    print(f"re-embedded {done} learning(s) with {settings.embedding_model}")
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

    ev = sub.add_parser(
        "eval",
        help="measure search quality (recall@5, MRR@10, nDCG@10, latency) on a dataset",
        description="Loads the dataset's handoffs and scores its queries in each search mode. "
        "Default: a fresh in-process service on a temporary embedded PostgreSQL. With --url: "
        "a running server, whose results then also include what the key's team already holds.",
    )
    ev.add_argument("dataset", help="evaluation dataset (JSON, format in DESIGN.md)")
    ev.add_argument("--url", help="evaluate the server at this base URL instead")
    ev.add_argument("--api-key", help="read+write key for --url")
    ev.add_argument("--modes", default="hybrid,vector,text", help="comma list of search modes")
    ev.add_argument("--k", type=int, default=10, help="results requested per search")
    ev.add_argument("--out", help="also write the full report (per-query details) as JSON")
    ev.set_defaults(func=cmd_eval)
    reembed = sub.add_parser(
        "reembed", help="re-embed learnings stored with another model than the configured one"
    )
    reembed.add_argument("--batch-size", type=int, default=256)
    reembed.set_defaults(func=_sync(_reembed))
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
