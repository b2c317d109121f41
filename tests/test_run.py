"""`memory-service run` (what `make run` execs) stops cleanly on Ctrl-C and SIGTERM: exit code
0 and no traceback, so neither a terminal nor `make` reports an error for a requested stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import free_port, wait_ready


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_requested_stop_exits_0(database_url: str, tmp_path: Path, signum: int) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "MEMORY_DATABASE_URL": database_url,
        "MEMORY_PORT": str(port),
        "MEMORY_DATA_DIR": str(tmp_path / "data"),
        "MEMORY_BOOTSTRAP_ADMIN_KEY": "false",
        "MEMORY_MIGRATE_ON_START": "false",
        "MEMORY_LOG_LEVEL": "info",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memory_service", "run"], env=env, stdout=out, stderr=out
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}", time.monotonic() + 120, proc, log)
            proc.send_signal(signum)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert code == 0, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    assert "Application shutdown complete" in output  # the lifespan's teardown ran
