"""Split a handoff's markdown into typed learnings.

A handoff is markdown with optional YAML front matter. Agents write them in many shapes: the
agent-handoff template (`## Decisions`, `## What NOT to do`, ...), "HANDOFF - ..." briefs with
`## Current State` / `## Next Steps`, wave summaries, and free-form session notes. The section a
bullet sits under is the strongest signal of what it is, so headings are mapped to kinds through
`HEADING_RULES`; each bullet, numbered item or prose paragraph becomes one learning.

The markdown reader is a small line-based one rather than a full CommonMark parser: it only has
to find headings, list items, paragraphs, tables and code fences, and it must join continuation
lines and nested bullets into their item exactly, which is where the learning boundaries are.
It never raises: anything it cannot make sense of is kept as a paragraph.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import yaml

from memory_service.vocabulary import Kind, values

KINDS = values(Kind)

# Sections that hold metadata, not learnings.
FILES: Final = "files"
COMMANDS: Final = "commands"
# "Suggested skills" (the /handoff skill's convention): kept and shown with the handoff.
SKILLS: Final = "skills"
# "## Metadata", "## Handoff info": lines about the handoff itself, kept only in its body.
METADATA: Final = "metadata"


@dataclass(frozen=True)
class ParsedLearning:
    kind: str
    text: str
    section: str
    position: int


@dataclass
class ParsedHandoff:
    front_matter: dict[str, Any]
    content: str
    title: str | None
    learnings: list[ParsedLearning]
    files: list[str]
    commands: list[str]
    warnings: list[str]
    skills: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Heading -> kind
# --------------------------------------------------------------------------------------------

# Up to two leading words, so "Key Decisions", "Immediate next action", "What I learned" and
# "Open follow-ups" match the same rule as the bare keyword.
_LEAD = r"(?:[\w'-]+ ){0,2}"
# A keyword ends at the end of the heading or at a separator, so "Next.js upgrade" is not "next"
# and "Decisions made (with evidence)" is still "decisions".
_END = r"(?=$|[\s:;,(/—–!?]|\.(?:\s|$))"

# Ordered: the first rule whose pattern matches the start of the normalised heading (lower case,
# decoration stripped, see `clean_heading`) wins. Mistakes come before patterns and next steps
# ("anti-patterns", "what not to do"), next steps before status ("in progress", "not done").
# Headings no rule matches are notes, unless they sit under a heading that did match.
HEADING_RULES: Final[tuple[tuple[str, str], ...]] = (
    (rf"{_LEAD}files?{_END}", FILES),
    (rf"{_LEAD}skills?{_END}", SKILLS),
    (
        r"(?:(?:handoff|session|document) (?:info(?:rmation)?|details)"
        rf"|(?:handoff |session |document )?(?:metadata|meta|provenance)){_END}",
        METADATA,
    ),
    (
        rf"(?:how to |manual |final )?(?:verification|verify(?:ing)?){_END}"
        rf"|(?:useful |key |verification |test |build )?commands?{_END}",
        COMMANDS,
    ),
    (
        rf"{_LEAD}(?:what not to do|what to avoid|things to avoid|avoid|mistakes?|pitfalls?"
        r"|gotchas?|blockers?|blocked|dead[ -]?ends?|tried and failed|failed attempts?"
        r"|what (?:didn't|did not|doesn't|does not) work|anti-?patterns?|don'?ts|do not|don't"
        rf"|footguns?|known issues|caveats?|traps?){_END}",
        Kind.mistake,
    ),
    # A correction states what is true now, and replaces what it corrects
    # (learnings/supersession.py).
    (
        r"(?:superseded|supersedes|corrections?|corrected|no longer (?:true|valid|applies)"
        r"|reverted|reverts?|reversed|retracted|replaced|obsolete|changed our mind"
        rf"|we were wrong){_END}",
        Kind.decision,
    ),
    (rf"{_LEAD}(?:decisions?|decided|trade-?offs?){_END}", Kind.decision),
    (rf"{_LEAD}(?:assumptions?|assumed|world[- ]model){_END}", "assumption"),
    (
        rf"{_LEAD}(?:discovered|discover(?:y|ies)|findings?|learnings?|learned|lessons?"
        r"|insights?|observations?|root[ -]?causes?|investigation"
        rf"|what (?:actually )?(?:broke|went wrong|happened)){_END}"
        r"|why(?: it (?:broke|failed|happened))?$"
        r"|why\b.*\b(?:wrong|broke|broken|failed|failing|crashed|flaky|slow)\b",
        Kind.discovery,
    ),
    (
        rf"{_LEAD}(?:patterns?(?: to follow)?|conventions?|rules?|best practices|practices"
        rf"|guidelines?|idioms?|recipes?|playbook|how we (?:do|work)|what we do now){_END}",
        Kind.pattern,
    ),
    (
        rf"{_LEAD}(?:next(?: (?:steps?|actions?|tasks?|person|session|agent|up|time))?|todo"
        r"|to-?do|follow[- ]?ups?|in[- ]progress|wip|remaining(?: work)?|still open"
        r"|open (?:questions?|items?|issues?|tasks?)|pending|outstanding|action items?"
        rf"|unfinished|not (?:yet )?done){_END}",
        Kind.next_step,
    ),
    (
        rf"{_LEAD}(?:status|progress|completed?|done|finished|accomplished|shipped|changes?"
        r"|changed|summary|what (?:i|we) did|work done|current state|state of \w+|fix(?:es)?"
        rf"|fixed|recently (?:verified|completed|done)){_END}",
        Kind.status,
    ),
)
_COMPILED_RULES = tuple((re.compile(pattern), role) for pattern, role in HEADING_RULES)

_EMPHASIS = re.compile(r"\*\*|__|~~")
_NUMBERING = re.compile(r"^\d{1,3}(?:\.\d{1,3})*[.):]\s+")
_SPACES = re.compile(r"\s+")
_KEEP_AT_START = "`'\"(["
_KEEP_AT_END = "`'\")]?!."


def clean_heading(heading: str) -> str:
    """Heading text without markup: `#`s, emphasis, emoji, numbering and a trailing colon."""
    text = _EMPHASIS.sub("", heading.strip().lstrip("#"))
    text = text.strip().strip("*_").strip()
    start = 0
    while start < len(text) and not (text[start].isalnum() or text[start] in _KEEP_AT_START):
        start += 1
    text = _NUMBERING.sub("", text[start:])
    end = len(text)
    while end > 0 and not (text[end - 1].isalnum() or text[end - 1] in _KEEP_AT_END):
        end -= 1
    return _SPACES.sub(" ", text[:end]).strip()


def _match_role(text: str, *, whole: bool = False) -> str | None:
    """The role of a heading (or an inline label if `whole`), None when no rule matches.

    Labels ("Next: ...", "Root cause: ...") must match entirely: a bullet starting with
    "Status codes:" is not a status.
    """
    normalised = clean_heading(text).lower().replace("’", "'")
    for pattern, role in _COMPILED_RULES:
        m = pattern.match(normalised)
        if m is not None and (not whole or m.end() == len(normalised)):
            return role
    return None


def heading_kind(heading: str) -> str | None:
    """The learning kind of a section heading; None for sections that hold no learnings."""
    role = _match_role(heading)
    if role is None:
        return Kind.note
    return role if role in KINDS else None


# --------------------------------------------------------------------------------------------
# Front matter
# --------------------------------------------------------------------------------------------

_FRONT_MATTER_OPEN = re.compile(r"\A(?:[ \t]*\n)*---[ \t]*\n")
_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_YAML_KEY_LINE = re.compile(r"^\s*[A-Za-z_][\w-]*\s*:(?:\s|$)")
# Bodies are redacted before they are parsed, and "to: [REDACTED:email]" would read as a YAML
# list. Placeholders are swapped for private-use brackets around the YAML load and back after.
_PLACEHOLDER = re.compile(r"\[(REDACTED:[a-z_]{1,40})\]")
_OPEN_MARK, _CLOSE_MARK = "\ue000", "\ue001"
_MAX_FRONT_MATTER_NODES = 5000
_MAX_FRONT_MATTER_DEPTH = 20


class _Unusable(Exception):
    pass


def _restore(text: str) -> str:
    return text.replace(_OPEN_MARK, "[").replace(_CLOSE_MARK, "]")


def _json_key(key: Any) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(_json_safe(key, [0], 0))


def _json_safe(value: Any, budget: list[int], depth: int) -> Any:
    """`value` as JSON-compatible data for a jsonb column: ISO dates, no NaN, string keys.

    YAML aliases can make a small document expand into a huge or self-referencing structure,
    hence the node budget and depth limit.
    """
    budget[0] += 1
    if budget[0] > _MAX_FRONT_MATTER_NODES or depth > _MAX_FRONT_MATTER_DEPTH:
        raise _Unusable("front matter is too large or too deeply nested")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _restore(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {_json_key(k): _json_safe(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, set):
        return sorted((_json_safe(v, budget, depth + 1) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [_json_safe(v, budget, depth + 1) for v in value]
    return _restore(str(value))


def _split_front_matter(text: str) -> tuple[dict[str, Any], str, str, list[str]]:
    """(front matter, content, markdown to take learnings from, warnings)."""
    opening = _FRONT_MATTER_OPEN.match(text)
    if opening is None:
        return {}, text, text, []
    closing = _FRONT_MATTER_CLOSE.search(text, opening.end())
    if closing is None:
        return (
            {},
            text,
            text,
            ["front matter block is not terminated by a `---` line; kept as text"],
        )
    block = text[opening.end() : closing.start()]
    after = text[closing.end() :].lstrip("\n")
    marked = _PLACEHOLDER.sub(rf"{_OPEN_MARK}\1{_CLOSE_MARK}", block)
    try:
        loaded = yaml.safe_load(marked)
    # PyYAML raises more than YAMLError on hostile input: ValueError for impossible dates,
    # RecursionError for deep nesting, and others from its constructors.
    except Exception as exc:
        reason = _yaml_problem(exc)
        # A block of `key: value` lines with a typo is front matter; anything else between two
        # `---` lines is markdown using them as rules, and its text may hold learnings.
        first_line = next((line for line in block.splitlines() if line.strip()), "")
        source = after if _YAML_KEY_LINE.match(first_line) else text
        return {}, text, source, [f"front matter is not valid YAML ({reason}); kept as text"]
    if loaded is None:
        return {}, after, after, []
    if not isinstance(loaded, dict):
        return {}, text, text, ["front matter is not a YAML mapping; kept as text"]
    try:
        front_matter = _json_safe(loaded, [0], 0)
    except _Unusable as exc:
        return {}, text, after, [f"{exc}; kept as text"]
    return front_matter, after, after, []


def _yaml_problem(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        # +2: the mark counts from the line after the opening `---`, from 0.
        return f"line {exc.problem_mark.line + 2}: {exc.problem}"
    return type(exc).__name__


# --------------------------------------------------------------------------------------------
# Markdown blocks
# --------------------------------------------------------------------------------------------

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|\d{1,9}[.)])(?:[ \t]+(?P<text>.*))?$")
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)(?P<text>[^*_]{1,80}?)(?::\s*)?(?:\*\*|__):?\s*$")
_BLOCKQUOTE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_CHECKBOX = re.compile(r"^\[(?P<mark>[ xX])\]\s+")
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?$")
_TABLE_CELL_SPLIT = re.compile(r"(?<!\\)\|")

# Sub-bullets must be indented at least this much more than their parent. CommonMark wants the
# parent's content column, but agents often indent by two under "1. ".
_NESTING_INDENT = 2


@dataclass
class _Heading:
    level: int
    text: str


@dataclass
class _Code:
    text: str


@dataclass
class _Paragraph:
    text: str
    line_count: int


@dataclass
class _Item:
    text: str
    checked: bool | None  # None: not a task-list item


@dataclass
class _List:
    items: list[_Item]


@dataclass
class _Table:
    header: list[str] | None
    rows: list[list[str]]


_Block = _Heading | _Code | _Paragraph | _List | _Table


def _join_item_parts(parts: list[list[str]]) -> str:
    """An item's own lines, then its sub-items, as one line: "Parent; child one; child two"."""
    text = ""
    for lines in parts:
        part = " ".join(lines).strip()
        if not part:
            continue
        if text and text[-1] not in ".:;,!?":
            text += ";"
        text = f"{text} {part}" if text else part
    return text


@dataclass
class _ItemBuilder:
    parts: list[list[str]] = field(default_factory=list)
    checked: bool | None = None

    def build(self) -> _Item:
        return _Item(_join_item_parts(self.parts), self.checked)


def _strip_checkbox(text: str) -> tuple[str, bool | None]:
    m = _CHECKBOX.match(text)
    if m is None:
        return text, None
    return text[m.end() :], m.group("mark") != " "


def _split_table_row(row: str) -> list[str]:
    row = row.strip()
    row = row.removeprefix("|").removesuffix("|")
    return [cell.strip().replace("\\|", "|") for cell in _TABLE_CELL_SPLIT.split(row)]


class _BlockReader:
    """Turns lines into blocks. Feed lines in order, then call `finish`."""

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
        self.warnings: list[str] = []
        self._para: list[str] = []
        self._items: list[_ItemBuilder] = []
        self._list_indent = 0
        self._list_gap = False  # a blank line since the last line of the current list
        self._table: list[str] = []
        self._fence: tuple[str, int, int] | None = None  # char, length, indent
        self._fence_quoted = False  # opened inside a blockquote: its lines carry "> " too
        self._fence_lines: list[str] = []
        self._fence_start = 0
        self._line_number = 0

    def feed(self, raw: str) -> None:
        self._line_number += 1
        line = raw.expandtabs(4)
        unquoted = _BLOCKQUOTE.sub("", line)
        if self._fence is not None:
            self._feed_fenced(unquoted if self._fence_quoted else line)
            return
        quoted, line = unquoted != line, unquoted
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not stripped:
            self._end_paragraph()
            self._end_table()
            self._list_gap = bool(self._items)
            return
        if self._try_fence(line, indent):
            self._fence_quoted = quoted
            return
        heading = _ATX_HEADING.match(line)
        if heading is not None:
            self._end_all()
            self.blocks.append(_Heading(len(heading.group(1)), _atx_text(heading.group(2))))
            return
        if _SETEXT_H1.match(line) and len(self._para) == 1 and not self._items:
            self.blocks.append(_Heading(1, self._para.pop()))
            return
        if _THEMATIC_BREAK.match(line):
            # A `---` right under a line of text is a setext heading in CommonMark, but in
            # agent-written handoffs it is nearly always meant as a separator.
            self._end_all()
            return
        bold = _BOLD_LINE.match(line)
        starts_block = not self._items or self._list_gap  # not a lazy continuation line
        if bold is not None and starts_block and _match_role(bold.group("text")) is not None:
            self._end_all()
            # Deeper than any real heading: a bold label only starts a sub-section.
            self.blocks.append(_Heading(7, bold.group("text")))
            return
        if stripped.startswith("|") and (not self._items or indent <= self._list_indent):
            self._end_paragraph()
            self._end_list()
            self._table.append(stripped)
            return
        self._end_table()
        item = _LIST_ITEM.match(line)
        if item is not None and self._feed_item(item, indent):
            return
        self._feed_text(stripped, indent)

    def _feed_fenced(self, line: str) -> None:
        assert self._fence is not None
        char, length, indent = self._fence
        closing = line.strip()
        if closing and set(closing) == {char} and len(closing) >= length:
            self.blocks.append(_Code("\n".join(self._fence_lines)))
            self._fence = None
            self._fence_lines = []
            return
        dedent = min(indent, len(line) - len(line.lstrip(" ")))
        self._fence_lines.append(line[dedent:])

    def _try_fence(self, line: str, indent: int) -> bool:
        m = _FENCE_OPEN.match(line)
        if m is None or (m.group("fence")[0] == "`" and "`" in m.group("info")):
            return False  # ```inline``` code at the start of a line is not a fence
        if not (self._items and indent > self._list_indent):
            self._end_list()
        else:
            # A fence inside a list item: the list goes on after it, but only with indented
            # lines, as after a blank line.
            self._list_gap = True
        self._end_paragraph()
        self._end_table()
        self._fence = (m.group("fence")[0], len(m.group("fence")), indent)
        self._fence_start = self._line_number
        return True

    def _feed_item(self, item: re.Match[str], indent: int) -> bool:
        text, checked = _strip_checkbox((item.group("text") or "").strip())
        if self._items:
            if indent >= self._list_indent + _NESTING_INDENT:
                self._items[-1].parts.append([text])
            else:
                self._items.append(_ItemBuilder([[text]], checked))
                self._list_indent = min(self._list_indent, indent)
            self._list_gap = False
            return True
        marker = item.group("marker")
        if self._para and marker[0].isdigit() and int(marker[:-1]) != 1:
            # "... released in\n2. quarter": only "1." may interrupt a paragraph (CommonMark).
            return False
        self._end_paragraph()
        self._items = [_ItemBuilder([[text]], checked)]
        self._list_indent = indent
        self._list_gap = False
        return True

    def _feed_text(self, stripped: str, indent: int) -> None:
        if self._items:
            if not self._list_gap or indent >= self._list_indent + _NESTING_INDENT:
                self._items[-1].parts[-1].append(stripped)
                self._list_gap = False
                return
            self._end_list()
        self._para.append(stripped)

    def _end_paragraph(self) -> None:
        if self._para:
            self.blocks.append(_Paragraph(" ".join(self._para), len(self._para)))
            self._para = []

    def _end_list(self) -> None:
        if self._items:
            self.blocks.append(_List([builder.build() for builder in self._items]))
            self._items = []
            self._list_gap = False

    def _end_table(self) -> None:
        if not self._table:
            return
        rows = self._table
        self._table = []
        if len(rows) == 1:  # a lone line starting with "|" is text, not a table
            self._para.append(rows[0])
            self._end_paragraph()
            return
        if _TABLE_SEPARATOR.match(rows[1]):
            self.blocks.append(
                _Table(_split_table_row(rows[0]), [_split_table_row(r) for r in rows[2:]])
            )
        else:
            self.blocks.append(_Table(None, [_split_table_row(r) for r in rows]))

    def _end_all(self) -> None:
        self._end_paragraph()
        self._end_list()
        self._end_table()

    def finish(self) -> None:
        if self._fence is not None:
            self.warnings.append(
                f"code fence opened on line {self._fence_start} is never closed; "
                "everything after it was read as code"
            )
            self.blocks.append(_Code("\n".join(self._fence_lines)))
            self._fence = None
        self._end_all()


def _atx_text(raw: str | None) -> str:
    """Heading text without the optional closing `#`s ("## Decisions ##")."""
    text = (raw or "").strip()
    without = text.rstrip("#")
    if without != text and (not without or without[-1] in " \t"):
        return without.strip()
    return text


def _strip_html_comments(text: str) -> str:
    # str.find rather than a regex: `<!--[\s\S]*?-->` rescans to the end of the text for every
    # unclosed `<!--`, which is quadratic on hostile input.
    parts = []
    pos = 0
    while (start := text.find("<!--", pos)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        parts.append(text[pos:start])
        pos = end + 3
    parts.append(text[pos:])
    return "".join(parts)


def _read_blocks(markdown: str) -> tuple[list[_Block], list[str]]:
    reader = _BlockReader()
    for line in _strip_html_comments(markdown).split("\n"):
        reader.feed(line)
    reader.finish()
    return reader.blocks, reader.warnings


# --------------------------------------------------------------------------------------------
# Blocks -> learnings, files, commands
# --------------------------------------------------------------------------------------------

# "Next: verify the drainer", "**Root cause:** ...": an inline label that names a kind.
_LABEL = re.compile(
    r"^(?:\*\*|__)?(?P<label>[A-Za-z][A-Za-z'’ /-]{0,40}?)(?:\*\*|__)?:(?:\*\*|__)?\s"
)
_MAX_LABEL_WORDS = 4
# A short line ending in ":" right before a list introduces it ("What changed, roughly in
# order:"); it carries no knowledge of its own but may say what the list is.
_MAX_LEAD_IN_CHARS = 80
_MAX_PATH_CHARS = 300
_LEADING_CODE_SPANS = re.compile(r"\s*`(?P<span>[^`]+)`\s*(?:,|&|\band\b)?")


def _label_kind(text: str) -> str | None:
    m = _LABEL.match(text)
    if m is None or len(m.group("label").split()) > _MAX_LABEL_WORDS:
        return None
    role = _match_role(m.group("label"), whole=True)
    return role if role in KINDS else None


def _is_path_like(token: str) -> bool:
    """`src/app.py`, `README.md`, `assets/*.json`, `docs/`; not "e.g." or plain words."""
    return (
        0 < len(token) <= _MAX_PATH_CHARS
        and not any(c.isspace() for c in token)
        and ("/" in token or "." in token.strip("."))
        and (token[-1].isalnum() or token[-1] in "*/_")
    )


def _leading_paths(text: str) -> list[str]:
    """File paths at the start of a files-section entry: "`a.py`, `b.py` (tests)" -> both."""
    text = text.lstrip("*_ ")
    spans: list[str] = []
    pos = 0
    while (m := _LEADING_CODE_SPANS.match(text, pos)) is not None:
        spans.append(m.group("span").strip())
        pos = m.end()
    if spans:
        return [span for span in spans if span]
    first = text.split(maxsplit=1)[0].rstrip(",:;") if text.strip() else ""
    return [first] if _is_path_like(first) else []


def _leading_command(text: str) -> list[str]:
    """The command a verification entry starts with: "`make test`: 12 passed" -> "make test"."""
    m = _LEADING_CODE_SPANS.match(text)
    if m is not None:
        return [m.group("span").strip()]
    if text.startswith("$ "):
        return [text[2:].strip()]
    return []


# Emphasis markers around words: `***x***`, `**x**`, `__x__`, `*x*`, `_x_`. A marker opens
# after the start, a space or punctuation and before a non-space, and closes after a non-space
# and before the end, a space or punctuation, so `snake_case`, `2 * 3`, `*.py` and
# `obj.__dict__` / `__init__.py` / `__init__()` are not emphasis. Code spans are set aside first.
_MAX_EMPHASIS_CHARS = 300  # longer "emphasis" is not looked for: keeps the scan linear
_EMPHASIS_PAIRS = tuple(
    re.compile(
        rf"(?<![\w.*]){marker}(?![\s*_])(?P<inner>(?:(?!{marker}).){{1,{_MAX_EMPHASIS_CHARS}}}?)"
        rf"(?<![\s*_]){marker}(?![\w*(]|\.\w)"
    )
    for marker in (r"\*\*\*", r"___", r"\*\*", r"__", r"\*", r"_")
)
_BACKTICKS = re.compile(r"(`+)")
_SPAN_MARK = re.compile("\ue010(\\d+)\ue011")


def _set_aside_code(text: str, spans: list[str]) -> str:
    """`text` with each code span replaced by a mark indexing `spans`. A run of backticks opens
    a span closed by the next run of the same length (CommonMark); linear time."""
    parts = _BACKTICKS.split(text)  # odd indexes: backtick runs
    runs: dict[str, list[int]] = {}
    for i in range(1, len(parts), 2):
        runs.setdefault(parts[i], []).append(i)
    next_run = dict.fromkeys(runs, 0)
    out: list[str] = []
    i = 0
    while i < len(parts):
        if i % 2 == 1:
            same = runs[parts[i]]
            k = next_run[parts[i]]
            while k < len(same) and same[k] <= i:
                k += 1
            next_run[parts[i]] = k
            if k < len(same):
                spans.append("".join(parts[i : same[k] + 1]))
                out.append(f"\ue010{len(spans) - 1}\ue011")
                i = same[k] + 1
                continue
        out.append(parts[i])
        i += 1
    return "".join(out)


def strip_emphasis(text: str) -> str:
    """`text` without markdown emphasis markers; code spans and identifiers are left alone."""
    if "*" not in text and "_" not in text:
        return text
    spans: list[str] = []
    plain = _set_aside_code(text, spans)
    for pattern in _EMPHASIS_PAIRS:
        plain = pattern.sub(lambda m: m.group("inner"), plain)
    return _SPAN_MARK.sub(lambda m: spans[int(m.group(1))], plain)


# A prohibition: an item that opens with a negated imperative ("Don't ...", "Never ...",
# "Avoid ...", "Do not ...", "You must not ...", "Make sure not to ..."), optionally after a
# short label ("Deploys: never ..."). In a free-form section it is a mistake: what not to do.
_PROHIBITION = re.compile(
    r"^(?:[A-Za-z][\w' /-]{0,30}:\s+)?(?:(?:please|and|but|so|also|just|again),?\s+)?"
    r"(?:do\s*n'?t|do\s+not|never|avoid|refrain\s+from|stop\s+\w+ing"
    r"|(?:you|we|agents?|one)?\s*(?:must|should|may|shall)\s*(?:not|never|n't)"
    r"|(?:make\s+sure|be\s+careful|take\s+care|ensure|remember)\s+(?:not\s+to|never|to\s+never"
    r"|(?:you|we)\s+(?:don'?t|do\s+not|never)))\b",
    re.IGNORECASE,
)

# Lines about the handoff itself, not knowledge: "Branch: main", "HEAD: 9e3b43e",
# "Date: 2026-01-12", "Reader instruction: ...", "Session: 14", possibly several on one line
# ("Branch: main | HEAD: 9e3b43e"); the keys are the handoff's own fields (what front matter
# holds: who, to whom, when, where in the repository, which session, how to read it).
_META_KEY = (
    r"(?:from|to|sender|recipient|author|authored\s+by|written\s+by|agent|model|tool"
    r"|session(?:[\s_-]?id)?|branch|head|commit|sha|worktree|repo(?:sitory)?|project"
    r"|date|created(?:\s+at)?|updated(?:\s+at)?|time(?:stamp)?|handoff(?:\s+(?:id|name|file))?"
    r"|name|topic|description|visibility|sentinel"
    r"|(?:instructions?|note)\s+(?:for|to)\s+(?:the\s+)?(?:reader|next\s+\w+)"
    r"|(?:reader(?:'s)?|handoff)\s+(?:instructions?|note))"
)
_META_PAIR = re.compile(rf"^{_META_KEY}\s*:\s*\S.{{0,150}}$", re.IGNORECASE)
_META_SEPARATOR = re.compile(r"\s+[|·•]\s+|;\s+(?=[A-Za-z][\w' -]{0,30}:)")
# "Written by claude-code on 2026-01-12", "This handoff was generated by ..."; "This handoff
# covers ...", "Verify each claim before acting": provenance and reading boilerplate.
_PROVENANCE = re.compile(
    r"^(?:(?:this|the)\s+(?:handoff|note|notes|document|summary|file)\s+(?:was\s+|is\s+)?)?"
    r"(?:written|generated|created|prepared|authored|produced|compiled|auto-generated)"
    r"\s+(?:by|on|at|with|from|using)\s",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"^(?:(?:this|the)\s+(?:handoff|note|document)\s+(?:is|contains|covers|lists|describes"
    r"|summari[sz]es|captures|records)\b"
    r"|(?:please\s+)?(?:read|verify|treat|check|re-?verify)\b.{0,60}"
    r"\b(?:this\s+handoff|this\s+note|each\s+claim|every\s+claim|all\s+claims"
    r"|the\s+claims|claims?\s+(?:here|below|above|in\s+this)))",
    re.IGNORECASE,
)
_MAX_METADATA_CHARS = 200


def is_metadata_line(text: str) -> bool:
    """A line about the handoff itself (its fields, provenance, how to read it)."""
    text = text.strip().rstrip(".").strip()
    if not text or len(text) > _MAX_METADATA_CHARS:
        return False
    if _PROVENANCE.match(text) or _BOILERPLATE.match(text):
        return True
    return all(_META_PAIR.match(part.strip()) for part in _META_SEPARATOR.split(text))


def is_prohibition(text: str) -> bool:
    return _PROHIBITION.match(text.replace("’", "'")) is not None


@dataclass
class _Collector:
    learnings: list[ParsedLearning] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)

    def entry(self, text: str, role: str, section: str, *, checked: bool | None = None) -> None:
        """One bullet, paragraph or table row under a section with `role`."""
        text = text.strip()
        if not text:
            return
        if role == FILES:
            self.files.extend(_leading_paths(text))
            return
        if role == COMMANDS:
            self.commands.extend(_leading_command(text))
            return
        if role == SKILLS:
            self.skills.append(text)
            return
        plain = strip_emphasis(text)
        if role == METADATA or is_metadata_line(plain):
            return  # kept in the handoff's body, not a learning
        kind = _label_kind(text) or role
        if kind == Kind.note and is_prohibition(plain):
            kind = Kind.mistake
        if checked and kind == Kind.next_step:
            kind = Kind.status  # a ticked box in a TODO list is done work
        self.learnings.append(ParsedLearning(kind, plain, section, len(self.learnings)))

    def code(self, text: str, role: str) -> None:
        if role == FILES:
            for line in text.splitlines():
                if _is_path_like(line.strip()):
                    self.files.append(line.strip())
        elif role in (SKILLS, METADATA):
            return
        elif text.strip():
            self.commands.append(text.strip("\n"))


def _table_entries(table: _Table, role: str) -> list[str]:
    if role in (FILES, COMMANDS) or table.header is None:
        # Metadata sections want the first cell; without a header the cells speak for themselves.
        return [row[0] if role in (FILES, COMMANDS) else " | ".join(row) for row in table.rows]
    header = table.header
    entries = []
    for row in table.rows:
        cells = [
            f"{header[i]}: {cell}" if i < len(header) and header[i] else cell
            for i, cell in enumerate(row)
            if cell
        ]
        entries.append("; ".join(cells))
    return entries


_MAX_IMPLICIT_TITLE_CHARS = 100


def _implicit_title(blocks: list[_Block]) -> bool:
    """True when a document without any H1 opens with a lone short line that isn't a sentence."""
    if not blocks or any(isinstance(b, _Heading) and b.level == 1 for b in blocks):
        return False
    first = blocks[0]
    return (
        isinstance(first, _Paragraph)
        and first.line_count == 1
        and len(first.text) <= _MAX_IMPLICIT_TITLE_CHARS
        and first.text[-1] not in ".:;,!?"
        and len(blocks) > 1
    )


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def parse_handoff(markdown: str) -> ParsedHandoff:
    """Parse a handoff. Never raises; problems a writer should fix are returned as warnings."""
    text = markdown.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    front_matter, content, source, warnings = _split_front_matter(text)
    blocks, block_warnings = _read_blocks(source)
    warnings.extend(block_warnings)

    out = _Collector()
    title: str | None = None
    if _implicit_title(blocks):
        # Free-form notes often open with a bare title line; as a learning it would only be noise.
        first = blocks.pop(0)
        assert isinstance(first, _Paragraph)
        title = first.text
    # (level, role matched by that heading or None): a sub-heading no rule knows ("### Database"
    # under "## Decisions") inherits the kind of the nearest heading above it that has one.
    headings: list[tuple[int, str | None]] = []
    role: str = Kind.note
    section = ""
    list_role: str | None = None  # set by a lead-in line for the list right after it
    for index, block in enumerate(blocks):
        if isinstance(block, _Heading):
            while headings and headings[-1][0] >= block.level:
                headings.pop()
            headings.append((block.level, _match_role(block.text)))
            role = next((r for _, r in reversed(headings) if r is not None), Kind.note)
            section = clean_heading(block.text)
            if block.level == 1 and title is None and section:
                title = section
            list_role = None
        elif isinstance(block, _Code):
            out.code(block.text, role)
        elif isinstance(block, _Paragraph):
            # Code from a fence inside the first list item is emitted before the list.
            following = next((b for b in blocks[index + 1 :] if not isinstance(b, _Code)), None)
            if (
                isinstance(following, _List)
                and block.line_count == 1
                and block.text.endswith(":")
                and len(block.text) <= _MAX_LEAD_IN_CHARS
            ):
                # A lead-in never turns a files or commands section into learnings.
                is_metadata = role in (FILES, COMMANDS, SKILLS, METADATA)
                list_role = role if is_metadata else _match_role(block.text) or role
                continue
            out.entry(block.text, role, section)
        elif isinstance(block, _List):
            for item in block.items:
                out.entry(item.text, list_role or role, section, checked=item.checked)
            list_role = None
        else:
            for entry in _table_entries(block, role):
                out.entry(entry, role, section)

    return ParsedHandoff(
        front_matter=front_matter,
        content=content,
        title=title,
        learnings=out.learnings,
        files=_dedupe(out.files),
        commands=_dedupe(out.commands),
        warnings=warnings,
        skills=_dedupe(out.skills),
    )
