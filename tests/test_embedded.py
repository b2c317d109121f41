"""The embedded PostgreSQL: started in a data folder, tuned to the service's page cache size,
restarted with the setting it needs, and stopped by the last clean shutdown even after a
holder was killed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from memory_service import embedded_handles
from memory_service.db import EmbeddedPostgres, default_shared_buffers_mb
from tests.helpers import free_port

STARTUP_TIMEOUT = 180.0


def _shared_buffers(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW shared_buffers").fetchone()
    assert row is not None
    return str(row[0])


def test_shared_buffers_applied_at_first_start_and_on_change(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    first = EmbeddedPostgres(pgdata, shared_buffers_mb=48)
    url = first.start()
    try:
        # A fresh folder starts with PostgreSQL's 128 MB and is restarted with the setting.
        assert _shared_buffers(url) == "48MB"
    finally:
        first.stop()
    again = EmbeddedPostgres(pgdata, shared_buffers_mb=48)
    assert _shared_buffers(again.start()) == "48MB"  # nothing to change: no restart
    again.stop()
    changed = EmbeddedPostgres(pgdata, shared_buffers_mb=80)
    try:
        assert _shared_buffers(changed.start()) == "80MB"
    finally:
        changed.stop()


def test_default_is_a_quarter_of_memory_within_bounds() -> None:
    assert 128 <= default_shared_buffers_mb() <= 1024


def _handles(pgdata: Path) -> list[int]:
    return list(json.loads((pgdata / embedded_handles.HANDLES_FILE).read_text()))


def test_prune_drops_dead_and_reused_pids_only(tmp_path: Path) -> None:
    """pgserver's handle list keeps a live holder (ours, another memory-service process,
    another program's), and drops a process that is gone or whose pid now belongs to a
    later process."""
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    holder = subprocess.Popen(["sleep", "60"])
    reused = subprocess.Popen(["sleep", "60"])
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        holder_start = embedded_handles.process_start(holder.pid)
        assert holder_start is not None
        me = os.getpid()
        pids = [gone.pid, holder.pid, reused.pid, stranger.pid, me]
        (pgdata / embedded_handles.HANDLES_FILE).write_text(json.dumps(pids))
        (pgdata / embedded_handles.STARTS_FILE).write_text(
            json.dumps(
                {
                    str(gone.pid): "ticks:1",
                    str(holder.pid): holder_start,
                    str(reused.pid): "ticks:1",  # the process that registered started at boot
                }
            )
        )
        dropped = embedded_handles.prune(pgdata, record_self=True)
        assert sorted(dropped) == sorted([gone.pid, reused.pid])
        assert _handles(pgdata) == [holder.pid, stranger.pid, me]
        starts = json.loads((pgdata / embedded_handles.STARTS_FILE).read_text())
        assert starts == {
            str(holder.pid): holder_start,
            str(me): embedded_handles.process_start(me),
        }
        # The holder exits without a clean shutdown: the next prune drops it.
        holder.kill()
        holder.wait()
        assert embedded_handles.prune(pgdata) == [holder.pid]
        assert _handles(pgdata) == [stranger.pid, me]
    finally:
        for proc in (holder, reused, stranger):
            proc.kill()
            proc.wait()


def _run(data_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`memory-service run` on the embedded PostgreSQL in `data_dir`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MEMORY_DATABASE_URL"}
    env.update(
        MEMORY_DATA_DIR=str(data_dir),
        MEMORY_PORT=str(port),
        # PostgreSQL's own default: no restart to apply it.
        MEMORY_EMBEDDED_SHARED_BUFFERS_MB="128",
        MEMORY_EMBEDDING_BACKEND="torch",  # no ONNX export: starts sooner
        MEMORY_LOG_LEVEL="warning",
    )
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memory_service", "run"],
            env=env,
            cwd=data_dir.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, f"http://127.0.0.1:{port}"


def _wait_status(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never said 200"
        time.sleep(0.2)


def _postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


@pytest.mark.slow
def test_clean_shutdown_after_a_sigkilled_server_stops_postgres() -> None:
    """A server killed with SIGKILL leaves its embedded PostgreSQL running (nothing can stop
    it); the next server's clean shutdown stops it, though the killed one's pid is still in
    pgserver's handle list."""
    # Not under pytest's tmp_path: that is private to root, and PostgreSQL may run as
    # pgserver's own system user.
    root = Path(tempfile.mkdtemp(prefix="memory-embedded-"))
    data = root / "data"
    data.mkdir()
    log = root / "server.log"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        first, url = _run(data, log)
        procs.append(first)
        _wait_status(first, f"{url}/healthz", log, STARTUP_TIMEOUT)
        postmaster = _postmaster_pid(data / "pgdata")
        # The first start on an empty database made an admin key; stdout is a file here, so
        # the output says where the key is and never shows it.
        key = (data / "admin_key").read_text().strip()
        output = log.read_text()
        assert key not in output and f"cat {data / 'admin_key'}" in output

        first.kill()
        first.wait(timeout=30)
        assert embedded_handles.process_start(postmaster) is not None, "PostgreSQL died too"
        assert first.pid in _handles(data / "pgdata")

        second, url = _run(data, log)
        procs.append(second)
        _wait_status(second, f"{url}/readyz", log, STARTUP_TIMEOUT)
        assert _postmaster_pid(data / "pgdata") == postmaster  # the same server, shared
        second.terminate()
        # uvicorn shuts down cleanly, then re-raises the signal it caught.
        assert second.wait(timeout=60) in (0, -signal.SIGTERM), log.read_text()[-4000:]
        deadline = time.monotonic() + 30
        while embedded_handles.process_start(postmaster) is not None:
            assert time.monotonic() < deadline, "the embedded PostgreSQL is still running"
            time.sleep(0.1)
        assert "dropped the handles of processes that no longer hold it" in log.read_text()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        pgdata = data / "pgdata"
        if (pgdata / "postmaster.pid").exists():
            from pgserver._commands import pg_ctl

            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl(
                    ["-w", "-m", "immediate", "stop"],
                    pgdata=pgdata,
                    user="pgserver" if os.geteuid() == 0 else None,
                    timeout=60,
                )
        shutil.rmtree(root, ignore_errors=True)
