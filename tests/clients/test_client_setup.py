"""Configuring once: `memory login` and `memory config` check the key against the real server
before writing the config file (mode 0600); `memory status` authenticates; `memory install`
records the server for hooks and MCP servers started without the shell's variables;
`memory doctor` says what is wrong and what to do; `MEMORY_DEBUG=1` makes the hooks explain
their silence. Each in a HOME of its own."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import TextContent
from memory_client import MemoryClient

from tests.clients.helpers import MEMORY_BIN, run_memory
from tests.helpers import PROJECT, MakeKey, free_port

HANDOFF = "## What NOT to do\n- Don't bump the pinned torch; the CUDA wheels follow it.\n"


def _bare(cli_env: dict[str, str]) -> dict[str, str]:
    """What an agent started from a desktop launcher gives its hooks and MCP servers: HOME
    and PATH, none of the shell's MEMORY_* variables."""
    return {k: v for k, v in cli_env.items() if not k.startswith("MEMORY_")}


def _config(home: Path) -> Path:
    return home / ".config" / "memory" / "config.toml"


def _hook(cwd: Path, env: dict[str, str], *args: str, payload: object) -> tuple[str, str]:
    done = run_memory("hook", *args, cwd=cwd, env=env, input=json.dumps(payload))
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


async def test_login_checks_the_key_then_writes_the_config_file(
    repo: Path, cli_env: dict[str, str], home: Path, server_url: str, make_key: MakeKey
) -> None:
    env = _bare(cli_env)
    key = cli_env["MEMORY_API_KEY"]
    config = _config(home)

    refused = run_memory("login", "--url", server_url, cwd=repo, env=env, input="mem_wrong\n")
    assert refused.returncode == 1 and "refused the key" in refused.stderr
    unreachable = run_memory(
        "login", "--url", f"http://127.0.0.1:{free_port()}", cwd=repo, env=env, input=key
    )
    assert unreachable.returncode == 3
    assert run_memory("login", "--url", "not-a-url", cwd=repo, env=env, input=key).returncode == 2
    assert not config.exists()  # nothing written by a failed login

    done = run_memory("login", "--url", server_url, cwd=repo, env=env, input=key + "\n")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert tomllib.loads(config.read_text()) == {"url": server_url, "api_key": key}

    status = run_memory("status", "--json", cwd=repo, env=env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["url"], report["server"], report["api_key"]) == (server_url, "ready", "accepted")
    assert report["api_key_source"] == str(config)

    shown = run_memory("config", "show", "--json", cwd=repo, env=env)
    assert key not in shown.stdout and json.loads(shown.stdout)["api_key"] == key[:8] + "…"

    # `config set` checks too, and keeps the rest of the file (comments, tables) as it was.
    config.write_text("# written by hand\n" + config.read_text() + "\n[extra]\nx = 1\n")
    wrong = run_memory("config", "set", "api_key", "mem_wrong", cwd=repo, env=env)
    assert wrong.returncode == 1 and "nothing was written" in wrong.stderr
    assert tomllib.loads(config.read_text())["api_key"] == key
    other = await make_key(team="beta")
    assert run_memory("config", "set", "api_key", cwd=repo, env=env, input=other).returncode == 0
    text = config.read_text()
    assert text.startswith("# written by hand\n")
    assert tomllib.loads(text) == {"url": server_url, "api_key": other, "extra": {"x": 1}}
    bad_url = run_memory("config", "set", "url", "localhost:8765", cwd=repo, env=env)
    assert bad_url.returncode == 2 and "is not an http(s) URL" in bad_url.stderr


def test_status_authenticates_and_hints_when_no_key(
    repo: Path, cli_env: dict[str, str], home: Path
) -> None:
    wrong = run_memory(
        "status", "--json", cwd=repo, env={**cli_env, "MEMORY_API_KEY": "mem_revoked"}
    )
    assert wrong.returncode == 1
    assert json.loads(wrong.stdout)["api_key"].startswith("refused")
    assert "wrong or revoked" in wrong.stderr

    no_key = {k: v for k, v in cli_env.items() if k != "MEMORY_API_KEY"}
    missing = run_memory("status", cwd=repo, env=no_key)
    assert missing.returncode == 2
    # The hint every other command gives.
    inbox = run_memory("inbox", cwd=repo, env=no_key)
    assert inbox.returncode == 2 and "no API key found" in inbox.stderr
    assert inbox.stderr.strip() in missing.stderr


def test_install_records_the_server_for_hooks_started_without_the_shell_variables(
    repo: Path, cli_env: dict[str, str], home: Path, server_url: str
) -> None:
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        created = client.create_handoff(PROJECT, HANDOFF, recipient="widgets", branch="main")
    bare = _bare(cli_env)
    start = {"cwd": str(repo), "session_id": "s-1", "source": "startup"}
    # The agent's hook knows nothing of MEMORY_URL: before install records it, it is silent.
    assert _hook(repo, bare, "claude-code", payload=start) == ("", "")

    done = run_memory("install", "claude-code", cwd=repo, env=cli_env)
    assert done.returncode == 0, done.stderr
    assert f"reach {server_url}" in done.stdout
    config = _config(home)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert tomllib.loads(config.read_text()) == {
        "url": server_url,
        "api_key": cli_env["MEMORY_API_KEY"],
    }
    # What the hooks resolve (the same `resolve()` without the shell's variables) works.
    status = run_memory("status", "--json", cwd=repo, env=bare)
    assert status.returncode == 0, status.stderr
    assert (json.loads(status.stdout)["url"], json.loads(status.stdout)["api_key"]) == (
        server_url,
        "accepted",
    )
    out, err = _hook(repo, {**bare, "MEMORY_DEBUG": "1"}, "claude-code", payload=start)
    assert f"server {server_url} ({config})" in err
    # The hook gives up after 1.7 s by design; on two busy shared cores it may have to.
    if "gave up" not in err:
        assert created.sentinel in json.loads(out)["hookSpecificOutput"]["additionalContext"]

    # Already recorded: a second install (or Codex's) says nothing more about it.
    again = run_memory("install", "codex", cwd=repo, env=cli_env)
    assert again.returncode == 0 and "recorded" not in again.stdout


def test_doctor_says_what_to_fix(
    repo: Path, cli_env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    assert run_memory("install", "claude-code", cwd=repo, env=cli_env).returncode == 0
    healthy = run_memory("doctor", cwd=repo, env=cli_env)
    assert healthy.returncode == 0, healthy.stdout
    assert "All good." in healthy.stdout

    # The hooks lose their record of the server (a hand-edited or older config file).
    _config(home).unlink()
    lost = run_memory("doctor", "--json", cwd=repo, env=cli_env)
    assert lost.returncode == 1
    checks = {c["name"]: c for c in json.loads(lost.stdout)["checks"]}
    assert checks["hooks reach"]["outcome"] == "fail"
    assert "memory login" in checks["hooks reach"]["fix"]
    assert checks["server"]["outcome"] == checks["api key"]["outcome"] == "ok"
    login = run_memory("login", cwd=repo, env=cli_env, input=cli_env["MEMORY_API_KEY"])
    assert login.returncode == 0, login.stderr
    assert run_memory("doctor", cwd=repo, env=cli_env).returncode == 0

    wrong = run_memory("doctor", cwd=repo, env={**cli_env, "MEMORY_API_KEY": "mem_revoked"})
    assert wrong.returncode == 1 and "refused" in wrong.stdout and "memory login" in wrong.stdout
    down = run_memory(
        "doctor", cwd=repo, env={**cli_env, "MEMORY_URL": f"http://127.0.0.1:{free_port()}"}
    )
    assert down.returncode == 1 and "cannot be reached" in down.stdout
    assert "make run" in down.stdout

    # A hook whose program is gone, run outside any checkout.
    settings_file = home / ".claude" / "settings.json"
    settings_file.write_text(
        settings_file.read_text()
        .replace('"memory hook', f'"{tmp_path}/gone/memory hook')
        .replace(f'"{MEMORY_BIN} hook', f'"{tmp_path}/gone/memory hook')
    )
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    broken = run_memory("doctor", "--json", cwd=outside, env=cli_env)
    checks = {c["name"]: c for c in json.loads(broken.stdout)["checks"]}
    assert broken.returncode == 1
    assert (
        checks["claude-code"]["outcome"] == "fail"
        and "not there" in checks["claude-code"]["detail"]
    )
    assert checks["project"]["outcome"] == "warn" and "--project" in checks["project"]["fix"]

    config = _config(home)
    config.chmod(0o644)
    loose = run_memory("doctor", cwd=repo, env=cli_env)
    assert f"chmod 600 {config}" in loose.stdout
    config.write_text("url = \n")
    unreadable = run_memory("doctor", "--json", cwd=repo, env=cli_env)
    checks = {c["name"]: c for c in json.loads(unreadable.stdout)["checks"]}
    assert unreadable.returncode == 1
    assert "cannot read config file" in checks["hooks reach"]["detail"]


def test_memory_debug_makes_the_silent_hooks_explain(
    repo: Path, cli_env: dict[str, str], home: Path, server_url: str
) -> None:
    start = {"cwd": str(repo), "session_id": "s-2", "source": "startup"}
    no_key = {**_bare(cli_env), "MEMORY_URL": server_url}
    assert _hook(repo, no_key, "claude-code", payload=start) == ("", "")
    out, err = _hook(repo, {**no_key, "MEMORY_DEBUG": "1"}, "claude-code", payload=start)
    assert out == "" and "memory hook: no API key found" in err

    debug = {**cli_env, "MEMORY_DEBUG": "1"}
    out, err = _hook(repo, debug, "claude-code", payload=start)
    assert out == "" and f"server {server_url} (MEMORY_URL)" in err
    assert "the brief is empty" in err
    prompt = {"cwd": str(repo), "session_id": "s-2", "prompt": "thanks, looks good"}
    out, err = _hook(repo, debug, "claude-code-prompt", payload=prompt)
    assert out == "" and "the server abstained" in err
    command = {"cwd": str(repo), "tool_name": "Bash", "tool_input": {"command": "ls"}}
    out, err = _hook(repo, debug, "claude-code-command", payload=command)
    assert out == "" and "no past mistake matches this command" in err


async def test_mcp_server_finds_its_server_and_key_in_the_config_file(
    repo: Path, cli_env: dict[str, str], home: Path, server_url: str
) -> None:
    config = _config(home)
    config.parent.mkdir(parents=True)
    config.write_text(f'url = "{server_url}"\napi_key = "{cli_env["MEMORY_API_KEY"]}"\n')
    # An MCP client starts servers with a minimal environment: no MEMORY_URL, no key.
    params = StdioServerParameters(
        command=str(MEMORY_BIN), args=["mcp"], env=_bare(cli_env), cwd=repo
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("write_handoff", {"body": HANDOFF, "topic": "Torch"})
        assert not result.is_error, result.content
        text = "\n".join(c.text for c in result.content if isinstance(c, TextContent))
        assert "for widgets in github.com/acme/widgets" in text
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        assert client.list_handoffs(project=PROJECT).items
