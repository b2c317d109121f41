"""Handoff markdown -> typed learnings, files, commands and front matter."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from memory_service.handoffs.parsing import (
    HEADING_RULES,
    KINDS,
    ParsedHandoff,
    clean_heading,
    heading_kind,
    parse_handoff,
)
from memory_service.hygiene.redaction import redact
from memory_service.hygiene.sanitize import sanitize_text

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "dev_eval.json"


def kinds_and_texts(parsed: ParsedHandoff) -> list[tuple[str, str]]:
    return [(learning.kind, learning.text) for learning in parsed.learnings]


# --- heading -> kind -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("Decisions", "decision"),
        ("Key Decisions", "decision"),
        ("Decisions made (with evidence)", "decision"),
        ("What NOT to do", "mistake"),
        ("What NOT to do on resume", "mistake"),
        ("Mistakes to Avoid", "mistake"),
        ("Blockers", "mistake"),
        ("Dead ends", "mistake"),
        ("Gotchas", "mistake"),
        ("Tried and failed", "mistake"),
        ("Pitfalls", "mistake"),
        ("Don'ts", "mistake"),
        ("Don’ts", "mistake"),
        ("Anti-patterns", "mistake"),
        ("Pattern to Follow", "pattern"),
        ("Patterns", "pattern"),
        ("Conventions", "pattern"),
        ("Rules we follow now", "pattern"),
        ("Rules", "pattern"),
        ("What we do now", "pattern"),
        ("Assumptions", "assumption"),
        ("Assumptions / world-model snapshot", "assumption"),
        ("Assumptions I made", "assumption"),
        ("Discovered", "discovery"),
        ("Findings", "discovery"),
        ("Learnings", "discovery"),
        ("Root cause", "discovery"),
        ("What I learned", "discovery"),
        ("Why", "discovery"),
        ("Why the sale countdown was wrong", "discovery"),
        ("Next Steps", "next_step"),
        ("Immediate next action", "next_step"),
        ("Open follow-ups", "next_step"),
        ("In Progress", "next_step"),
        ("TODO", "next_step"),
        ("What's next?", "next_step"),
        ("Completed", "status"),
        ("Current State", "status"),
        ("Status as of 2026-01-02", "status"),
        ("Recently verified / completed — DO NOT REDO", "status"),
        ("Done", "status"),
        ("What changed", "status"),
        ("Verification", None),
        ("Verification commands", None),
        ("How to verify", None),
        ("Files Modified", None),
        ("Files changed", None),
        ("Key files", None),
        ("Commands", None),
        ("How streaming is wired", "note"),
        ("Why retries look the way they do", "note"),
        ("Analytics", "note"),
        ("HANDOFF - Presence tracking across a 3-node cluster", "note"),
        ("Next.js upgrade", "note"),
        ("", "note"),
    ],
)
def test_heading_kind(heading: str, kind: str | None) -> None:
    assert heading_kind(heading) == kind


@pytest.mark.parametrize(
    "heading",
    [
        "## Decisions",
        "### **Decisions**",
        "Decisions:",
        "**Decisions:**",
        "3. Decisions",
        "🧭 Decisions",
        "✅ Decisions ✅",
        "  decisions  ",
        "DECISIONS",
    ],
)
def test_heading_kind_ignores_decoration(heading: str) -> None:
    assert heading_kind(heading) == "decision"


def test_clean_heading_strips_decoration_only() -> None:
    assert clean_heading("## 🚫 **What NOT to do:**") == "What NOT to do"
    assert clean_heading("2. Key Decisions") == "Key Decisions"
    assert clean_heading("Decisions made (with evidence)") == "Decisions made (with evidence)"
    assert clean_heading("HANDOFF - Cart state") == "HANDOFF - Cart state"
    assert clean_heading("`useCart` notes") == "`useCart` notes"


def test_heading_rules_only_name_known_roles() -> None:
    assert {role for _, role in HEADING_RULES} == {
        *KINDS[:-1],
        "files",
        "commands",
        "skills",
        "metadata",
    }


# --- blocks ----------------------------------------------------------------------------------


def test_bullets_numbered_items_and_continuation_lines() -> None:
    parsed = parse_handoff(
        "## Decisions\n"
        "- First decision,\n"
        "  wrapped onto a second line\n"
        "  and a third.\n"
        "* Star bullet\n"
        "+ Plus bullet\n"
        "\n"
        "## Next Steps\n"
        "1. Numbered one\n"
        "2) Numbered two\n"
        "   continued\n"
        "10. Numbered ten\n"
    )
    assert kinds_and_texts(parsed) == [
        ("decision", "First decision, wrapped onto a second line and a third."),
        ("decision", "Star bullet"),
        ("decision", "Plus bullet"),
        ("next_step", "Numbered one"),
        ("next_step", "Numbered two continued"),
        ("next_step", "Numbered ten"),
    ]
    assert [learning.position for learning in parsed.learnings] == list(range(6))
    assert {learning.section for learning in parsed.learnings} == {"Decisions", "Next Steps"}


def test_lazy_continuation_line_joins_item() -> None:
    parsed = parse_handoff("## Gotchas\n- starts here\nand goes on unindented\n- second\n")
    assert [t for _, t in kinds_and_texts(parsed)] == [
        "starts here and goes on unindented",
        "second",
    ]


def test_nested_bullets_join_their_parent() -> None:
    parsed = parse_handoff(
        "## Completed\n"
        "- Parent item:\n"
        "  - child one\n"
        "    continued\n"
        "  - child two\n"
        "    1. grandchild\n"
        "- Sibling\n"
        "1. Ordered parent\n"
        "  - two-space child\n"
    )
    assert [t for _, t in kinds_and_texts(parsed)] == [
        "Parent item: child one continued; child two; grandchild",
        "Sibling",
        "Ordered parent; two-space child",
    ]


def test_loose_list_and_indented_paragraph_inside_item() -> None:
    parsed = parse_handoff(
        "## Decisions\n- one\n\n- two\n\n  more about two\n\nA paragraph after the list.\n"
    )
    assert [t for _, t in kinds_and_texts(parsed)] == [
        "one",
        "two more about two",
        "A paragraph after the list.",
    ]


def test_paragraphs_are_one_learning_each() -> None:
    parsed = parse_handoff(
        "## Current State\nFirst paragraph\nspans two lines.\n\nSecond paragraph.\n"
    )
    assert kinds_and_texts(parsed) == [
        ("status", "First paragraph spans two lines."),
        ("status", "Second paragraph."),
    ]


def test_markdown_inside_items_is_kept() -> None:
    parsed = parse_handoff("## Decisions\n- Use `foo()` with **care**, see [docs](http://x).\n")
    # Emphasis markers are not part of the learning (the stored body keeps them).
    assert parsed.learnings[0].text == "Use `foo()` with care, see [docs](http://x)."


def test_empty_items_and_sections_are_skipped() -> None:
    parsed = parse_handoff("## Decisions\n-\n- \n*   \n## Next Steps\n\n## Gotchas\n- real\n")
    assert kinds_and_texts(parsed) == [("mistake", "real")]


def test_text_before_any_heading_is_a_note() -> None:
    parsed = parse_handoff("Spent the session on X.\n\n## Decisions\n- Y\n")
    assert parsed.learnings[0].kind == "note"
    assert parsed.learnings[0].section == ""


def test_fenced_code_goes_to_commands_never_to_learnings() -> None:
    parsed = parse_handoff(
        "## Decisions\n"
        "- Keep it\n"
        "```bash\n"
        "make test\n"
        "- not a bullet\n"
        "## not a heading\n"
        "```\n"
        "~~~\n"
        "tilde block\n"
        "~~~\n"
        "- Another\n"
    )
    assert [t for _, t in kinds_and_texts(parsed)] == ["Keep it", "Another"]
    assert parsed.commands == ["make test\n- not a bullet\n## not a heading", "tilde block"]


def test_fence_inside_list_item_keeps_the_list_going() -> None:
    parsed = parse_handoff(
        "## Next Steps\n- Run the migration:\n  ```\n  alembic upgrade head\n  ```\n- Then deploy\n"
    )
    assert [t for _, t in kinds_and_texts(parsed)] == ["Run the migration:", "Then deploy"]
    assert parsed.commands == ["alembic upgrade head"]


def test_fence_inside_blockquote_closes() -> None:
    parsed = parse_handoff("## Gotchas\n> ```\n> make x\n> ```\n- after\n")
    assert parsed.commands == ["make x"]
    assert [t for _, t in kinds_and_texts(parsed)] == ["after"]
    assert parsed.warnings == []


def test_inline_triple_backticks_are_not_a_fence() -> None:
    parsed = parse_handoff("## Gotchas\n```x``` is not a fence\n- still parsed\n")
    assert [t for _, t in kinds_and_texts(parsed)] == ["```x``` is not a fence", "still parsed"]
    assert parsed.warnings == []


def test_unclosed_fence_warns() -> None:
    parsed = parse_handoff("## Decisions\n- a\n```\ncode\n- swallowed\n")
    assert [t for _, t in kinds_and_texts(parsed)] == ["a"]
    assert parsed.commands == ["code\n- swallowed"]
    assert any("never closed" in w for w in parsed.warnings)


def test_verification_section_yields_commands_not_learnings() -> None:
    parsed = parse_handoff(
        "## Verification\n"
        "- `mix test test/parley/history_test.exs`: 38 tests, 0 failures.\n"
        "- Manually paged a 12k-message room over `wscat`.\n"
        "\n"
        "$ curl -s localhost:8000/healthz\n"
        "\n"
        "```\nmake lint\n```\n"
        "## How to verify\n1. `pytest -q` passes\n"
    )
    assert parsed.learnings == []
    assert parsed.commands == [
        "mix test test/parley/history_test.exs",
        "curl -s localhost:8000/healthz",
        "make lint",
        "pytest -q",
    ]


def test_files_sections_yield_paths() -> None:
    parsed = parse_handoff(
        "## Files Modified\n"
        "- `lib/parley/push/fcm.ex`, `lib/parley/push/apns.ex`\n"
        "- `infergate/app.py` (lifespan, uses `useState`)\n"
        "- `Dockerfile`, `pyproject.toml` and `uv.lock`\n"
        "- src/plain/path.ts: reworked\n"
        "- no path here\n"
        "## Key files\n"
        "```\nsrc/a.py\nsrc/b.py\n```\n"
        "## Files changed\n"
        "| File | Why |\n|---|---|\n| `src/c.py` | new |\n"
        "## Decisions\n- `src/d.py` is a decision, not a file entry\n"
    )
    assert parsed.files == [
        "lib/parley/push/fcm.ex",
        "lib/parley/push/apns.ex",
        "infergate/app.py",
        "Dockerfile",
        "pyproject.toml",
        "uv.lock",
        "src/plain/path.ts",
        "src/a.py",
        "src/b.py",
        "src/c.py",
    ]
    assert parsed.commands == []
    assert kinds_and_texts(parsed) == [("decision", "`src/d.py` is a decision, not a file entry")]


def test_files_and_commands_are_deduplicated() -> None:
    parsed = parse_handoff("## Files\n- `a.py`\n- `a.py`\n## Commands\n- `make`\n- `make`\n")
    assert parsed.files == ["a.py"]
    assert parsed.commands == ["make"]


def test_lead_in_line_sets_the_kind_of_its_list_and_is_dropped() -> None:
    parsed = parse_handoff(
        "# Notes\n\nWhat changed, roughly in order:\n\n- one\n- two\n\nFix that stuck:\n- three\n"
        "\nSomething unrelated:\n- four\n"
    )
    assert kinds_and_texts(parsed) == [
        ("status", "one"),
        ("status", "two"),
        ("status", "three"),
        ("note", "four"),
    ]


def test_lead_in_does_not_turn_files_into_learnings() -> None:
    parsed = parse_handoff("## Files changed\nChanged:\n- `a.py`\n")
    assert parsed.learnings == []
    assert parsed.files == ["a.py"]


def test_long_line_ending_in_colon_is_prose_and_kept() -> None:
    text = "The deploy failed three times this week for the same reason, which took a while to see:"
    parsed = parse_handoff(f"## Gotchas\n{text}\n- reason\n")
    assert kinds_and_texts(parsed) == [("mistake", text), ("mistake", "reason")]


def test_inline_labels_that_name_a_kind_override_the_section() -> None:
    parsed = parse_handoff(
        "## Gotchas\n"
        "- a gotcha\n"
        "\n"
        "Next person: verify the drainer.\n"
        "\n"
        "Still open: the retry.\n"
        "\n"
        "**Root cause:** a race.\n"
        "\n"
        "Tooling: use the malloc hook.\n"
        "## Decisions\n"
        "- Status codes: 429 when over quota.\n"
        "- TODO: decide on 503.\n"
    )
    assert [learning.kind for learning in parsed.learnings] == [
        "mistake",
        "next_step",
        "next_step",
        "discovery",
        "mistake",
        "decision",
        "next_step",
    ]


def test_subheadings_inherit_the_kind_of_their_section() -> None:
    parsed = parse_handoff(
        "# Title\n"
        "## Decisions\n"
        "### Database\n"
        "- Postgres 16\n"
        "### Gotchas\n"
        "- own kind\n"
        "## Background\n"
        "- plain note\n"
    )
    assert kinds_and_texts(parsed) == [
        ("decision", "Postgres 16"),
        ("mistake", "own kind"),
        ("note", "plain note"),
    ]
    assert [learning.section for learning in parsed.learnings] == [
        "Database",
        "Gotchas",
        "Background",
    ]


def test_bold_line_that_names_a_section_acts_as_a_heading() -> None:
    parsed = parse_handoff("**Decisions:**\n- a\n\n**Gotchas**\n- b\n\n**Important**\n\n- c\n")
    assert kinds_and_texts(parsed) == [
        ("decision", "a"),
        ("mistake", "b"),
        ("mistake", "Important"),
        ("mistake", "c"),
    ]
    assert parsed.learnings[1].section == "Gotchas"


def test_task_list_checkboxes() -> None:
    parsed = parse_handoff("## TODO\n- [ ] write tests\n- [x] fix the bug\n- [X] deploy\n")
    assert kinds_and_texts(parsed) == [
        ("next_step", "write tests"),
        ("status", "fix the bug"),
        ("status", "deploy"),
    ]


def test_table_rows_are_learnings_labelled_by_header() -> None:
    parsed = parse_handoff(
        "## Decisions\n"
        "| Option | Verdict |\n"
        "| --- | :---: |\n"
        "| Redis | chosen |\n"
        "| Memcached \\| KeyDB | rejected |\n"
        "\n"
        "| no | header |\n"
        "| just | rows |\n"
    )
    assert [t for _, t in kinds_and_texts(parsed)] == [
        "Option: Redis; Verdict: chosen",
        "Option: Memcached | KeyDB; Verdict: rejected",
        "no | header",
        "just | rows",
    ]


def test_blockquotes_thematic_breaks_and_html_comments() -> None:
    parsed = parse_handoff(
        "## Gotchas\n"
        "> Quoted warning\n"
        "> over two lines.\n"
        "\n"
        "---\n"
        "<!-- template hint: remove me -->\n"
        "- item\n"
        "***\n"
        "Paragraph after a rule\n"
        "---\n"
    )
    assert [t for _, t in kinds_and_texts(parsed)] == [
        "Quoted warning over two lines.",
        "item",
        "Paragraph after a rule",
    ]


def test_ordered_item_other_than_one_does_not_interrupt_a_paragraph() -> None:
    parsed = parse_handoff("## Discovered\nIt broke in release\n2. and in debug too.\n")
    assert [t for _, t in kinds_and_texts(parsed)] == ["It broke in release 2. and in debug too."]


def test_very_long_items_are_not_truncated() -> None:
    long_text = "word " * 5000
    parsed = parse_handoff(f"## Decisions\n- {long_text}\n")
    assert parsed.learnings[0].text == long_text.strip()


# --- title -----------------------------------------------------------------------------------


def test_title_is_the_first_h1() -> None:
    parsed = parse_handoff("Intro.\n\n## Decisions\n- a\n# HANDOFF - Cart **state**\n# Second\n")
    assert parsed.title == "HANDOFF - Cart state"


def test_setext_h1_is_a_title() -> None:
    assert parse_handoff("Cart state\n==========\n\n- a\n").title == "Cart state"


def test_lone_first_line_of_notes_without_h1_is_the_title_not_a_learning() -> None:
    parsed = parse_handoff("Release build crash hunt - session notes\n\nIt crashed.\n")
    assert parsed.title == "Release build crash hunt - session notes"
    assert [t for _, t in kinds_and_texts(parsed)] == ["It crashed."]


def test_no_title() -> None:
    assert parse_handoff("It crashed.\n\nThen it worked.\n").title is None
    assert parse_handoff("Just one line").title is None
    assert [t for _, t in kinds_and_texts(parse_handoff("Just one line"))] == ["Just one line"]


# --- front matter ----------------------------------------------------------------------------

GOOD_FRONT_MATTER = """---
from: claude-code (session 14)
to: next agent on parley-chat
created: 2026-01-12T17:42:09Z
day: 2026-01-12
tags: [search, db]
ratio: .nan
2: two
null: nothing
---

## Decisions
- A
"""


def test_front_matter_is_parsed_into_json_safe_values() -> None:
    parsed = parse_handoff(GOOD_FRONT_MATTER)
    assert parsed.front_matter == {
        "from": "claude-code (session 14)",
        "to": "next agent on parley-chat",
        "created": "2026-01-12T17:42:09+00:00",
        "day": "2026-01-12",
        "tags": ["search", "db"],
        "ratio": "nan",
        "2": "two",
        "null": "nothing",
    }
    json.dumps(parsed.front_matter, allow_nan=False)
    assert parsed.content.startswith("## Decisions")
    assert parsed.warnings == []
    assert kinds_and_texts(parsed) == [("decision", "A")]


def test_front_matter_variants_that_are_fine() -> None:
    dots = parse_handoff("---\nfrom: a\n...\n- x\n")
    assert dots.front_matter == {"from": "a"}
    assert dots.warnings == []
    leading_blank = parse_handoff("\n\n---\nfrom: a\n---\nbody\n")
    assert leading_blank.front_matter == {"from": "a"}
    crlf_bom = parse_handoff("\ufeff---\r\nfrom: a\r\n---\r\n## Decisions\r\n- x\r\n")
    assert crlf_bom.front_matter == {"from": "a"}
    assert kinds_and_texts(crlf_bom) == [("decision", "x")]
    empty = parse_handoff("---\n---\n- x\n")
    assert (empty.front_matter, empty.warnings, empty.content) == ({}, [], "- x\n")


def test_redaction_placeholders_in_front_matter_stay_strings() -> None:
    body, _ = redact("---\nto: alice@example.com\nurl: [x]\n---\n- x\n")
    parsed = parse_handoff(body)
    assert parsed.front_matter == {"to": "[REDACTED:email]", "url": ["x"]}
    assert parsed.warnings == []


def test_malformed_front_matter_is_kept_as_text_with_a_warning() -> None:
    text = "---\nfrom: codex\ntopic: Fix: the thing\n---\n## Decisions\n- A\n"
    parsed = parse_handoff(text)
    assert parsed.front_matter == {}
    assert parsed.content == text
    assert len(parsed.warnings) == 1
    assert "not valid YAML" in parsed.warnings[0]
    assert "line 3" in parsed.warnings[0]
    # The broken block is not turned into learnings; the markdown after it is.
    assert kinds_and_texts(parsed) == [("decision", "A")]


def test_markdown_between_rules_is_not_mistaken_for_front_matter() -> None:
    text = "---\n# Cart\n- first: a: b\n---\n## Decisions\n- A\n"
    parsed = parse_handoff(text)
    assert parsed.front_matter == {}
    assert parsed.content == text
    assert parsed.title == "Cart"
    assert [t for _, t in kinds_and_texts(parsed)] == ["first: a: b", "A"]


def test_unterminated_front_matter_is_kept_as_text_with_a_warning() -> None:
    text = "---\nfrom: codex\n\n## Decisions\n- A\n"
    parsed = parse_handoff(text)
    assert parsed.front_matter == {}
    assert parsed.content == text
    assert parsed.warnings == ["front matter block is not terminated by a `---` line; kept as text"]
    assert ("decision", "A") in kinds_and_texts(parsed)


@pytest.mark.parametrize("block", ["- a\n- b", "just a string", "42"])
def test_non_mapping_front_matter_is_kept_as_text_with_a_warning(block: str) -> None:
    text = f"---\n{block}\n---\n## Decisions\n- A\n"
    parsed = parse_handoff(text)
    assert parsed.front_matter == {}
    assert parsed.content == text
    assert parsed.warnings == ["front matter is not a YAML mapping; kept as text"]


@pytest.mark.parametrize(
    "block",
    [
        "created: 2026-13-45",  # PyYAML raises ValueError, not YAMLError
        "a: &x [*x]",  # self-referencing
        "k0: &a0 [x, x]\n"
        + "\n".join(f"k{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 30)),  # alias bomb
        "a: " + "[" * 3000,  # deep nesting
        "!!python/object/apply:os.system ['echo hi']",  # safe_load refuses
    ],
)
def test_hostile_front_matter_never_raises(block: str) -> None:
    parsed = parse_handoff(f"---\n{block}\n---\n## Decisions\n- A\n")
    assert parsed.front_matter == {}
    assert len(parsed.warnings) == 1
    assert ("decision", "A") in kinds_and_texts(parsed)


# --- never raises ----------------------------------------------------------------------------

_FRAGMENTS = [
    "---",
    "...",
    "# ",
    "## Decisions",
    "### What NOT to do",
    "- ",
    "* ",
    "1. ",
    "2) ",
    "  - ",
    "    ",
    "```",
    "~~~",
    "`",
    "**",
    "| a | b |",
    "|---|---|",
    "> ",
    "<!--",
    "-->",
    "[ ] ",
    "[x] ",
    "from: x",
    ": ",
    "&a",
    "*a",
    "[",
    "{",
    "!!binary",
    "2026-01-01",
    "Next:",
    "\t",
    "\r",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "é",
    "🚫",
    "text",
    "\n",
    "\n\n",
]


def _check_invariants(parsed: ParsedHandoff) -> None:
    assert [learning.position for learning in parsed.learnings] == list(
        range(len(parsed.learnings))
    )
    for learning in parsed.learnings:
        assert learning.kind in KINDS
        assert learning.text
        assert learning.text == learning.text.strip()
        assert "\n" not in learning.text
        assert "\n" not in learning.section
    json.dumps(parsed.front_matter, allow_nan=False)


def test_random_markdown_never_raises() -> None:
    rng = random.Random(20260112)
    for _ in range(3000):
        pieces = rng.choices(_FRAGMENTS, k=rng.randint(0, 40))
        _check_invariants(parse_handoff("".join(pieces)))


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    for _ in range(500):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        text = raw.decode("utf-8", errors="replace")
        _check_invariants(parse_handoff(text))
        _check_invariants(parse_handoff("---\n" + text + "\n---\n" + text))


# --- the dev set -----------------------------------------------------------------------------


def _dev_set() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEV_SET.read_text())
    return data


def test_dev_handoffs_parse_without_warnings() -> None:
    for handoff in _dev_set()["handoffs"]:
        parsed = parse_handoff(handoff["body"])
        assert parsed.warnings == [], handoff["id"]
        assert parsed.learnings, handoff["id"]
        _check_invariants(parsed)
        if handoff["body"].startswith("---"):
            assert parsed.front_matter["branch"] == handoff["branch"], handoff["id"]
            assert parsed.front_matter["head"] == handoff["head"], handoff["id"]
            assert not parsed.content.startswith("---")


def test_dev_learnings_are_single_items() -> None:
    """No learning swallowed a heading, a list marker or another bullet."""
    for handoff in _dev_set()["handoffs"]:
        for learning in parse_handoff(handoff["body"]).learnings:
            assert not learning.text.startswith(("#", "- ", "* ")), learning
            assert " - " not in learning.text or "HANDOFF" in learning.text, learning


def test_every_relevant_string_lands_in_exactly_one_learning() -> None:
    data = _dev_set()
    learnings = []
    for handoff in data["handoffs"]:
        for learning in parse_handoff(handoff["body"]).learnings:
            text, _ = redact(sanitize_text(learning.text))
            learnings.append((handoff["id"], learning.kind, text))
    for query in data["queries"]:
        for relevant in query["relevant"]:
            hits = [item for item in learnings if relevant in item[2]]
            assert len(hits) == 1, (query["id"], relevant, hits)
            # Queries filtered by kind must still find their answer.
            if query["kinds"]:
                assert hits[0][1] in query["kinds"], (query["id"], relevant, hits[0])


def test_dev_files_and_commands() -> None:
    by_id = {h["id"]: parse_handoff(h["body"]) for h in _dev_set()["handoffs"]}
    assert by_id["h03"].files == [
        "lib/parley/push/worker.ex",
        "lib/parley/push/fcm.ex",
        "lib/parley/push/apns.ex",
        "lib/parley/application.ex",
        "test/parley/push/worker_test.exs",
    ]
    assert "infergate/app.py" in by_id["h14"].files
    assert by_id["h01"].commands == ["mix test test/parley/history_test.exs"]
    assert by_id["h11"].commands == ["uv run pytest tests/batching -q"]
    assert not any("38 tests" in learning.text for learning in by_id["h01"].learnings)


@pytest.mark.parametrize(
    "text",
    [
        "# a" + " " * 100_000 + "b",
        "# " + "!" * 100_000,
        "<!--" * 50_000,
        "## Files\n- " + "`a`, " * 50_000,
        "## Files\n- " + "a." * 50_000 + "!",
        "## Files\n```\n" + ("a/" * 50_000 + "!\n") * 3 + "```",
        "| a |\n|" + "-" * 100_000 + "x",
        "# why " + "a " * 50_000,
        "\n".join("  " * i + "- x" for i in range(2000)),
        "> " * 50_000 + "x",
        "- x\n" * 50_000,
        "```\n" * 50_000,
    ],
)
def test_hostile_markdown_is_parsed_in_linear_time(text: str) -> None:
    # CPU time of this process, not wall time: other processes on a shared machine slowed the
    # wall clock of a 0.26 s parse past 2 s; a quadratic parse of these inputs takes minutes.
    start = time.process_time()
    parse_handoff(text)
    assert time.process_time() - start < 2.0


# --- free-form handoffs as people write them (issue 20) -----------------------------------------

FREEFORM_SET = Path(__file__).resolve().parents[1] / "data" / "freeform_handoffs.json"


def test_freeform_handoffs_store_what_they_should() -> None:
    """Every learning with its kind, in order; metadata, boilerplate and skills are not learnings."""
    data: dict[str, Any] = json.loads(FREEFORM_SET.read_text())
    assert len(data["handoffs"]) >= 8
    for handoff in data["handoffs"]:
        parsed = parse_handoff(handoff["body"])
        assert [[str(x.kind), x.text] for x in parsed.learnings] == handoff["learnings"], handoff[
            "id"
        ]
        assert parsed.skills == handoff["skills"], handoff["id"]
        _check_invariants(parsed)


@pytest.mark.parametrize(
    "item",
    [
        "Don't cache error responses: a 502 got pinned for five minutes.",
        "Don’t cache error responses.",
        "Dont cache error responses.",
        "Do not run the migrations from a laptop.",
        "Do NOT run the migrations from a laptop.",
        "**Do not** run the migrations from a laptop.",
        "Never force-push `main`.",
        "Avoid `SELECT *` on the events table; it has 40 columns.",
        "Please don't import the zones by hand again.",
        "Deploys: never run them on a Friday.",
        "You must not delete the old templates yet.",
        "We should never bump the schema version by hand.",
        "Make sure not to commit `playwright/.auth`.",
        "Refrain from editing the generated client.",
        "Stop using the `recon_v1` view: it ignores currency.",
    ],
)
def test_a_prohibition_in_a_free_form_section_is_a_mistake(item: str) -> None:
    for markdown in (f"- {item}\n", f"## Notes\n\n{item}\n", f"Notes\n\n## Context\n- {item}\n"):
        assert [x.kind for x in parse_handoff(markdown).learnings] == ["mistake"], markdown


@pytest.mark.parametrize(
    "item",
    [
        "Nevertheless the cache works.",
        "Avoidance of retries made the job simpler.",
        "Stop the server before running the migration.",
        "Don Quixote is the name of the staging cluster.",
        "The handler never retries on 4xx responses.",
        "Notes: the flag is evaluated server-side.",
    ],
)
def test_a_statement_is_not_a_prohibition(item: str) -> None:
    assert [x.kind for x in parse_handoff(f"- {item}\n").learnings] == ["note"]


def test_a_prohibition_only_changes_free_form_sections() -> None:
    parsed = parse_handoff(
        "## Decisions\n- Never retry 4xx responses.\n## Next steps\n- Don't merge before CI.\n"
    )
    assert [x.kind for x in parsed.learnings] == ["decision", "next_step"]


@pytest.mark.parametrize(
    "line",
    [
        "Branch: main",
        "**Branch:** main",
        "**Branch:** fix/retries | **HEAD:** 4f2a9c1 | Date: 2026-03-02",
        "Branch: main; HEAD: 4f2a9c1",
        "Reader instruction: verify each claim against the repository before acting on it.",
        "Reader's note: claims below were true at commit 91c0e2d.",
        "Handoff instruction: read it, verify the claims, then continue.",
        "Written by claude-code on 2026-03-02",
        "_Generated by Codex (session 31)_",
        "This handoff was written by codex for whoever picks up infra next.",
        "This handoff covers only the reconciler.",
        "Verify each claim before acting on it.",
        "Date: 2026-02-14",
        "Session: 7f3e2b10",
        "Author: claude-code",
        "Model: gpt-5-codex",
        "Sentinel: quiet-otter-17",
    ],
)
def test_metadata_lines_and_boilerplate_are_not_learnings(line: str) -> None:
    body = f"{line}\n\nThe queue drains in batches of 500.\n"
    assert kinds_and_texts(parse_handoff(body)) == [("note", "The queue drains in batches of 500.")]
    assert kinds_and_texts(parse_handoff(f"## Notes\n- {line}\n- The queue drains.\n")) == [
        ("note", "The queue drains.")
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Cache: entries expire after 5 minutes.",
        "Date parsing: `dateutil` accepts 31/02 silently, so we validate first.",
        "Branch protection: main needs two reviews since the incident in March, and the rule "
        "applies to release branches too; the admin override is logged to #sec-audit and "
        "reviewed weekly by the platform team, who revoke it when it has been used without a "
        "ticket number in the merge message.",
        "The branch is called main.",
    ],
)
def test_knowledge_that_looks_like_metadata_is_kept(line: str) -> None:
    assert len(parse_handoff(f"- {line}\n").learnings) == 1


def test_a_metadata_section_holds_no_learnings() -> None:
    parsed = parse_handoff("## Handoff metadata\n- Tool: codex\n- Ticket: PAY-1\n## Notes\n- x\n")
    assert kinds_and_texts(parsed) == [("note", "x")]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        (
            "Use **bold** and *italic* and __strong__ and _it_.",
            "Use bold and italic and strong and it.",
        ),
        ("***Important:*** the URL differs.", "Important: the URL differs."),
        ("**use `x_y` always**", "use `x_y` always"),
        ("Keep `**kept**` and ``a ` *b*``.", "Keep `**kept**` and ``a ` *b*``."),
        ("snake_case_name and __init__.py and obj.__dict__ and __init__()", None),
        ("2 * 3 * 4 and src/*.py and **/*.ts", None),
        ("An unclosed **marker stays", None),
    ],
)
def test_emphasis_markers_are_not_part_of_the_learning(written: str, stored: str | None) -> None:
    parsed = parse_handoff(f"## Decisions\n- {written}\n")
    assert kinds_and_texts(parsed) == [("decision", stored or written)]
    assert parsed.content == f"## Decisions\n- {written}\n"  # the body keeps them


def test_suggested_skills_are_kept_apart_not_learnings() -> None:
    parsed = parse_handoff(
        "## Notes\n- a\n\n## Suggested skills\n- `/handoff` when you stop\n"
        "- superpowers:systematic-debugging\n```\nnot-a-command\n```\n\n**Skills**\n- review\n"
    )
    assert kinds_and_texts(parsed) == [("note", "a")]
    assert parsed.skills == [
        "`/handoff` when you stop",
        "superpowers:systematic-debugging",
        "review",
    ]
    assert parsed.commands == []


@pytest.mark.parametrize(
    "text",
    [
        "*a " * 50_000,
        "**a " * 40_000,
        "_a" * 60_000,
        "__a " * 40_000,
        "`a *b " * 30_000,
        "``` `a " * 20_000,
        "Branch: " + "a | b: " * 30_000,
        "Don't " * 30_000,
    ],
)
def test_hostile_free_form_text_is_parsed_in_linear_time(text: str) -> None:
    start = time.process_time()
    parse_handoff(text)
    assert time.process_time() - start < 2.0
