"""What `for_text_search` does to text before PostgreSQL's text-search parser reads it: only
spaces added, every run within bounds, no comment left open, idempotent, and ordinary handoff
text untouched. (What it saves in database time: tests/test_costly_inputs.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from memory_service.handoffs.parsing import parse_handoff
from memory_service.hygiene.redaction import redact
from memory_service.hygiene.sanitize import sanitize_text
from memory_service.hygiene.textsearch import MAX_ATS, MAX_RUN, MAX_STARTS, for_text_search

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "dev_eval.json"
# Where the parser may start a token (the module's definition, written independently).
_START = re.compile(r"(?<![^\W_])(?<![\u0300-\u036f])(?:[^\W_]|[~/.\-+&<])")

# Text made of the characters the parser treats specially, and some ordinary ones.
PIECES = [*"ab1_~/.-+&<>!#;:@@=?%'\" \n\té", "<!--", "-->", "\u0301", "日本", "x" * 20]
hostile = st.lists(st.sampled_from(PIECES), max_size=300).map("".join)


def _open_comments(text: str) -> int:
    """`<!--` the parser would scan to the end of the text for (no `-->` after it)."""
    last_close = text.rfind("-->")
    return sum(
        1
        for m in re.finditer("<!--", text)
        if not (last_close >= 0 and m.start() + 4 <= last_close)
    )


@given(hostile | st.text(max_size=400))
def test_only_spaces_are_added(text: str) -> None:
    assert for_text_search(text).replace(" ", "") == text.replace(" ", "")


@given(hostile | st.text(max_size=400))
def test_it_is_idempotent(text: str) -> None:
    once = for_text_search(text)
    assert for_text_search(once) == once


@given(hostile | st.text(max_size=400))
def test_runs_are_bounded_and_no_comment_is_left_open(text: str) -> None:
    out = for_text_search(text)
    for run in out.split():
        assert len(run) <= MAX_RUN, run
        assert len(_START.findall(run)) <= MAX_STARTS, run
        assert run.count("@") <= MAX_ATS, run
    assert _open_comments(out) == 0


def test_quadratic_shapes_are_cut() -> None:
    assert for_text_search("<!-- never closed") == "< !-- never closed"
    assert for_text_search("<!-- closed --> <!-- open") == "<!-- closed --> < !-- open"
    assert for_text_search("a_" * 20) == "a_" * 16 + " " + "a_" * 4
    assert for_text_search("a1@" * 3) == "a1@a1@a1 @"
    # A long URL is kept whole; a path of more parts is cut after a separator, like a wrap.
    url = "https://github.com/acme/widgets/blob/main/memory_service/handoffs/service.py#L120"
    assert for_text_search(url) == url
    assert for_text_search("/".join(["dir"] * 20)) == "dir/" * 16 + " " + "/".join(["dir"] * 4)


def test_ordinary_handoff_text_is_untouched() -> None:
    """Every learning of the development set, as it is stored (redacted), comes out as it went
    in: normal text has no run the parser would choke on."""
    handoffs = json.loads(DEV_SET.read_text())["handoffs"]
    texts = [
        item.text
        for handoff in handoffs
        for item in parse_handoff(redact(sanitize_text(handoff["body"]))[0]).learnings
    ]
    assert len(texts) > 200
    assert [t for t in texts if for_text_search(t) != t] == []
