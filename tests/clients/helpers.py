"""Helpers of the client tests: running the `memory` console script and git, and transports
that simulate a flaky network in front of the real app (the server itself is never faked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

MEMORY_BIN = Path(sys.executable).with_name("memory")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_repo(path: Path, remote: str | None = "git@github.com:acme/widgets.git") -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    if remote:
        git(path, "remote", "add", "origin", remote)
    (path / "README.md").write_text("widgets\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "init")
    return path


def run_memory(
    *args: str,
    cwd: Path,
    env: dict[str, str],
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MEMORY_BIN), *args],
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


Step = str | int


class _Script:
    """Per attempt, what the network does: "ok" passes the request through to the real
    server; "connect" fails before sending; "lose" lets the server process the request, then
    loses the response; a status code answers in place of the server, as a gateway or rate
    limiter in front of it would."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = list(steps)
        self.sent: list[httpx.Request] = []

    def next_step(self, request: httpx.Request) -> Step:
        self.sent.append(request)
        step = self.steps.pop(0) if self.steps else "ok"
        if step == "connect":
            raise httpx.ConnectError("simulated: connection refused", request=request)
        return step

    @staticmethod
    def gateway(status: int, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            headers={"Retry-After": "0"},
            json={"error": {"code": "gateway", "message": f"simulated {status}", "details": None}},
            request=request,
        )

    @staticmethod
    def lost(request: httpx.Request) -> httpx.ReadError:
        return httpx.ReadError("simulated: connection reset after sending", request=request)


class FlakyAsyncTransport(httpx.AsyncBaseTransport, _Script):
    def __init__(self, inner: httpx.AsyncBaseTransport, steps: list[Step]) -> None:
        _Script.__init__(self, steps)
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        step = self.next_step(request)
        if isinstance(step, int):
            return self.gateway(step, request)
        response = await self.inner.handle_async_request(request)
        if step == "lose":
            await response.aread()
            await response.aclose()
            raise self.lost(request)
        return response


class FlakyTransport(httpx.BaseTransport, _Script):
    def __init__(self, inner: httpx.BaseTransport, steps: list[Step]) -> None:
        _Script.__init__(self, steps)
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        step = self.next_step(request)
        if isinstance(step, int):
            return self.gateway(step, request)
        response = self.inner.handle_request(request)
        if step == "lose":
            response.read()
            response.close()
            raise self.lost(request)
        return response
