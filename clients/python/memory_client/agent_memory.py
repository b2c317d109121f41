"""`memory import --from TOOL`: bring an agent's own memory into the service as learnings.

Three sources, each read as its tool documents it:

- `claude-code`: Claude Code's auto memory, `~/.claude/projects/<folder>/memory/` (or under
  `$CLAUDE_CONFIG_DIR`): the `MEMORY.md` index and one topic file per memory, whose front matter
  says `name`, `description` and `type` (user, feedback, project, reference). `<folder>` is the
  repository's path with every character other than a letter or digit replaced by `-`.
- `codex`: Codex's memories, `~/.codex/memories/` (or `$CODEX_HOME/memories`): `MEMORY.md`,
  blocks of `# Task Group: ...` whose `applies_to: cwd=<path>` line names the repository, and
  `memory_summary.md` (not tied to a repository: imported only with `--project`).
- `agents-md`: instruction files, `CLAUDE.md`, `CLAUDE.local.md`, `AGENTS.md`,
  `AGENTS.override.md`, at PATH or below it; their project is the git repository they sit in.

Every entry (a memory file, a bullet, a paragraph, a table row) gets a kind from a rule that
generalises: the memory's `type`, else the heading it sits under, and the wording of the entry
itself ("Don't ..." is a mistake wherever it stands). What is not knowledge is skipped: the
index lines of `MEMORY.md`, headings, `@path` imports, HTML comments, Codex's routing metadata,
user-profile memories (about the person, not the project).

Each source file goes to the server as one archived handoff (status `read`: it is never
delivered to a session), recipient `memory-import`, whose front matter records the origin
(`imported_from`, `source`) and the hashes of the entries it carries. Before sending, the
client reads which entries of that file earlier imports stored, and sends only the others: a
second run stores nothing, and an edited file adds only its new or changed entries. A changed
one-memory file (a Claude Code topic file) supersedes its earlier version; in other files an
entry removed or reworded stays in the service until it is forgotten or superseded."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from memory_client.client import MemoryClient
from memory_client.errors import APIError
from memory_client.frontmatter import front_matter
from memory_client.integrations import codex
from memory_client.workspace import check_project_slug, detect

Tool = Literal["claude-code", "codex", "agents-md"]
TOOLS: tuple[Tool, ...] = ("claude-code", "codex", "agents-md")
RECIPIENT = "memory-import"
INSTRUCTION_FILES = ("CLAUDE.md", "CLAUDE.local.md", "AGENTS.md", "AGENTS.override.md")
# The server refuses a handoff with more learnings than its limit (100 by default).
MAX_ENTRIES_PER_HANDOFF = 50
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}
_MAX_DECODE_DIRS = 5000
MAX_TOPIC_CHARS = 300
Result = Literal["imported", "skipped", "failed", "unmapped"]


# --------------------------------------------------------------------------------------------
# Kinds
# --------------------------------------------------------------------------------------------

# A negated imperative at the start, optionally after a short label ("Deploys: never ...").
_PROHIBITION = re.compile(
    r"^(?:[A-Za-z][\w' /-]{0,30}:\s+)?(?:(?:please|also|and|but|just),?\s+)?"
    r"(?:do\s*n'?t|do\s+not|never|avoid|refrain\s+from|stop\s+\w+ing|no\s+more"
    r"|(?:you|we|agents?)?\s*(?:must|should|shall|may)\s*(?:not|never|n't)"
    r"|(?:make\s+sure|be\s+careful|ensure|remember)\s+(?:not\s+to|never))\b",
    re.IGNORECASE,
)
_NEXT = re.compile(r"^(?:todo|to-do|next(?:\s+step)?|follow[- ]?up)\b\s*[:\-]", re.IGNORECASE)
_DECISION = re.compile(
    r"\b(?:we\s+(?:decided|chose|picked|went\s+with|settled\s+on|switched|moved|migrated)"
    r"|(?:was|were)\s+(?:chosen|picked)|decided\s+(?:to|on|against)|decision\b|chosen\s+over)",
    re.IGNORECASE,
)
# Weaker: a choice between alternatives, a decision only where nothing else says what it is.
_CHOICE = re.compile(
    r"\b(?:in\s+favou?r\s+of|instead\s+of|rather\s+than|trade-?off|driven\s+by)\b",
    re.IGNORECASE,
)
_DISCOVERY = re.compile(
    r"\b(?:turns?\s+out|turned\s+out|found\s+that|root\s+cause|is\s+caused\s+by"
    r"|was\s+caused\s+by|the\s+cause\s+(?:is|was)|we\s+learned|we\s+found)\b",
    re.IGNORECASE,
)
_PATTERN = re.compile(
    r"^(?:always|prefer|use|run|keep|put|write|name|add|follow|make\s+sure|ensure|check)\b"
    r"|\b(?:we\s+use|we\s+always|convention|must|should)\b",
    re.IGNORECASE,
)
_PITFALL = re.compile(
    r"\b(?:gotcha|pitfall|footgun|caveat|beware|watch\s+out|careful|flaky|breaks|broke"
    r"|fails\s+(?:when|if|with|on)|silently)\b",
    re.IGNORECASE,
)

# Headings, matched anywhere in the heading, first rule first: what the entries under them are.
_HEADING_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (
            r"\b(?:don'?ts?|do\s+not|avoid|pitfalls?|gotchas?|mistakes?|failures?|failure"
            r"\s+shields?|known\s+issues|caveats?|footguns?|warnings?|what\s+not|anti-?patterns?"
            r"|dead\s+ends?|traps?)\b",
            "mistake",
        ),
        (r"\b(?:decisions?|decided|trade-?offs?|adrs?)\b", "decision"),
        (r"\b(?:assumptions?|assumed)\b", "assumption"),
        (
            r"\b(?:discover(?:y|ies|ed)|findings?|learn(?:ed|ings?)|lessons?|insights?"
            r"|facts?|knowledge|debugging|troubleshooting|observations?)\b",
            "discovery",
        ),
        (r"\b(?:todo|to-do|next\s+steps?|follow-?ups?|open\s+questions?|roadmap)\b", "next_step"),
        (r"\b(?:status|progress|current\s+state|in\s+flight)\b", "status"),
        (
            r"\b(?:conventions?|style|rules?|guidelines?|patterns?|practices|workflows?"
            r"|commands?|build(?:ing)?|test(?:s|ing)?|preferences?|procedures?|tips?|how\s+to"
            r"|setup|git|commits?|reviews?|deploy(?:s|ing|ment)?|releases?|tooling|lint(?:ing)?"
            r"|formatting|dependencies)\b",
            "pattern",
        ),
        (
            r"\b(?:overview|about|architecture|structure|layout|context|background"
            r"|introduction|project|references?|links?|glossary|resources?)\b",
            "note",
        ),
    )
)


def kind_of(text: str, default: str) -> str:
    """The kind of one entry: its wording first (a prohibition is a mistake wherever it
    stands; a TODO is a next step), then `default` (from the memory's type or its heading),
    refined by the wording where the default is a general one (note, pattern)."""
    plain = text.replace("’", "'").lstrip("*_ ")
    if _PROHIBITION.match(plain):
        return "mistake"
    if _NEXT.match(plain):
        return "next_step"
    if default not in ("note", "pattern"):
        return default
    if _DECISION.search(plain):
        return "decision"
    if _DISCOVERY.search(plain):
        return "discovery"
    if _PITFALL.search(plain):
        return "mistake"
    if default == "note" and _CHOICE.search(plain):
        return "decision"
    if default == "note" and _PATTERN.search(plain):
        return "pattern"
    return default


def heading_kind(headings: list[str], default: str) -> str:
    """The kind the nearest heading with a rule gives, else `default`."""
    for heading in reversed(headings):
        for pattern, kind in _HEADING_KINDS:
            if pattern.search(heading):
                return kind
    return default


# --------------------------------------------------------------------------------------------
# Markdown: entries with the headings above them
# --------------------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_AT_IMPORT = re.compile(r"^@\S+$")
# `[Title](file.md) — hook`: a line of an index that points to another memory file.
_INDEX_LINE = re.compile(r"^\[[^\]]+\]\((?![a-z]+://)[^)\s]+\.md\)(?:\s*(?:[—–:-]\s*)?.{0,200})?$")
_WORD = re.compile(r"[A-Za-z\u00c0-\uffff]{2,}")


@dataclass
class Block:
    headings: list[str]
    lines: list[str]  # the first line, then continuation lines (relative indentation kept)
    indent: int | None = None  # a list item's indentation; None: a paragraph or table row

    @property
    def text(self) -> str:
        return " ".join(line.strip() for line in self.lines if line.strip())


def blocks(markdown: str) -> list[Block]:
    """Bullets (with their continuation lines and nested bullets), paragraphs and table rows,
    each with the headings above it. Code fences, HTML comments and headings are not blocks."""
    out: list[Block] = []
    headings: list[tuple[int, str]] = []
    current: Block | None = None
    fence: str | None = None
    comment = False
    table_header: list[str] | None = None

    def names() -> list[str]:
        return [h for _, h in headings]

    for raw in markdown.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        if comment:
            comment = "-->" not in line
            continue
        if stripped.startswith("<!--"):
            comment = "-->" not in stripped
            continue
        if (m := _FENCE.match(line)) is not None:
            fence, current = m.group(1), None
            continue
        if not stripped:
            current, table_header = None, None
            continue
        if (m := _HEADING.match(line)) is not None:
            level = len(m.group(1))
            while headings and headings[-1][0] >= level:
                headings.pop()
            headings.append((level, m.group(2).strip()))
            current, table_header = None, None
            continue
        if stripped.startswith("|"):
            current = None
            if _TABLE_RULE.match(stripped):
                continue
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if table_header is None:
                table_header = cells
                continue
            pairs = [
                f"{table_header[i]}: {c}" if i < len(table_header) and table_header[i] else c
                for i, c in enumerate(cells)
                if c
            ]
            out.append(Block(names(), ["; ".join(pairs)]))
            continue
        indent = len(line) - len(line.lstrip())
        bullet = _BULLET.match(line)
        if bullet is not None:
            if current is not None and current.indent is not None and indent > current.indent:
                current.lines.append(line)  # a nested bullet belongs to the item above it
                continue
            current = Block(names(), [bullet.group(2)], indent)
            out.append(current)
            continue
        if current is not None:
            current.lines.append(line)  # a continuation line
            continue
        current = Block(names(), [stripped])
        out.append(current)
    return out


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_FRONT_OPEN = re.compile(r"\A\ufeff?---[ \t]*\r?\n")


def _body(markdown: str) -> str:
    """The markdown after its YAML front matter."""
    match = _FRONT_MATTER.match(markdown)
    return markdown[match.end() :] if match else markdown


# A sentence about the file itself ("This file gives guidance to Claude Code when ...").
_ABOUT_FILE = re.compile(
    r"^(?:this|the)\s+(?:file|document|memory\s+file|index)\s+(?:is|gives|provides|contains"
    r"|holds|lists|describes|documents|helps|tells|explains)\b",
    re.IGNORECASE,
)


def _is_entry(text: str) -> bool:
    """Enough words to be a piece of knowledge (a lone word or label is not); not a line
    about the file itself, nor an `@path` import."""
    return (
        len(_WORD.findall(text)) >= 2 and not _AT_IMPORT.match(text) and not _ABOUT_FILE.match(text)
    )


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    kind: str
    text: str
    lines: tuple[str, ...]
    section: str

    @property
    def key(self) -> str:
        """Stable across runs: the entry's words, whatever its kind or position."""
        norm = " ".join(self.text.lower().split())
        return hashlib.sha256(norm.encode()).hexdigest()[:20]


@dataclass
class Source:
    """One file (for Codex's MEMORY.md: one task group) to import as one handoff."""

    tool: Tool
    path: Path
    where: str  # shown and recorded: the file (and block), under the home folder
    project: str | None
    mapping_key: str  # what `--map KEY=SLUG` names for it
    memory_type: str | None = None
    entries: list[Entry] = field(default_factory=list)
    skipped: int = 0  # parts that are not learnings (index lines, profile, routing metadata)
    problem: str | None = None  # why it cannot be imported

    @property
    def topic(self) -> str:
        """The handoff's topic, which later imports find it by (bounded: the server takes at
        most 500 characters)."""
        topic = f"imported from {self.tool}: {self.where}"
        if len(topic) <= MAX_TOPIC_CHARS:
            return topic
        digest = hashlib.sha256(topic.encode()).hexdigest()[:12]
        return f"{topic[: MAX_TOPIC_CHARS - 14]}… {digest}"

    @property
    def unmapped(self) -> bool:
        return self.project is None


@dataclass(frozen=True)
class Options:
    home: Path
    project: str | None = None  # for what no repository on disk names
    maps: dict[str, str] = field(default_factory=dict)  # folder / cwd / file -> slug


def _display(path: Path, home: Path) -> str:
    try:
        return str(Path("~") / path.resolve().relative_to(home.resolve()))
    except ValueError:
        return str(path)


def _repo_project(path: Path | None) -> str | None:
    """The project of the git repository at `path`, as a session there names it."""
    if path is None or not path.exists():
        return None
    ws = detect(path if path.is_dir() else path.parent)
    return ws.project if ws.in_git else None


def _mapped(keys: Iterable[str | None], options: Options) -> str | None:
    for key in keys:
        if key and key.rstrip("/") in options.maps:
            return options.maps[key.rstrip("/")]
    return None


def _entries_of(
    markdown: str,
    default: str,
    *,
    section_kind: Callable[[list[str], str], str | None] | None = None,
    index: bool = False,
) -> tuple[list[Entry], int]:
    """The entries of `markdown` below its front matter, and how many parts were skipped.
    `section_kind` gives a block's default kind from its headings (None: not learnings)."""
    entries: list[Entry] = []
    skipped = 0
    for block in blocks(_body(markdown)):
        text = block.text
        kind = (section_kind or heading_kind)(block.headings, default)
        if kind is None or not _is_entry(text) or (index and _INDEX_LINE.match(text)):
            skipped += 1
            continue
        section = block.headings[-1] if block.headings else ""
        entries.append(Entry(kind_of(text, kind), text, tuple(block.lines), section))
    return entries, skipped


def _source(
    tool: Tool, path: Path, options: Options, project: str | None, key: str, where: str = ""
) -> Source:
    return Source(tool, path, where or _display(path, options.home), project, key)


def _read(source: Source) -> str | None:
    try:
        return source.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        source.problem = f"cannot read: {exc}"
        return None


def _front_matter_problem(text: str) -> str | None:
    """Why a file's front matter cannot be read (None: it has none, or it is fine)."""
    if _FRONT_OPEN.match(text) is None:
        return None
    match = _FRONT_MATTER.match(text)
    if match is None:
        return "front matter is not closed by a `---` line"
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        return f"front matter is not valid YAML ({str(exc).splitlines()[0]})"
    return None if data is None or isinstance(data, dict) else "front matter is not a mapping"


# Claude Code -------------------------------------------------------------------------------

# The kind a Claude Code memory's `type` gives its text (refined by its wording). `user`
# memories describe the person (role, expertise), not the project: not imported.
CLAUDE_TYPE_KINDS = {"feedback": "pattern", "project": "note", "reference": "note"}


def claude_home() -> Path:
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".claude"


def claude_folder_name(path: Path | str) -> str:
    """How Claude Code names a project's folder after the repository's path."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(path))


def _transcript_cwd(folder: Path) -> Path | None:
    """The working directory the folder's session transcripts record (`"cwd"`)."""
    for transcript in sorted(folder.glob("*.jsonl"))[:5]:
        try:
            with transcript.open(encoding="utf-8") as fh:
                for _, line in zip(range(50), fh, strict=False):
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    cwd = record.get("cwd") if isinstance(record, dict) else None
                    if isinstance(cwd, str) and cwd:
                        return Path(cwd)
        except (OSError, UnicodeDecodeError):
            continue
    return None


def decode_folder(name: str, root: Path = Path("/")) -> Path | None:
    """The existing directory whose path Claude Code's folder `name` was made from. The name
    loses which `-` was a `/` (or a `.`, `_`, ...), so the file system is walked along the
    directories whose names fit, a bounded number of them."""
    budget = [_MAX_DECODE_DIRS]

    def walk(directory: Path) -> Path | None:
        if claude_folder_name(directory) == name:
            return directory
        try:
            children = sorted(p for p in directory.iterdir() if p.is_dir())
        except OSError:
            return None
        for child in children:
            budget[0] -= 1
            if budget[0] < 0:
                return None
            encoded = claude_folder_name(child)
            if name == encoded or name.startswith(encoded + "-"):
                found = walk(child)
                if found is not None:
                    return found
        return None

    return walk(root) if name.startswith("-") else None


def _claude_project(folder: Path, options: Options) -> str | None:
    """The project of `~/.claude/projects/<folder>`: `--map`, else the repository its
    sessions ran in (their transcripts' `cwd`, else the path its name was made from), else
    `--project`."""
    explicit = _mapped([folder.name], options)
    if explicit:
        return explicit
    for path in (_transcript_cwd(folder), decode_folder(folder.name)):
        slug = _repo_project(path)
        if slug:
            return slug
    return options.project


def _claude_file(source: Source) -> None:
    text = _read(source)
    if text is None:
        return
    source.problem = _front_matter_problem(text)
    if source.problem is not None:
        return
    meta = front_matter(text)
    memory_type = str(meta.get("type") or "").strip().lower() or None
    source.memory_type = memory_type
    if source.path.name == "MEMORY.md":
        source.entries, source.skipped = _entries_of(text, "note", index=True)
        return
    if memory_type == "user":
        source.skipped = 1
        return
    default = CLAUDE_TYPE_KINDS.get(memory_type or "", "note")
    parts = blocks(_body(text))
    items = sum(b.indent is not None for b in parts)
    if memory_type is not None and not any(b.headings for b in parts) and items < 2:
        # One memory, one file: the body is one learning (its "Why:" and "How to apply:"
        # lines belong to the rule they explain).
        lines = [ln for b in parts for ln in b.lines] or [str(meta.get("description") or "")]
        whole = " ".join(ln.strip() for ln in lines if ln.strip())
        if _is_entry(whole):
            name = str(meta.get("name") or source.path.stem)
            source.entries = [Entry(kind_of(whole, default), whole, tuple(lines), name)]
        else:
            source.skipped = 1
        return
    source.entries, source.skipped = _entries_of(text, default)


def discover_claude_code(path: Path | None, options: Options) -> list[Source]:
    root = (path or claude_home() / "projects").expanduser()
    if root.name == "memory" and root.is_dir():
        folders = [root.parent]
    elif (root / "memory").is_dir():
        folders = [root]
    elif root.is_dir():
        folders = sorted(p for p in root.iterdir() if (p / "memory").is_dir())
    else:
        raise FileNotFoundError(f"no such folder: {root}")
    sources: list[Source] = []
    for folder in folders:
        project = _claude_project(folder, options)
        for file in sorted((folder / "memory").glob("*.md")):
            source = _source("claude-code", file, options, project, folder.name)
            _claude_file(source)
            sources.append(source)
    return sources


# Codex -------------------------------------------------------------------------------------

# Sections of Codex's MEMORY.md and memory_summary.md, as its consolidation prompt writes
# them; None: routing and profile, not learnings.
_CODEX_SECTIONS: tuple[tuple[re.Pattern[str], str | None], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"^task\s+\d+\b|rollout_summary_files|^keywords$|what'?s\s+in\s+memory", None),
        (r"user\s+profile", None),
        (r"fail|shield|pitfall|mistake", "mistake"),
        (r"preference|procedure|tips?\b|workflow", "pattern"),
        (r"knowledge|facts?\b|learn", "discovery"),
    )
)
_TASK_GROUP = re.compile(r"^task\s+group\b", re.IGNORECASE)
_APPLIES_TO = re.compile(r"^applies_to:.*?\bcwd=([^;\n]+)", re.IGNORECASE | re.MULTILINE)
_SCOPE_LINE = re.compile(r"^(?:scope|applies_to):", re.IGNORECASE)


def codex_home() -> Path:
    configured = os.environ.get("CODEX_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".codex"


def _codex_section_kind(headings: list[str], default: str) -> str | None:
    for heading in reversed(headings):
        if _TASK_GROUP.match(heading):
            continue
        for pattern, kind in _CODEX_SECTIONS:
            if pattern.search(heading):
                return kind
    return default


def _codex_entries(source: Source, markdown: str) -> None:
    found, skipped = _entries_of(markdown, "note", section_kind=_codex_section_kind)
    source.entries = [e for e in found if not _SCOPE_LINE.match(e.text) and e.text != "v1"]
    source.skipped = skipped + len(found) - len(source.entries)


def _task_groups(markdown: str) -> Iterator[tuple[str, str]]:
    """(title, text) of each `# ...` block of Codex's MEMORY.md (`# Task Group: ...`)."""
    for part in re.split(r"(?m)^(?=# )", markdown):
        first = part.partition("\n")[0]
        if first.startswith("# "):
            yield first[2:].strip(), part
        elif part.strip():
            yield "", part


def discover_codex(path: Path | None, options: Options) -> list[Source]:
    root = (path or codex_home() / "memories").expanduser()
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = [f for f in (root / "MEMORY.md", root / "memory_summary.md") if f.is_file()]
    else:
        raise FileNotFoundError(f"no such file or folder: {root}")
    sources: list[Source] = []
    for file in files:
        where = _display(file, options.home)
        probe = _source("codex", file, options, None, file.name)
        text = _read(probe)
        if text is None:
            sources.append(probe)
            continue
        if file.name == "memory_summary.md":
            # Not tied to a repository: imported only where the user names the project.
            project = _mapped([file.name, str(file)], options) or options.project
            source = _source("codex", file, options, project, file.name)
            _codex_entries(source, text)
            sources.append(source)
            continue
        for title, group in _task_groups(text):
            match = _APPLIES_TO.search(group)
            cwd = match.group(1).strip() if match else None
            project = (
                _mapped([cwd, title], options)
                or _repo_project(Path(cwd).expanduser() if cwd else None)
                or options.project
            )
            label = f"{where}#{title}" if title else where
            source = _source("codex", file, options, project, cwd or title or file.name, label)
            _codex_entries(source, group)
            sources.append(source)
    return sources


# CLAUDE.md / AGENTS.md ---------------------------------------------------------------------

# What a section of an instruction file holds when its heading says nothing more: the team's
# rules for working in the repository.
INSTRUCTIONS_DEFAULT = "pattern"
# What `memory install codex` writes into an AGENTS.md: this service's own instructions.
_OWN_BLOCK = re.compile(rf"{re.escape(codex.BEGIN)}.*?{re.escape(codex.END)}", re.S)


def _instruction_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"no such file or folder: {root}")
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        found += [Path(folder) / name for name in sorted(files) if name in INSTRUCTION_FILES]
    return found


def discover_instructions(path: Path | None, options: Options) -> list[Source]:
    sources: list[Source] = []
    for file in _instruction_files((path or Path.cwd()).expanduser()):
        tool: Tool = "claude-code" if file.name.startswith("CLAUDE") else "agents-md"
        ws = detect(file.parent)
        where = ""
        if ws.in_git:
            # In a repository the file is named by its place in it, the same in every clone:
            # a teammate importing the same CLAUDE.md finds this import and stores nothing.
            with contextlib.suppress(ValueError):
                where = str(file.resolve().relative_to(ws.root.resolve()))
        project = (
            _mapped([str(file), str(file.parent)], options)
            or (ws.project if ws.in_git else None)
            or options.project
        )
        source = _source(tool, file, options, project, str(file.parent), where)
        text = _read(source)
        if text is not None:
            # The block `memory install codex` wrote is this service's own instructions.
            text = _OWN_BLOCK.sub("", text)
            source.entries, source.skipped = _entries_of(text, INSTRUCTIONS_DEFAULT)
        sources.append(source)
    return sources


def discover(tool: Tool, path: Path | None, options: Options) -> list[Source]:
    """The sources of `tool` at `path` (its default place when None), entries classified,
    projects mapped. Those that cannot be imported carry a `problem`: unreadable, malformed,
    or unmapped (no repository on disk, no `--map`, no `--project`)."""
    finders = {
        "claude-code": discover_claude_code,
        "codex": discover_codex,
        "agents-md": discover_instructions,
    }
    found = finders[tool](path, options)
    for source in found:
        if source.problem is not None:
            continue
        if source.project is None:
            source.problem = (
                f"no project: the repository is not on disk here; pass "
                f"--map='{source.mapping_key}=SLUG' or --project SLUG"
            )
            continue
        try:
            check_project_slug(source.project)
        except ValueError as exc:
            source.problem = str(exc)
    return found


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------

# Section titles the server maps to each kind (memory_service/handoffs/parsing.py).
SECTION_TITLES = {
    "decision": "Decisions",
    "mistake": "Mistakes",
    "pattern": "Patterns",
    "assumption": "Assumptions",
    "discovery": "Discoveries",
    "next_step": "Next steps",
    "status": "Status",
    "note": "Notes",
}
MAX_SECTION_CHARS = 80
# The server's warning when learnings read like instructions to an agent (handoffs/prepare.py).
_FLAGGED_WARNING = re.compile(r"^(\d+) learning\(s\) read like instructions")


@dataclass
class Outcome:
    where: str
    tool: str
    result: Result
    message: str
    project: str | None = None
    stored: int = 0  # learnings this run stored
    already: int = 0  # entries earlier imports stored
    skipped_parts: int = 0  # parts of the file that are not learnings
    flagged: int = 0  # stored learnings the server flagged as instruction-like
    superseded: int = 0  # earlier versions of a one-memory file this run replaced
    handoff_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def unique_entries(source: Source) -> list[Entry]:
    return list({e.key: e for e in reversed(source.entries)}.values())[::-1]


def render(source: Source, entries: list[Entry], created: datetime) -> str:
    """The handoff that carries `entries`: front matter recording the origin, one section per
    kind, one bullet per entry (its continuation lines and nested bullets kept)."""
    meta = {
        "name": f"{source.tool} memory: {source.path.name}",
        "from": source.tool,
        "to": RECIPIENT,
        "created": created.isoformat(),
        "session_tool": source.tool,
        "topic": source.topic,
        "imported_from": source.tool,
        "source": source.where,
        "memory_type": source.memory_type,
        "entries": [e.key for e in entries],
    }
    shown = {k: v for k, v in meta.items() if v is not None}
    dumped = yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, width=10_000)
    lines = ["---", dumped.rstrip(), "---", ""]
    sections: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        sections.setdefault((entry.kind, entry.section), []).append(entry)
    for (kind, section), items in sections.items():
        # "Patterns: Code style": the server reads the kind from the first word, and the
        # learning keeps the section it stood under in the tool's file.
        title = " ".join(section.replace("#", " ").split())[:MAX_SECTION_CHARS]
        lines.append(f"## {SECTION_TITLES[kind]}" + (f": {title}" if title else ""))
        for entry in items:
            first, *rest = entry.lines or (entry.text,)
            lines.append(f"- {first.strip()}")
            lines += [f"  {ln.rstrip()}" for ln in rest if ln.strip()]
        lines.append("")
    return "\n".join(lines)


def idempotency_key(source: Source, entries: list[Entry]) -> str:
    where = "\x1f".join(["agent-memory-v1", source.tool, source.project or "", source.where])
    keys = "\x1f".join(sorted(e.key for e in entries))
    return "import-" + hashlib.sha256(f"{where}\x1e{keys}".encode()).hexdigest()


@dataclass
class Earlier:
    """What earlier imports of one source stored: its entries' keys, and the learning of each
    handoff that carried a single entry (an earlier version of a one-memory file)."""

    keys: set[str] = field(default_factory=set)
    versions: list[str] = field(default_factory=list)  # learning ids


class _Imported:
    """Earlier imports of each source: the archived handoffs of its project, recipient
    `memory-import` and topic, their `entries` front matter and learnings. Listed once per
    project; only the handoffs of a source's own topic are read."""

    def __init__(self, client: MemoryClient) -> None:
        self.client = client
        self.topics: dict[str, dict[str, list[str]]] = {}

    def of(self, source: Source) -> Earlier:
        project = source.project or ""
        if project not in self.topics:
            topics: dict[str, list[str]] = {}
            for summary in self.client.iter_handoffs(
                project=project, recipient=RECIPIENT, status="read"
            ):
                if summary.topic:
                    topics.setdefault(summary.topic, []).append(str(summary.id))
            self.topics[project] = topics
        earlier = Earlier()
        for handoff_id in self.topics[project].get(source.topic, []):
            handoff = self.client.get_handoff(handoff_id)
            stored = handoff.front_matter.get("entries")
            if isinstance(stored, list):
                earlier.keys.update(str(k) for k in stored)
                if len(stored) == 1 and len(handoff.learnings) == 1:
                    earlier.versions.append(str(handoff.learnings[0].id))
        return earlier


def _supersede_versions(
    client: MemoryClient, source: Source, earlier: Earlier, new_ids: list[str]
) -> int:
    """A one-memory file (a Claude Code topic file) that changed replaces what it said
    before: its earlier versions are superseded by the new learning. Returns how many."""
    if source.memory_type is None or len(unique_entries(source)) != 1 or len(new_ids) != 1:
        return 0
    done = 0
    for old in earlier.versions:
        if old == new_ids[0]:
            continue
        try:
            if client.get_learning(old).superseded_by is None:
                client.supersede(old, by=new_ids[0])
                done += 1
        except APIError:
            continue  # forgotten since, or a cycle the server refuses: nothing to replace
    return done


def import_source(client: MemoryClient, source: Source, earlier: Earlier | None = None) -> Outcome:
    """Sends the entries of `source` that earlier imports did not store, in handoffs of at
    most MAX_ENTRIES_PER_HANDOFF entries (the server has a limit per handoff)."""
    earlier = earlier or Earlier()
    outcome = Outcome(source.where, source.tool, "skipped", "", source.project)
    outcome.skipped_parts = source.skipped
    if source.problem is not None:
        outcome.result = "unmapped" if source.unmapped else "failed"
        outcome.message = source.problem
        return outcome
    entries = unique_entries(source)
    new = [e for e in entries if e.key not in earlier.keys]
    outcome.already = len(entries) - len(new)
    if not new:
        outcome.message = "already imported" if entries else "no learnings in it"
        return outcome
    created = datetime.fromtimestamp(source.path.stat().st_mtime, UTC)
    new_ids: list[str] = []
    for start in range(0, len(new), MAX_ENTRIES_PER_HANDOFF):
        chunk = new[start : start + MAX_ENTRIES_PER_HANDOFF]
        try:
            stored = client.create_handoff(
                source.project or "",
                render(source, chunk, created),
                recipient=RECIPIENT,
                status="read",
                idempotency_key=idempotency_key(source, chunk),
            )
        except APIError as exc:
            outcome.result, outcome.message = "failed", exc.message
            return outcome
        outcome.handoff_ids.append(str(stored.id))
        if stored.duplicate:
            outcome.already += len(chunk)
            continue
        outcome.stored += len(stored.learnings)
        new_ids += [str(learning.id) for learning in stored.learnings]
        for warning in stored.warnings:
            if (m := _FLAGGED_WARNING.match(warning)) is not None:
                outcome.flagged += int(m.group(1))
    outcome.superseded = _supersede_versions(client, source, earlier, new_ids)
    if outcome.stored:
        outcome.result, outcome.message = "imported", f"{outcome.stored} learning(s) stored"
        if outcome.superseded:
            outcome.message += f", replacing {outcome.superseded} earlier version(s)"
    else:
        outcome.message = "already imported"
    return outcome


def run_import(
    client: MemoryClient,
    sources: list[Source],
    progress: Callable[[Outcome], object] | None = None,
) -> list[Outcome]:
    """Imports `sources` one after the other (each first reads what earlier imports stored).
    A connection failure stops the import (MemoryClientError): every later file would fail
    the same way."""
    imported = _Imported(client)
    outcomes = []
    for source in sources:
        earlier = Earlier()
        try:
            if source.problem is None:
                earlier = imported.of(source)
        except APIError as exc:  # a key limited to other projects, say
            source.problem = f"cannot read earlier imports: {exc.message}"
        outcome = import_source(client, source, earlier)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes


# --------------------------------------------------------------------------------------------
# Reports (`memory import --from`)
# --------------------------------------------------------------------------------------------


def plan_report(sources: list[Source]) -> tuple[dict[str, Any], str]:
    """What a dry run shows: each file, its project, and the entries with their kinds."""
    plan = [
        {
            "source": s.where,
            "tool": s.tool,
            "project": s.project,
            "problem": s.problem,
            "skipped_parts": s.skipped,
            "entries": [{"kind": e.kind, "section": e.section, "text": e.text} for e in s.entries],
        }
        for s in sources
    ]
    lines = []
    for s in sources:
        note = f"  [{s.problem}]" if s.problem else ""
        if s.skipped:
            note += f"  ({s.skipped} part(s) not learnings: index lines, profile, routing)"
        lines.append(f"{s.where} → {s.project or '(no project)'}{note}")
        lines += [f"  {e.kind:<10} {e.text[:100]}" for e in s.entries]
    return {"would_import": plan}, "\n".join(lines) or "Nothing to import."


def import_report(outcomes: list[Outcome], *, verbose: bool) -> tuple[dict[str, Any], str]:
    counts: dict[str, Any] = {
        r: sum(o.result == r for o in outcomes)
        for r in ("imported", "skipped", "failed", "unmapped")
    }
    stored = sum(o.stored for o in outcomes)
    flagged = sum(o.flagged for o in outcomes)
    lines = [
        f"{o.result}: {o.where}: {o.message}"
        for o in outcomes
        if verbose or o.result in ("failed", "unmapped")
    ]
    lines.append(
        f"{stored} learning(s) stored from {counts['imported']} file(s); {counts['skipped']} "
        f"already imported or without learnings, {counts['unmapped']} unmapped, "
        f"{counts['failed']} failed."
    )
    if flagged:
        lines.append(
            f"{flagged} read like instructions to an agent: stored, shown only as quoted data, "
            "and listed for review in the console."
        )
    report = {**counts, "learnings": stored, "flagged": flagged}
    return {**report, "items": [o.as_json() for o in outcomes]}, "\n".join(lines)
