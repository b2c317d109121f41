"""Fixtures of the client tests: one real server process (uvicorn, the real model, the test
database) shared by the whole package, a fresh key per test (the database is truncated per
test by the root conftest), and a throw-away git checkout with its own HOME."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.helpers import MEMORY_BIN, make_repo
from tests.helpers import running_server


@pytest.fixture(scope="package")
def server_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `memory-service run` on the test database, for the sync client, the CLI, the
    hook and the MCP server (which all need a URL a subprocess can reach)."""
    with running_server(database_url, tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout of github.com/acme/widgets in a folder named `widgets` (the worktree)."""
    return make_repo(tmp_path / "src" / "widgets")


@pytest.fixture
def cli_env(server_url: str, key: str, home: Path) -> dict[str, str]:
    """The environment of an agent's shell: server and key from the environment, a HOME of
    its own (so no real ~/.claude, ~/.codex or config file is read or touched)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORY_", "CLAUDE", "CODEX_", "XDG_"))
    }
    env.update(
        {
            "HOME": str(home),
            "MEMORY_URL": server_url,
            "MEMORY_API_KEY": key,
            "PATH": f"{MEMORY_BIN.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            # The hooks' 1.7 s deadline is for an agent's start-up, not for a test machine
            # running the suite on two busy cores; the fail-open tests remove it again.
            "MEMORY_HOOK_DEADLINE": "8",
        }
    )
    return env
