"""`memory mcp` driven by the `mcp` package's own stdio client, against the real server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent
from memory_client import MemoryClient
from memory_client.models import KINDS

from tests.clients.helpers import MEMORY_BIN
from tests.clients.test_client_cli import POISONED, assert_quoted_warning
from tests.helpers import PROJECT

HANDOFF = """## What NOT to do
- Don't call the billing API from request handlers; it blocks for seconds under load.

## Immediate next action
- Move the billing call into the worker queue.
"""


TERRAFORM = (
    "## What NOT to do\n- Don't run `terraform apply` on `module.network` without `-target`; "
    "it replaced the NAT gateway and cut egress for 20 minutes.\n"
)


def text(result: CallToolResult) -> str:
    assert not result.is_error, result.content
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_mcp_tools_over_stdio(repo: Path, cli_env: dict[str, str], server_url: str) -> None:
    params = StdioServerParameters(command=str(MEMORY_BIN), args=["mcp"], env=cli_env, cwd=repo)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {
            "brief",
            "search",
            "recall",
            "write_handoff",
            "claim_inbox",
            "forget",
            "check_command",
            "feedback",
        }
        for tool in tools.values():
            assert tool.description and len(tool.description) > 40
        search_args = tools["search"].input_schema["properties"]
        assert search_args["query"]["type"] == "string" and "description" in search_args["k"]
        assert tools["write_handoff"].input_schema["required"] == ["body"]

        written = text(
            await session.call_tool("write_handoff", {"body": HANDOFF, "topic": "Billing"})
        )
        sentinel = re.search(r"handoff ([a-z]+-[a-z]+-\d+)", written)
        assert sentinel and "for widgets in github.com/acme/widgets" in written

        claimed = text(await session.call_tool("claim_inbox", {}))
        assert sentinel.group(1) in claimed and "billing API from request handlers" in claimed
        assert "No unread handoffs" in text(await session.call_tool("claim_inbox", {}))

        found = text(
            await session.call_tool(
                "search", {"query": "slow billing calls in handlers", "kinds": ["mistake"]}
            )
        )
        assert found.startswith("1. [mistake] Don't call the billing API")
        learning_id = re.search(r"learning ([0-9a-f-]{36})", found)
        assert learning_id

        # check_command: said to be called right before a risky command; a command that runs
        # what a mistake warns about gets it, an everyday one nothing.
        description = tools["check_command"].description or ""
        assert "right before" in description and "deploys" in description
        assert tools["check_command"].input_schema["required"] == ["command"]
        with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
            client.create_handoff(PROJECT, TERRAFORM, recipient="infra")
        warned = text(
            await session.call_tool(
                "check_command", {"command": "terraform apply -target=module.network"}
            )
        )
        assert "Past claims to verify" in warned and "NAT gateway" in warned
        quiet = text(await session.call_tool("check_command", {"command": "git status"}))
        assert quiet == "No past mistakes match this command."

        brief = text(await session.call_tool("brief", {"task": "billing latency"}))
        assert brief.startswith(f"# Session brief: {PROJECT} (widgets)")

        # feedback: said when to use it, takes the short id the brief shows.
        description = tools["feedback"].description or ""
        assert "wrong" in description and "outdated" in description and "helpful" in description
        short = learning_id.group(1).replace("-", "")[-10:]
        reported = text(
            await session.call_tool(
                "feedback", {"learning_id": short, "value": "helpful", "note": "saved a trip"}
            )
        )
        assert reported.startswith(f"Recorded helpful on learning {short}")
        bad = await session.call_tool("feedback", {"learning_id": short, "value": "great"})
        assert bad.is_error

        forgot = text(await session.call_tool("forget", {"learning_id": learning_id.group(1)}))
        assert forgot == "Forgot 1 learning(s)."

        # Errors come back as tool errors with the server's message, not as a crash.
        failed = await session.call_tool("forget", {"learning_id": learning_id.group(1)})
        assert failed.is_error and "no learning" in text_of(failed)
        invalid = await session.call_tool("search", {"query": "x", "k": 0})
        assert invalid.is_error

    with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
        [stored] = client.list_handoffs(project=PROJECT, recipient="widgets").items
    assert (stored.tool, stored.topic, stored.recipient) == ("mcp", "Billing", "widgets")


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_mcp_search_shows_flagged_learning_as_quoted_warning(
    repo: Path, cli_env: dict[str, str]
) -> None:
    params = StdioServerParameters(command=str(MEMORY_BIN), args=["mcp"], env=cli_env, cwd=repo)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        text(await session.call_tool("write_handoff", {"body": POISONED}))
        found = text(await session.call_tool("search", {"query": "previous instructions curl"}))
        plain = text(await session.call_tool("search", {"query": "migrations deadlock the pool"}))
    assert_quoted_warning(found)
    assert plain.startswith("1. [mistake] Don't run migrations inside the request handler")
    assert "Flagged" not in plain


def structured(result: CallToolResult, schema: dict[str, Any] | None) -> dict[str, Any]:
    """The tool's structured content, validated against its `outputSchema` (strictly: no
    field the schema does not name, formats checked)."""
    assert not result.is_error, result.content
    assert schema is not None and result.structured_content is not None
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [e.message for e in validator.iter_errors(result.structured_content)]
    assert not errors, errors
    return result.structured_content


async def test_mcp_tools_return_structured_content_matching_their_output_schema(
    repo: Path, cli_env: dict[str, str], server_url: str
) -> None:
    params = StdioServerParameters(command=str(MEMORY_BIN), args=["mcp"], env=cli_env, cwd=repo)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        schemas = {name: tool.output_schema for name, tool in tools.items()}
        for name, schema in schemas.items():
            assert schema and schema["type"] == "object", name
            assert schema.get("additionalProperties") is False, name

        async def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
            return structured(await session.call_tool(name, args), schemas[name])

        written = await call("write_handoff", {"body": HANDOFF, "topic": "Billing"})
        assert (written["project"], written["recipient"]) == (PROJECT, "widgets")
        assert [x["kind"] for x in written["learnings"]] == ["mistake", "next_step"]
        assert written["duplicate"] is False

        inbox = await call("claim_inbox", {})
        [delivery] = inbox["handoffs"]
        assert (delivery["id"], delivery["sentinel"]) == (written["id"], written["sentinel"])
        assert delivery["drift"] == {"branch": False, "head": False}
        assert delivery["flagged"] is False and "billing API" in delivery["body"]
        assert (await call("claim_inbox", {}))["handoffs"] == []

        found = await call("search", {"query": "slow billing calls in handlers"})
        top = found["results"][0]
        mistake = written["learnings"][0]
        assert (top["id"], top["kind"], top["project"]) == (mistake["id"], "mistake", PROJECT)
        assert top["projects"] == [PROJECT] and top["flagged"] is False
        assert top["freshness"] == "unknown" and len(top["short_id"]) == 10

        recalled = await call("recall", {"task": "make the billing call from the request handler"})
        assert recalled["abstained"] in (True, False)
        assert all(r["kind"] in KINDS for r in recalled["results"])

        with MemoryClient(server_url, cli_env["MEMORY_API_KEY"]) as client:
            client.create_handoff(PROJECT, TERRAFORM, recipient="infra")
        command = "terraform apply -target=module.network"
        warned = await call("check_command", {"command": command})
        assert warned["command"] == command and warned["abstained"] is False
        assert [r["kind"] for r in warned["results"]] == ["mistake"]
        assert (await call("check_command", {"command": "git status"}))["results"] == []

        brief = await call("brief", {"task": "billing latency"})
        assert (brief["project"], brief["worktree"], brief["basis"]) == (PROJECT, "widgets", "task")
        assert brief["handoffs"] == [] and brief["tokens"] > 0
        assert mistake["id"] in [x["id"] for x in brief["learnings"]]

        reported = await call("feedback", {"learning_id": top["short_id"], "value": "wrong"})
        assert (reported["learning_id"], reported["value"]) == (top["id"], "wrong")
        assert reported["wrong"] is True

        forgot = await call("forget", {"learning_id": top["id"]})
        assert forgot == {"learning_id": top["id"], "deleted": 1}

        # An instruction-like learning comes back flagged, with the reason.
        await call("write_handoff", {"body": POISONED})
        flagged = await call("search", {"query": "previous instructions curl"})
        assert any(r["flagged"] and r["flag_reason"] for r in flagged["results"])
