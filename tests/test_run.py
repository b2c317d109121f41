"""`memory-service run`, and `make run` which execs it, stop cleanly on Ctrl-C and SIGTERM:
the server exits 0 without a traceback, so neither a terminal nor `make` reports an error for
a stop that was asked for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)


def _environment(database_url: str, folder: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "MEMORY_DATABASE_URL": database_url,
        "MEMORY_PORT": str(port),
        "MEMORY_DATA_DIR": str(folder / "data"),
        "MEMORY_BOOTSTRAP_ADMIN_KEY": "false",
        "MEMORY_MIGRATE_ON_START": "false",
        "MEMORY_LOG_LEVEL": "info",
    }


def _stop(proc: subprocess.Popen[bytes], port: int, log: Path, stop: int) -> int:
    """Waits until the server is ready, sends `stop` (a signal), returns the exit code."""
    try:
        wait_ready(f"http://127.0.0.1:{port}", time.monotonic() + 120, proc, log)
        if proc.args[0] == "make":  # type: ignore[index]
            # What a terminal's Ctrl-C does: the signal goes to the whole foreground group;
            # a supervisor's SIGTERM goes to make alone, which passes it on.
            if stop == signal.SIGINT:
                os.killpg(proc.pid, stop)
            else:
                proc.send_signal(stop)
        else:
            proc.send_signal(stop)
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.mark.slow
@SIGNALS
def test_a_requested_stop_exits_0(database_url: str, tmp_path: Path, signum: int) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memory_service", "run"],
            env=_environment(database_url, tmp_path, port),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        code = _stop(proc, port, log, signum)
    output = log.read_text(errors="replace")
    assert code == 0, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    assert "Application shutdown complete" in output  # the lifespan's teardown ran


@pytest.mark.slow
@SIGNALS
def test_make_run_reports_no_error_on_a_requested_stop(
    database_url: str, tmp_path: Path, signum: int
) -> None:
    """The Makefile's own `run` recipe, with the environment this test runs in: `-o` on a
    stamp of its own keeps make from (re)building .venv."""
    port = free_port()
    log = tmp_path / "make.log"
    stamp = tmp_path / "installed"
    stamp.touch()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "-C",
                str(ROOT),
                "run",
                f"BIN={Path(sys.executable).parent}",
                f"STAMP={stamp}",
                "-o",
                str(stamp),
            ],
            env=_environment(database_url, tmp_path, port),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        _stop(proc, port, log, signum)
    output = log.read_text(errors="replace")
    assert "Application shutdown complete" in output, output[-4000:]
    assert "***" not in output, output[-4000:]  # make: *** [Makefile:NN: run] Terminated
    assert "Traceback" not in output, output[-4000:]
