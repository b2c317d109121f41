"""The real server as a subprocess (`python -m memory_service run`) on an embedded PostgreSQL in
a data folder of the benchmark's own, plus a sampler of its memory use."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx
import psutil  # type: ignore[import-untyped,unused-ignore]

READY_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 60.0
POLL_S = 0.05
EMBEDDED_DATABASE = "memory"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def embedded_uri(pgdata: Path, database: str = EMBEDDED_DATABASE) -> str:
    """The URI `pgserver.get_server(pgdata).get_uri(database)` would give, read from
    postmaster.pid. `get_server` would register this process as a holder of the server, and
    pgserver only stops PostgreSQL when its last holder exits: the server's SIGTERM would then
    leave PostgreSQL running behind it."""
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        raise RuntimeError(f"no PostgreSQL running in {pgdata}")
    uri: str = info.get_uri(database=database)
    return uri


def postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) else None


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    busy: float = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    return busy


class MemorySampler:
    """Samples, in a background thread: the RSS of the server process, the PSS of the
    embedded PostgreSQL (PSS, so shared buffers are not counted once per backend), and the
    CPU time of the machine against that of our own processes (server, PostgreSQL, this
    benchmark) per phase. The machine is shared: the difference is CPU that other users took
    while we measured, which is what makes a number of this run trustworthy or not."""

    def __init__(self, pid: int, pgdata: Path, interval_s: float = 0.5) -> None:
        self.pid = pid
        self.pgdata = pgdata
        self.interval_s = interval_s
        self.peak_server_rss = 0
        self.peak_postgres_pss = 0
        self.phase_peaks: dict[str, int] = {}
        self.phase = "start"
        # phase -> [wall s, machine busy CPU s, service CPU s (server + PostgreSQL), bench CPU s]
        self.cpu: dict[str, list[float]] = {}
        self._last_cpu: dict[int, float] = {}
        self._last_busy = _busy_seconds()
        self._last_wall = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def set_phase(self, phase: str) -> None:
        self.sample()  # close the previous phase's CPU accounting at the boundary
        self.phase = phase

    def _ours(self) -> list[psutil.Process]:
        procs: list[psutil.Process] = []
        for root in (self.pid, os.getpid(), postmaster_pid(self.pgdata)):
            if root is None:
                continue
            try:
                main = psutil.Process(root)
                procs += [main, *main.children(recursive=True)]
            except psutil.Error:
                continue
        return list({p.pid: p for p in procs}.values())

    def sample(self) -> None:
        with self._lock:
            self._sample()

    def _sample(self) -> None:
        try:
            rss = psutil.Process(self.pid).memory_info().rss
        except psutil.Error:
            return
        self.peak_server_rss = max(self.peak_server_rss, rss)
        self.phase_peaks[self.phase] = max(self.phase_peaks.get(self.phase, 0), rss)
        pss = 0
        service = bench = 0.0
        postmaster = postmaster_pid(self.pgdata)
        seen: dict[int, float] = {}
        for proc in self._ours():
            try:
                times = proc.cpu_times()
                used = times.user + times.system
                if postmaster is not None and proc.pid != self.pid and proc.pid != os.getpid():
                    pss += proc.memory_full_info().pss
            except psutil.Error:
                continue
            seen[proc.pid] = used
            delta = used - self._last_cpu.get(proc.pid, 0.0)
            if proc.pid == os.getpid():
                bench += delta
            else:
                service += delta
        self._last_cpu = seen
        self.peak_postgres_pss = max(self.peak_postgres_pss, pss)
        busy, wall = _busy_seconds(), time.monotonic()
        totals = self.cpu.setdefault(self.phase, [0.0, 0.0, 0.0, 0.0])
        totals[0] += wall - self._last_wall
        totals[1] += busy - self._last_busy
        totals[2] += service
        totals[3] += bench
        self._last_busy, self._last_wall = busy, wall

    def cpu_report(self) -> dict[str, dict[str, float]]:
        """Per phase: cores busy in all, in the service (server + PostgreSQL), in this
        benchmark process, and in others' processes (the foreign load)."""
        out: dict[str, dict[str, float]] = {}
        for phase, (wall, busy, service, bench) in self.cpu.items():
            if wall <= 0:
                continue
            out[phase] = {
                "seconds": wall,
                "machine_cores_busy": busy / wall,
                "service_cores": service / wall,
                "bench_cores": bench / wall,
                "foreign_cores": max(0.0, busy - service - bench) / wall,
                "service_cpu_s": service,
                "bench_cpu_s": bench,
            }
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()


class ServerProcess:
    """`python -m memory_service run` with MEMORY_DATA_DIR=data_dir (so the embedded
    PostgreSQL) on a free port. `start()` returns the seconds from process start to the first
    200 from /readyz; `stop()` sends SIGTERM, which stops the embedded PostgreSQL too, and
    checks that it did."""

    def __init__(
        self,
        data_dir: Path,
        *,
        log_path: Path,
        log_level: str = "warning",
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.extra_env = env or {}
        self.log_path = log_path
        self.log_level = log_level
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sampler: MemorySampler | None = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def admin_key(self) -> str:
        return (self.data_dir / "admin_key").read_text().strip()

    def database_uri(self, database: str = EMBEDDED_DATABASE) -> str:
        return embedded_uri(self.pgdata, database)

    def start(self) -> float:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
        env.update(
            MEMORY_DATA_DIR=str(self.data_dir),
            MEMORY_HOST="127.0.0.1",
            MEMORY_PORT=str(self.port),
            MEMORY_LOG_LEVEL=self.log_level,
            # One key sends every request of a load test: the per-key abuse limit (600/min by
            # default) would turn the latency runs into a rate-limiter benchmark.
            MEMORY_RATE_LIMIT_PER_MINUTE="0",
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
        )
        env.update(self.extra_env)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        started = time.perf_counter()
        # cwd is the data folder: Settings reads a `.env` from the working directory, and a
        # developer's .env must not redirect the benchmark to another database.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "memory_service", "run"],
            cwd=self.data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.sampler = MemorySampler(self.proc.pid, self.pgdata).start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return time.perf_counter() - started

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode} before it was ready; "
                        f"log: {self.log_path}\n{self.log_tail()}"
                    )
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(POLL_S)
        raise TimeoutError(f"server not ready after {READY_TIMEOUT_S:.0f} s; log: {self.log_path}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, then wait: uvicorn's graceful shutdown runs the lifespan teardown, which
        stops the embedded PostgreSQL. SIGKILL and pg_ctl only if that fails."""
        if self.sampler is not None:
            self.sampler.stop()
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                print("bench: server ignored SIGTERM; killing it", file=sys.stderr)
                proc.kill()
                proc.wait(timeout=10)
        self._ensure_postgres_stopped()

    def _ensure_postgres_stopped(self) -> None:
        deadline = time.monotonic() + 15
        while postmaster_pid(self.pgdata) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        pid = postmaster_pid(self.pgdata)
        if pid is None:
            return
        print(f"bench: PostgreSQL {pid} outlived the server; stopping it", file=sys.stderr)
        try:
            # SIGINT is PostgreSQL's "fast" shutdown (SIGTERM would wait for clients).
            psutil.Process(pid).send_signal(signal.SIGINT)
            psutil.Process(pid).wait(timeout=30)
        except psutil.Error:
            pass

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
