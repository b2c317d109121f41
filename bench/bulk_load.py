"""The bulk import against the HTTP write path on the same data (issue 21, point 1).

One server on a fresh embedded PostgreSQL. The synthetic corpus (bench/corpus.py) is written
through POST /v1/handoffs (the server embeds every learning), the team is exported, and the
export is loaded back into new teams of the same database: by the plain `memory-service import`,
by `import --bulk` (indexes kept), by the same command again (everything already there: what a
resume skips costs this much), and by `import --bulk --rebuild-indexes`. For each: learnings
per second of wall clock, and per CPU-second of the service (server + PostgreSQL + the import
process; the HTTP clients' own CPU is not counted). Also the cost of the per-record checks and
hygiene alone, in this process.

    PYTHONPATH=.:clients/python python -m bench.bulk_load --workdir /tmp/bulk-bench \
        --learnings 10000 \
        --out /tmp/bulk.json

The HTTP path embeds (its CPU is mostly the model); an import never does: the comparison is the
way a big corpus can get in, not the same work done two ways.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]
import psycopg

from bench.corpus import Corpus
from bench.load import ingest
from bench.run import build_corpus
from bench.server import ServerProcess


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def cli(server: ServerProcess, *args: str, database: str | None = None) -> tuple[float, str]:
    """`python -m memory_service ARGS` on the server's database (or another database of its
    PostgreSQL); wall seconds and stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env["MEMORY_DATABASE_URL"] = (
        server.database_uri() if database is None else server.database_uri(database)
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "memory_service", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr[-2000:]}")
    return seconds, result.stdout


def hygiene_cost(path: Path) -> dict[str, float]:
    """Seconds spent parsing the file's lines and running the import's checks and hygiene on
    its learnings, without a database."""
    from memory_service.portability import ImportReport, RowImporter

    importer = RowImporter(None, ImportReport(team="x"), "all-MiniLM-L6-v2")  # type: ignore[arg-type]
    parse = check = 0.0
    count = 0
    with path.open() as source:
        for number, line in enumerate(source, start=1):
            t0 = time.perf_counter()
            record = json.loads(line)
            t1 = time.perf_counter()
            parse += t1 - t0
            if record["type"] == "learning":
                importer.check("learning", record, number)
                check += time.perf_counter() - t1
                count += 1
    return {
        "learnings": count,
        "parse_s": parse,
        "check_and_hygiene_s": check,
        "check_ms_per_learning": 1000 * check / max(count, 1),
    }


def file_mib(path: Path) -> float:
    return path.stat().st_size / 2**20


def count_learnings(path: Path) -> int:
    with path.open() as source:
        return sum('"type":"learning"' in line for line in source)


def learnings_of(server: ServerProcess, team: str) -> int:
    with psycopg.connect(server.database_uri()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM learnings l JOIN teams t ON t.id = l.team_id WHERE t.name = %s",
            (team,),
        ).fetchone()
    return int(row[0]) if row else 0


async def http_and_export(
    server: ServerProcess, args: argparse.Namespace, export: Path, results: dict[str, Any]
) -> int:
    """The corpus through POST /v1/handoffs, then exported; how many learnings were stored."""
    assert server.sampler is not None
    corpus = Corpus(seed=args.seed)
    handoffs, _, cumulative = build_corpus(corpus, args.learnings)
    log(f"corpus: {len(handoffs):,} handoffs, {cumulative[-1]:,} learnings")
    server.sampler.set_phase("http")
    result = await ingest(server.base_url, server.admin_key(), handoffs, clients=args.clients)
    server.sampler.set_phase("idle")
    stored = learnings_of(server, "default")
    results["runs"]["http"] = {"seconds": result.seconds, "learnings": stored}
    log(f"http: {stored:,} learnings in {result.seconds:.0f} s")
    seconds, _ = cli(server, "export", "--team", "default", "--output", str(export))
    results["export_s"] = seconds
    log(f"export: {seconds:.1f} s, {file_mib(export):.0f} MiB")
    return stored


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir)
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
            "load_average_at_start": os.getloadavg(),
            "learnings_asked": args.learnings,
            "http_clients": args.clients,
        },
        "runs": {},
    }
    server = ServerProcess(workdir / "data", log_path=workdir / "server.log")
    server.start()
    sampler = server.sampler
    assert sampler is not None
    export = workdir / "export.jsonl"
    try:
        if args.export:
            # An earlier run's export: only the imports into empty databases are measured.
            export = Path(args.export)
            stored = count_learnings(export)
            runs: list[tuple[str, list[str], str | None]] = []
        else:
            stored = await http_and_export(server, args, export, results)
            runs = [
                ("plain", ["import", str(export), "--team", "plain"], None),
                ("bulk", ["import", str(export), "--team", "bulk", "--bulk"], None),
                ("bulk_again", ["import", str(export), "--team", "bulk", "--bulk"], None),
                (
                    "bulk_rebuild_indexes",
                    ["import", str(export), "--team", "rebuilt", "--bulk", "--rebuild-indexes"],
                    None,
                ),
            ]
        # Into an empty database of the same PostgreSQL: the index build then covers only
        # the loaded learnings.
        for name, extra in (
            ("empty_db_bulk", []),
            ("empty_db_bulk_rebuild_indexes", ["--rebuild-indexes"]),
        ):
            database = name.replace("_", "")
            with psycopg.connect(server.database_uri("postgres"), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {database}")
                conn.execute(f"CREATE DATABASE {database}")
            cli(server, "migrate", database=database)
            runs.append((name, ["import", str(export), "--team", "t", "--bulk", *extra], database))
        for name, command, where in runs:
            sampler.set_phase(name)
            try:
                seconds, out = cli(server, *command, database=where)
            except RuntimeError as exc:  # reported, the other paths still measured
                sampler.set_phase("idle")
                results.setdefault("failed", {})[name] = str(exc)
                log(f"{name}: {exc}")
                continue
            sampler.set_phase("idle")
            results["runs"][name] = {"seconds": seconds, "learnings": stored, "output": out}
            log(f"{name}: {seconds:.1f} s: {out.strip()}")
        cpu = sampler.cpu_report()
        results["cpu"] = cpu
    finally:
        server.stop()
    results["hygiene"] = hygiene_cost(export)
    for name, run in results["runs"].items():
        phase = cpu.get(name, {})
        run["learnings_per_s"] = run["learnings"] / run["seconds"]
        run["service_cpu_s"] = phase.get("service_cpu_s")
        run["foreign_cores"] = phase.get("foreign_cores")
        if phase.get("service_cpu_s"):
            run["learnings_per_cpu_s"] = run["learnings"] / phase["service_cpu_s"]
    return results


def report(results: dict[str, Any]) -> str:
    lines = [
        "| path | seconds | learnings/s | service CPU-s | learnings per CPU-s "
        "| others' load (cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, run in results["runs"].items():
        lines.append(
            f"| {name} | {run['seconds']:.1f} | {run['learnings_per_s']:.0f} | "
            f"{run.get('service_cpu_s') or 0:.1f} | {run.get('learnings_per_cpu_s') or 0:.0f} | "
            f"{run.get('foreign_cores') or 0:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learnings", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP writers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", required=True, help="a new folder: data, export, logs")
    parser.add_argument("--out", help="write the results as JSON here too")
    parser.add_argument(
        "--export", help="an earlier run's export: skip the HTTP path, measure empty databases"
    )
    args = parser.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=False)
    results = asyncio.run(main_async(args))
    print(report(results))
    print(json.dumps(results["hygiene"]))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
