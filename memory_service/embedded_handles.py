"""Who holds the embedded PostgreSQL: pgserver's handle list, kept truthful.

pgserver counts the processes using a data folder in `<pgdata>/.handle_pids.json` and stops
the postmaster only when the last of them lets go. A process killed with SIGKILL never lets
go: its pid stays in the list, and every later clean shutdown then leaves the postmaster
running. So before each change this service makes to the list (when it starts using the
server, and when it stops), the list is pruned, under pgserver's own lock, of every pid whose
process is gone, or is not the process that registered: each memory-service process records
its start time next to pgserver's list, and a live process with that pid but another start
time is a later process that reused it. A pid without a record (registered by another
program using pgserver on the same folder) counts while a process with that pid exists."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# pgserver's list of holder pids, and our record of when each of our holders started.
HANDLES_FILE = ".handle_pids.json"
STARTS_FILE = ".memory_service_handles.json"


def process_start(pid: int) -> str | None:
    """When process `pid` started, as a token that tells it from any later process given the
    same pid; None when there is no such process (or it has exited: a zombie). On Linux the
    start in clock ticks since boot, which no change of the system clock moves."""
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        # Fields after "pid (comm)"; comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):
            return None
        return f"ticks:{fields[19]}"
    import psutil  # type: ignore[import-untyped]  # pgserver's own dependency

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"time:{proc.create_time():.2f}"
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return "unknown"


def _holds(pid: int, recorded: str | None) -> bool:
    start = process_start(pid)
    if start is None:
        return False
    return recorded is None or start == "unknown" or start == recorded


def _read(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        log.warning("embedded PostgreSQL: ignoring unreadable %s: %s", path, exc)
        return default


def _write(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    tmp.replace(path)


def prune(pgdata: Path, *, record_self: bool = False) -> list[int]:
    """Drops the pids of processes that no longer hold the server from pgserver's list
    (never this process's own), and records this process's start time if asked (once it
    is in the list). Returns the pids dropped."""
    from pgserver.postgres_server import PostgresServer

    if not pgdata.is_dir():
        return []
    me = os.getpid()
    with PostgresServer._lock:
        handles_path, starts_path = pgdata / HANDLES_FILE, pgdata / STARTS_FILE
        handles: list[int] = _read(handles_path, [])
        starts: dict[str, str] = _read(starts_path, {})
        kept = [pid for pid in handles if pid == me or _holds(pid, starts.get(str(pid)))]
        dropped = [pid for pid in handles if pid not in kept]
        if dropped:
            _write(handles_path, kept)
            log.warning(
                "embedded PostgreSQL: dropped the handles of processes that no longer hold it: "
                "%s (killed without a clean shutdown?)",
                ", ".join(map(str, dropped)),
            )
        new_starts = {str(pid): starts[str(pid)] for pid in kept if str(pid) in starts}
        if record_self and me in kept:
            start = process_start(me)
            if start is not None:
                new_starts[str(me)] = start
        if new_starts != starts:
            _write(starts_path, new_starts)
    return dropped
