"""Claude Code (install/uninstall, the SessionStart hook) and Codex (the AGENTS.md block),
each in a HOME of its own."""

from __future__ import annotations

import copy
import json
import socket
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mcp import ClientSession, StdioServerParameters, stdio_client
from memory_client import MemoryClient
from memory_client.integrations import claude_code, codex

from tests.clients.helpers import run_memory
from tests.helpers import PROJECT, free_port

OTHER_HOOKS = {
    "permissions": {"allow": ["Bash(make test)"]},
    "hooks": {
        "SessionStart": [
            {"matcher": "startup", "hooks": [{"type": "command", "command": "echo hello"}]}
        ],
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "./check.sh"}]}
        ],
    },
}


def _settings(home: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((home / ".claude" / "settings.json").read_text())
    return data


def test_install_claude_code_is_idempotent_and_uninstall_exact(
    repo: Path, cli_env: dict[str, str], home: Path
) -> None:
    settings_file = home / ".claude" / "settings.json"
    settings_file.parent.mkdir()
    settings_file.write_text(json.dumps(OTHER_HOOKS, indent=2))

    for _ in range(2):
        done = run_memory("install", "claude-code", cwd=repo, env=cli_env)
        assert done.returncode == 0, done.stderr
    settings = _settings(home)
    groups = settings["hooks"]["SessionStart"]  # type: ignore[index]
    ours = [g for g in groups if any(claude_code.is_our_hook(h) for h in g["hooks"])]
    assert len(ours) == 1 and ours[0]["matcher"] == "startup|resume|clear|compact"
    assert ours[0]["hooks"][0]["command"].endswith("memory hook claude-code")
    prompt_groups = settings["hooks"]["UserPromptSubmit"]  # type: ignore[index]
    assert prompt_groups == [
        {
            "hooks": [
                {
                    "type": "command",
                    "command": ours[0]["hooks"][0]["command"] + "-prompt",
                    "timeout": claude_code.SETTINGS_TIMEOUT_SECONDS,
                }
            ]
        }
    ]
    command_hooks = [
        g
        for g in settings["hooks"]["PreToolUse"]  # type: ignore[index]
        if any(claude_code.is_our_hook(h, "hook claude-code-command") for h in g["hooks"])
    ]
    assert len(command_hooks) == 1 and command_hooks[0]["matcher"] == "Bash"
    assert command_hooks[0]["hooks"][0]["command"].endswith("memory hook claude-code-command")
    expected = copy.deepcopy(OTHER_HOOKS)
    expected["hooks"]["SessionStart"].append(ours[0])  # type: ignore[index]
    expected["hooks"]["UserPromptSubmit"] = prompt_groups  # type: ignore[index]
    expected["hooks"]["PreToolUse"].append(command_hooks[0])  # type: ignore[index]
    assert settings == expected  # nothing else touched

    skill = home / ".claude" / "skills" / "handoff" / "SKILL.md"
    text = skill.read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["name"] == "handoff" and "memory handoff write" in meta["description"]
    for section in (
        "Decisions",
        "What NOT to do",
        "Assumptions",
        "Patterns",
        "Verification",
        "Immediate next action",
    ):
        assert f"## {section}" in text
    assert "why" in text and "Pointers, not copies" in text and "No secrets" in text

    removed = run_memory("uninstall", "claude-code", cwd=repo, env=cli_env)
    assert removed.returncode == 0
    assert _settings(home) == OTHER_HOOKS
    assert not skill.exists() and not skill.parent.exists()
    assert "no memory hook" in run_memory("uninstall", "claude-code", cwd=repo, env=cli_env).stdout


def agent_handoff_clone(home: Path) -> tuple[Path, str]:
    """A clone of agent-handoff as its README installs it (~/Developer/tooling/agent-handoff),
    with its hook script and skill folder; returns the clone and the hook's command."""
    clone = home / "Developer" / "tooling" / "agent-handoff"
    script = clone / "adapters" / "claude-code" / "hooks" / "surface-handoffs.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#!/usr/bin/env bash\nagent_handoff_surface_all 1\n")
    script.chmod(0o755)
    skill = clone / "adapters" / "claude-code" / "skill" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\nname: handoff\ndescription: agent-handoff's writer\n---\n")
    return clone, str(script)


def test_install_claude_code_retires_agent_handoff(
    repo: Path, cli_env: dict[str, str], home: Path
) -> None:
    """agent-handoff's SessionStart hook delivers the same handoffs: install finds it (where
    its bin/install puts it, a matcher group of its own in ~/.claude/settings.json, and where
    its older bin/install-into-project put it, a flat entry in the project's
    .claude/settings.json) and its /handoff skill link, says how to retire them, and with
    --replace-agent-handoff removes exactly those, once."""
    clone, theirs = agent_handoff_clone(home)
    user = copy.deepcopy(OTHER_HOOKS)
    user["hooks"]["SessionStart"].append({"hooks": [{"type": "command", "command": theirs}]})  # type: ignore[index]
    # Someone put a handler of their own into the same group as agent-handoff's.
    user["hooks"]["SessionStart"].append(  # type: ignore[index]
        {
            "matcher": "startup",
            "hooks": [
                {"type": "command", "command": theirs},
                {"type": "command", "command": "date >> ~/sessions.log"},
            ],
        }
    )
    settings_file = home / ".claude" / "settings.json"
    settings_file.parent.mkdir()
    settings_file.write_text(json.dumps(user, indent=2))
    project_file = repo / ".claude" / "settings.json"
    project_file.parent.mkdir()
    project = {
        "permissions": {"allow": ["Bash(npm test)"]},
        "hooks": {"SessionStart": [{"type": "command", "command": theirs}]},
    }
    project_file.write_text(json.dumps(project, indent=2))
    link = home / ".claude" / "skills" / "handoff"
    link.parent.mkdir()
    link.symlink_to(clone / "adapters" / "claude-code" / "skill")

    told = run_memory("install", "claude-code", cwd=repo, env=cli_env)
    assert told.returncode == 0, told.stderr
    assert told.stdout.count(f"agent-handoff's SessionStart hook `{theirs}`") == 3
    assert f"is also in {project_file}" in told.stdout
    assert (
        "--replace-agent-handoff" in told.stdout
        and "memory import ~/.agent-handoffs" in told.stdout
    )
    assert "it is agent-handoff's /handoff skill" in told.stdout
    assert json.loads(project_file.read_text()) == project  # told, not changed
    assert link.is_symlink()
    assert [
        h["command"] for g in _settings(home)["hooks"]["SessionStart"] for h in g["hooks"]
    ].count(theirs) == 2  # type: ignore[index]

    doctor = json.loads(run_memory("doctor", "--json", cwd=repo, env=cli_env).stdout)
    [warning] = [c for c in doctor["checks"] if c["name"] == "agent-handoff"]
    assert warning["outcome"] == "warn" and "--replace-agent-handoff" in warning["fix"]

    replaced = run_memory(
        "install", "claude-code", "--replace-agent-handoff", cwd=repo, env=cli_env
    )
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.count("removed agent-handoff's SessionStart hook") == 3
    settings = _settings(home)
    session_start = settings["hooks"]["SessionStart"]  # type: ignore[index]
    assert session_start[0] == OTHER_HOOKS["hooks"]["SessionStart"][0]  # type: ignore[index]
    # Its own group went; the shared group kept the other handler, matcher and all.
    assert session_start[1] == {
        "matcher": "startup",
        "hooks": [{"type": "command", "command": "date >> ~/sessions.log"}],
    }
    assert any(claude_code.is_our_hook(h) for h in session_start[2]["hooks"])
    assert settings["permissions"] == OTHER_HOOKS["permissions"]
    assert json.loads(project_file.read_text()) == {"permissions": {"allow": ["Bash(npm test)"]}}
    # memory's /handoff skill in place of the link; agent-handoff's clone untouched.
    assert not link.is_symlink() and "memory handoff write" in (link / "SKILL.md").read_text()
    assert (clone / "adapters" / "claude-code" / "skill" / "SKILL.md").exists()
    assert (clone / "adapters" / "claude-code" / "hooks" / "surface-handoffs.sh").exists()
    doctor = json.loads(run_memory("doctor", "--json", cwd=repo, env=cli_env).stdout)
    assert not [c for c in doctor["checks"] if c["name"] == "agent-handoff"]

    # Once: a second run finds nothing of agent-handoff's and changes nothing.
    before = (settings_file.read_text(), project_file.read_text())
    again = run_memory("install", "claude-code", "--replace-agent-handoff", cwd=repo, env=cli_env)
    assert again.returncode == 0 and "agent-handoff" not in again.stdout
    assert (settings_file.read_text(), project_file.read_text()) == before


def test_install_claude_code_in_an_empty_home_and_config_dir(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    claude_code.install(env, command="memory hook claude-code")
    assert (tmp_path / ".claude" / "settings.json").exists()
    claude_code.uninstall(env)
    assert json.loads((tmp_path / ".claude" / "settings.json").read_text()) == {}

    custom = {"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(tmp_path / "cc")}
    claude_code.install(custom)
    assert (tmp_path / "cc" / "skills" / "handoff" / "SKILL.md").exists()


def test_install_refuses_to_overwrite_broken_settings(tmp_path: Path) -> None:
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text("{ not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        claude_code.install({"HOME": str(tmp_path)})
    assert path.read_text() == "{ not json"


def test_a_users_own_handoff_skill_is_left_alone(tmp_path: Path) -> None:
    skill = tmp_path / ".claude" / "skills" / "handoff" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\nname: handoff\ndescription: mine\n---\n")
    env = {"HOME": str(tmp_path)}
    assert any("left" in line for line in claude_code.install(env))
    claude_code.uninstall(env)
    assert skill.read_text().endswith("description: mine\n---\n")


def hook(repo: Path, env: dict[str, str], payload: str) -> tuple[str, float, int]:
    started = time.monotonic()
    done = run_memory("hook", "claude-code", cwd=repo.parent, env=env, input=payload)
    return done.stdout, time.monotonic() - started, done.returncode


def test_hook_delivers_the_brief_once(repo: Path, cli_env: dict[str, str], server_url: str) -> None:
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        created = client.create_handoff(
            PROJECT,
            "## What NOT to do\n- Don't bump the pinned torch; CUDA wheels follow.\n",
            recipient="widgets",
            topic="Packaging",
            branch="main",
        )
    payload = json.dumps({"cwd": str(repo), "session_id": "s-1", "source": "startup"})
    out, _, code = hook(repo, cli_env, payload)
    assert code == 0
    context = json.loads(out)["hookSpecificOutput"]
    assert context["hookEventName"] == "SessionStart"
    assert created.sentinel in context["additionalContext"]
    assert "Don't bump the pinned torch" in context["additionalContext"]
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        stored = client.get_handoff(created.id)
    assert (stored.status, stored.claimed_by) == ("read", "s-1")

    # Delivered once: the next start shows the project's learnings, not the handoff again.
    out, _, _ = hook(repo, cli_env, payload.replace("startup", "resume"))
    again = json.loads(out)["hookSpecificOutput"]["additionalContext"]
    assert created.sentinel not in again and "Handoffs for this worktree" not in again


def test_hook_brief_asks_for_the_handoffs_name_and_shows_how_to_verify(
    repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    """What the agent is given at start-up (issue 20, point 5): a request to open its first
    reply with the handoff's name and sentinel, and the handoff's verification commands and
    files under it, passed through by the hook as the server wrote them."""
    body = (
        "---\nname: torch-pin\n---\n"
        "## What NOT to do\n- Don't bump the pinned torch; CUDA wheels follow.\n\n"
        "## Verification\n- `uv run pytest tests/packaging -q`\n\n"
        "## Files\n- `pyproject.toml`\n- `uv.lock`\n- `src/widgets/torch_pin.py`\n"
    )
    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        created = client.create_handoff(PROJECT, body, recipient="widgets", branch="main")
    payload = json.dumps({"cwd": str(repo), "session_id": "s-2", "source": "startup"})
    out, _, code = hook(repo, cli_env, payload)
    assert code == 0
    context = json.loads(out)["hookSpecificOutput"]["additionalContext"]
    assert f"`Handoff read: torch-pin (sentinel {created.sentinel})`" in context
    assert "open your first reply with" in context
    assert "- [verify with] `uv run pytest tests/packaging -q`\n" in context
    assert "- [files] `pyproject.toml` · `uv.lock` · `src/widgets/torch_pin.py`\n" in context


def test_hook_prints_nothing_when_there_is_nothing(repo: Path, cli_env: dict[str, str]) -> None:
    out, _, code = hook(repo, cli_env, json.dumps({"cwd": str(repo), "source": "startup"}))
    assert (out, code) == ("", 0)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: the worst case for a hook's deadline."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_hook_deadline_can_be_raised_never_past_claude_codes_timeout(
    repo: Path, cli_env: dict[str, str], silent_server: str
) -> None:
    """MEMORY_HOOK_DEADLINE gives a slow link more time: against a server that never answers,
    a 3 s deadline waits past the default 1.7 s (a lower bound, which load cannot break),
    then still gives up with no output."""
    env = {**cli_env, "MEMORY_URL": silent_server, claude_code.DEADLINE_ENV: "3"}
    payload = json.dumps({"cwd": str(repo), "session_id": "s", "source": "startup"})
    out, elapsed, code = hook(repo, env, payload)
    assert (out, code) == ("", 0)
    assert elapsed > 2.5


@pytest.mark.parametrize(
    ("value", "deadline"),
    [
        (None, 1.7),
        ("3", 3.0),
        ("0.5", 0.5),
        ("60", 9.0),
        ("0", 1.7),
        ("-2", 1.7),
        ("soon", 1.7),
        ("nan", 1.7),
        ("inf", 9.0),
    ],
)
def test_hook_deadline_setting(
    value: str | None, deadline: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv(claude_code.DEADLINE_ENV, raising=False)
    else:
        monkeypatch.setenv(claude_code.DEADLINE_ENV, value)
    assert claude_code.hook_deadline() == deadline


@pytest.mark.parametrize("case", ["refused", "silent", "garbage", "no key"])
def test_hook_fails_open_within_two_seconds(
    case: str, repo: Path, cli_env: dict[str, str], silent_server: str
) -> None:
    env = dict(cli_env)
    del env[claude_code.DEADLINE_ENV]  # the default deadline
    payload = json.dumps({"cwd": str(repo), "session_id": "s", "source": "startup"})
    if case == "refused":
        env["MEMORY_URL"] = f"http://127.0.0.1:{free_port()}"
    elif case == "silent":
        env["MEMORY_URL"] = silent_server
    elif case == "garbage":
        payload = "{not json"
    else:
        del env["MEMORY_API_KEY"]
        env["MEMORY_DATA_DIR"] = str(repo / "no-such-dir")
    out, elapsed, code = hook(repo, env, payload)
    assert (out, code) == ("", 0)
    # It gives up by itself HOOK_DEADLINE_SECONDS after its process started (the whole run
    # takes under 2 s on an idle machine), long before Claude Code would kill it; not timed
    # at 2 s here: on a loaded machine process start alone can take longer.
    assert claude_code.HOOK_DEADLINE_SECONDS < 2.0
    assert elapsed < claude_code.SETTINGS_TIMEOUT_SECONDS


def test_codex_block_install_and_uninstall(
    tmp_path: Path, repo: Path, cli_env: dict[str, str]
) -> None:
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    agents = codex_home / "AGENTS.md"
    original = "# My rules\n\n- Run `make lint` before committing.\n"
    agents.write_text(original)
    env = {**cli_env, "CODEX_HOME": str(codex_home)}

    for _ in range(2):
        assert run_memory("install", "codex", cwd=repo, env=env).returncode == 0
    text = agents.read_text()
    assert text.startswith(original)
    assert text.count(codex.BEGIN) == 1 and text.count(codex.END) == 1
    block = text[text.index(codex.BEGIN) : text.index(codex.END)]
    assert "`memory brief`" in block and "`memory handoff write" in block
    assert "`memory check -- <the command>`" in block
    for risky in ("deploy", "migration", "destructive", "infrastructure apply"):
        assert risky in block

    # Text the user adds after the block survives the uninstall too.
    agents.write_text(text + "\n- Added later.\n")
    assert run_memory("uninstall", "codex", cwd=repo, env=env).returncode == 0
    assert agents.read_text() == original + "\n- Added later.\n"

    # Installed into a missing file, uninstall leaves no empty file behind.
    fresh = {"HOME": str(tmp_path / "h2")}
    codex.install(fresh)
    path = codex.agents_file(fresh)
    assert path.read_text() == codex.BLOCK
    codex.uninstall(fresh)
    assert not path.exists()


CODEX_CONFIG = """# my Codex settings
model = "gpt-5-codex"
approval_policy = "on-request"

[sandbox_workspace_write]
network_access = true

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]
"""


async def test_codex_install_registers_mcp_server_and_handoff_prompt(
    tmp_path: Path, repo: Path, cli_env: dict[str, str], home: Path
) -> None:
    codex_home = tmp_path / "codex-home"
    (codex_home / "prompts").mkdir(parents=True)
    config = codex_home / "config.toml"
    config.write_text(CODEX_CONFIG)
    theirs = codex_home / "prompts" / "review.md"
    theirs.write_text("Review the diff.\n")
    env = {**cli_env, "CODEX_HOME": str(codex_home)}

    first = run_memory("install", "codex", cwd=repo, env=env)
    assert first.returncode == 0, first.stderr
    written = config.read_text()
    prompt = (codex_home / "prompts" / "handoff.md").read_text()
    skill = (home / ".agents" / "skills" / "handoff" / "SKILL.md").read_text()
    again = run_memory("install", "codex", cwd=repo, env=env)
    assert again.returncode == 0, again.stderr
    assert config.read_text() == written  # a second install changes nothing
    assert "already" in again.stdout and "added" not in again.stdout

    # The user's settings stay byte for byte; ours is one [mcp_servers.memory] table.
    assert written.startswith(CODEX_CONFIG)
    parsed = tomllib.loads(written)
    assert parsed["model"] == "gpt-5-codex" and parsed["mcp_servers"]["docs"]["command"] == "npx"
    server = parsed["mcp_servers"]["memory"]
    assert Path(server["command"]).name == "memory" and server["args"] == ["mcp"]
    assert set(server["env"]) == {"MEMORY_CONFIG"}  # never the key itself
    assert cli_env["MEMORY_API_KEY"] not in written
    # network_access is already allowed here: no sandbox note.
    assert "network_access" not in first.stdout

    # /handoff: the custom prompt (`/prompts:handoff`) and the skill (`$handoff`) tell Codex
    # to write the sections the service parses and to store it with `memory handoff write`.
    for text in (prompt, skill):
        assert "memory handoff write" in text
        for section in ("## Decisions", "## What NOT to do", "## Verification"):
            assert section in text
        assert "## Immediate next action" in text
    assert prompt.startswith("---\ndescription: ") and "$ARGUMENTS" in prompt
    assert skill.startswith("---\nname: handoff\ndescription: ")

    # Started as Codex starts it (its command, args and env, with only HOME and PATH of
    # the user's environment), the server finds the service and key install recorded.
    params = StdioServerParameters(
        command=server["command"],
        args=server["args"],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", **server["env"]},
        cwd=repo,
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("claim_inbox", {})
    assert not result.is_error, result.content

    # `memory doctor` sees the MCP server and, network being allowed, no sandbox problem ...
    checks = _doctor(repo, env)
    assert checks["codex"] == "ok" and "codex mcp" not in checks and "codex sandbox" not in checks
    # ... and with Codex's default sandbox and an AGENTS.md block only (an older install),
    # says what is missing.
    config.write_text(CODEX_CONFIG.replace("network_access = true", "network_access = false"))
    checks = _doctor(repo, env)
    assert checks["codex mcp"] == checks["codex sandbox"] == "warn"
    config.write_text(written)

    assert run_memory("uninstall", "codex", cwd=repo, env=env).returncode == 0
    assert config.read_text() == CODEX_CONFIG
    assert not (codex_home / "prompts" / "handoff.md").exists()
    assert not (home / ".agents" / "skills" / "handoff").exists()
    assert theirs.read_text() == "Review the diff.\n"


def _doctor(repo: Path, env: dict[str, str]) -> dict[str, str]:
    done = run_memory("doctor", "--json", cwd=repo, env=env)
    return {c["name"]: c["outcome"] for c in json.loads(done.stdout)["checks"]}


def test_codex_install_keeps_users_own_handoff_and_says_what_to_allow(tmp_path: Path) -> None:
    fresh = {"HOME": str(tmp_path / "h")}
    mine = codex.prompt_file(fresh)
    mine.parent.mkdir(parents=True)
    mine.write_text("My own handoff prompt.\n")
    done = codex.install(fresh)
    assert any(f"left {mine} alone" in line for line in done)
    # Default sandbox: the note says what to allow for the CLI commands to reach the server.
    assert any("network_access = true" in line for line in done)
    assert tomllib.loads(codex.config_toml(fresh).read_text())["mcp_servers"]["memory"]
    codex.uninstall(fresh)
    assert mine.read_text() == "My own handoff prompt.\n"
    assert not codex.config_toml(fresh).exists() and not codex.skill_file(fresh).exists()


def test_install_codex_retires_agent_handoff(
    repo: Path, cli_env: dict[str, str], home: Path
) -> None:
    """agent-handoff's bin/install also wires its Codex hook into ~/.codex/hooks.json (a
    matcher group in `.hooks.SessionStart`, the shape Claude Code uses): `memory install codex`
    says so, `--replace-agent-handoff` removes exactly that handler, once, and doctor warns
    while it is there."""
    clone, _ = agent_handoff_clone(home)
    theirs = str(clone / "adapters" / "codex-cli" / "hooks" / "surface-handoffs.sh")
    mine = {"type": "command", "command": "notify-send codex-started"}
    hooks = {
        "hooks": {
            "SessionStart": [
                {"hooks": [{"type": "command", "command": theirs}]},
                {"hooks": [mine]},
            ],
            "Stop": [{"hooks": [{"type": "command", "command": "date"}]}],
        }
    }
    hooks_file = home / ".codex" / "hooks.json"
    hooks_file.parent.mkdir()
    hooks_file.write_text(json.dumps(hooks, indent=2))

    told = run_memory("install", "codex", cwd=repo, env=cli_env)
    assert told.returncode == 0, told.stderr
    assert f"agent-handoff's SessionStart hook `{theirs}` is also in {hooks_file}" in told.stdout
    assert "memory install codex --replace-agent-handoff" in told.stdout
    assert json.loads(hooks_file.read_text()) == hooks  # told, not changed
    doctor = json.loads(run_memory("doctor", "--json", cwd=repo, env=cli_env).stdout)
    [warning] = [c for c in doctor["checks"] if c["name"] == "agent-handoff codex"]
    assert "memory install codex --replace-agent-handoff" in warning["fix"]

    replaced = run_memory("install", "codex", "--replace-agent-handoff", cwd=repo, env=cli_env)
    assert replaced.returncode == 0, replaced.stderr
    assert f"removed agent-handoff's SessionStart hook `{theirs}`" in replaced.stdout
    assert json.loads(hooks_file.read_text()) == {
        "hooks": {"SessionStart": [{"hooks": [mine]}], "Stop": hooks["hooks"]["Stop"]}
    }
    doctor = json.loads(run_memory("doctor", "--json", cwd=repo, env=cli_env).stdout)
    assert not [c for c in doctor["checks"] if c["name"] == "agent-handoff codex"]

    before = hooks_file.read_text()
    again = run_memory("install", "codex", "--replace-agent-handoff", cwd=repo, env=cli_env)
    assert again.returncode == 0 and "agent-handoff" not in again.stdout
    assert hooks_file.read_text() == before
