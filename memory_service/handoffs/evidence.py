"""The repository files a learning cites, read from its text and its handoff's Files section:
pure, bounded and linear in the text (no regex that can backtrack: every pattern here is
anchored to one token, and tokens are cut by `str.split`).

What counts as a citation:

- a backticked path in the bullet: `src/a.py`, `src/a.py:42`, `src/a.py#L10`, `a.py:10-20`;
- a bare `path:line` reference (`src/a.py:42`), a bare token with a slash and a file-like
  last part (`src/app/config.py`), a bare name with a known extension (`README.md`) or a
  known extensionless file name (`Makefile`);
- a path listed under the handoff's Files section that the bullet names, by full path or by an
  unambiguous basename (`config.py` when the Files section lists one `.../config.py`);
- a symbol, where cheap: a backticked `name()`, `Class.method` or `Class.method()` in a bullet
  that cites exactly one path is recorded on that citation.

A path is relative to the repository's top level, at most `MAX_PATH_CHARS` long, without `..`,
a leading `/` or `~`, a scheme (`https://`), spaces, backslashes or control characters. At most
`MAX_CITATIONS` per learning. The writer's git state (`HandoffCreate.git.blobs`) adds each
cited file's blob id at write time; `recall/freshness.py` compares it with the reader's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

MAX_CITATIONS: Final = 24
MAX_PATH_CHARS: Final = 300
# Longest token looked at: anything longer is no path a person typed.
_MAX_TOKEN_CHARS: Final = 400

# File names without an extension that are still files.
_PLAIN_FILES: Final = frozenset(
    {
        "makefile",
        "dockerfile",
        "containerfile",
        "justfile",
        "procfile",
        "gemfile",
        "rakefile",
        "vagrantfile",
        "jenkinsfile",
        "license",
        "readme",
        "changelog",
        "codeowners",
        "brewfile",
        "pipfile",
    }
)
# A bare name without a slash is a file only with one of these extensions (`node.js` in prose
# is not; `config.py` is).
_KNOWN_EXTENSIONS: Final = frozenset(
    [
        "py",
        "pyi",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "jsx",
        "json",
        "jsonl",
        "yaml",
        "yml",
        "toml",
        "ini",
        "cfg",
        "conf",
        "md",
        "rst",
        "txt",
        "go",
        "rs",
        "java",
        "kt",
        "kts",
        "rb",
        "c",
        "h",
        "cc",
        "cpp",
        "hpp",
        "cs",
        "sh",
        "bash",
        "zsh",
        "sql",
        "html",
        "htm",
        "css",
        "scss",
        "sass",
        "less",
        "vue",
        "svelte",
        "swift",
        "php",
        "ex",
        "exs",
        "erl",
        "scala",
        "clj",
        "lua",
        "r",
        "pl",
        "gradle",
        "xml",
        "env",
        "lock",
        "mod",
        "sum",
        "proto",
        "tf",
        "tfvars",
        "ipynb",
        "csv",
        "tsv",
        "dart",
        "m",
        "mm",
        "hs",
        "ml",
        "fs",
        "zig",
        "nim",
        "jl",
        "ps1",
        "bat",
        "cmake",
        "mk",
        "dockerignore",
        "gitignore",
        "properties",
        "graphql",
        "gql",
        "prisma",
        "rego",
        "nix",
        "bzl",
        "bazel",
        "star",
        "in",
        "j2",
        "jinja",
        "tpl",
    ]
)
_EXTENSION: Final = re.compile(r"[A-Za-z][A-Za-z0-9]{0,9}")
_LINE: Final = re.compile(r"L?(\d{1,7})(?:-L?\d{1,7})?")
_SYMBOL: Final = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]{0,80}(?:\.[A-Za-z_][A-Za-z0-9_]{0,80}){0,3}(?:\(\))?"
)
_TRIM: Final = "\"'()[]{}<>,;!?*_"
_TRAILING: Final = ".:,;!?)]}>\"'*_"


def _split_location(token: str) -> tuple[str, int | None]:
    """`a.py:42` -> ("a.py", 42); `a.py#L10` -> ("a.py", 10); `a.py:42:7` -> ("a.py", 42)."""
    for sep in ("#", ":"):
        head, found, tail = token.partition(sep)
        if found:
            loc = tail.split(":", 1)[0]
            m = _LINE.fullmatch(loc)
            if m is not None:
                return head, int(m.group(1))
            if sep == "#" or tail == "":
                return head, None
    return token, None


def _valid_path(path: str) -> bool:
    if not 0 < len(path) <= MAX_PATH_CHARS or path[0] in "/~-" or "://" in path:
        return False
    if any(c.isspace() or c in "\\`|$" or ord(c) < 32 or ord(c) == 127 for c in path):
        return False
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _file_like(path: str, *, bare: bool) -> bool:
    """A path whose last part names a file: an extension, a dotfile, or a known plain name.
    `bare` (no slash): only known extensions (`e.g`, `v1.2` are no paths) and capitalised
    plain names."""
    name = path.rsplit("/", 1)[-1]
    if name.lower() in _PLAIN_FILES:
        return not bare or name[:1].isupper()  # "Makefile", not "the license"
    stem, dot, ext = name.rpartition(".")
    if not dot or _EXTENSION.fullmatch(ext) is None:
        return False
    if bare:
        return ext.lower() in _KNOWN_EXTENSIONS and (stem != "" or name.startswith("."))
    return True


def normalise(token: str, *, bare: bool = False) -> tuple[str, int | None] | None:
    """The path and line a token names, or None when it names no file."""
    if len(token) > _MAX_TOKEN_CHARS:
        return None
    token = token.strip(_TRIM)
    if token.startswith("./"):
        token = token[2:]
    path, line = _split_location(token)
    path = path.rstrip(_TRAILING) if line is None else path
    if path.startswith("./"):
        path = path[2:]
    if not _valid_path(path):
        return None
    if not _file_like(path, bare=bare and "/" not in path):
        return None
    return path, line


def _pieces(text: str) -> list[tuple[bool, str]]:
    """The text cut at backticks, in order: (True, contents of a `code span`) or (False, text
    outside spans). Linear: one `split`; an unpaired last backtick opens nothing."""
    parts = text.split("`")
    last = len(parts) - 1
    return [(i % 2 == 1 and i < last, part) for i, part in enumerate(parts)]


def _basenames(files: Iterable[str]) -> dict[str, str | None]:
    """Each listed file's basename -> its path (None when two listed files share it)."""
    out: dict[str, str | None] = {}
    for path in files:
        name = path.rsplit("/", 1)[-1]
        out[name] = path if name not in out or out[name] == path else None
    return out


def extract_citations(text: str, files: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The citations of one learning: [{"path", "blob": None, "line", "symbol"}], in order of
    first mention, at most MAX_CITATIONS. `files`: the handoff's Files section (parsing.py)."""
    listed: list[str] = []
    for entry in files:
        found = normalise(entry)
        if found is not None:
            listed.append(found[0])
    by_name = _basenames(listed)
    found_paths: dict[str, int | None] = {}
    symbols: list[str] = []

    def cite(path: str, line: int | None) -> None:
        if "/" not in path and by_name.get(path):
            path = by_name[path] or path  # an unambiguous basename of a listed file
        if path in found_paths:
            if found_paths[path] is None:
                found_paths[path] = line
        elif len(found_paths) < MAX_CITATIONS:
            found_paths[path] = line

    for in_span, piece in _pieces(text):
        if in_span:
            span = piece.strip()
            if not span or len(span) > _MAX_TOKEN_CHARS or " " in span:
                continue
            hit = normalise(span, bare=True)
            if hit is not None:
                cite(*hit)
            elif _SYMBOL.fullmatch(span) and ("(" in span or "." in span):
                symbols.append(span)
            continue
        for token in piece.split():
            if len(token) > _MAX_TOKEN_CHARS:
                continue
            # Bare tokens: a path with a slash, a `name.ext:line` reference, a listed file, a
            # name with a known extension (`README.md`) or a known plain file (`Makefile`). A
            # false one (`node.js` in prose) costs nothing: the writer's checkout has no blob
            # for it, and a citation without a blob is no evidence either way.
            hit = normalise(token, bare=True)
            if hit is not None:
                cite(*hit)
    citations = [
        {"path": path, "blob": None, "line": line, "symbol": None}
        for path, line in found_paths.items()
    ]
    if len(citations) == 1 and symbols:
        citations[0]["symbol"] = symbols[0][:200]
    return citations


def attach_blobs(
    citations: list[dict[str, Any]], blobs: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """The citations with each path's blob id from the writer's git state (None where the
    writer sent none for it: no evidence, never an error)."""
    if not blobs:
        return citations
    return [{**c, "blob": blobs.get(c["path"])} for c in citations]


_BLOB: Final = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def check_citations(value: Any) -> list[dict[str, Any]]:
    """Citations as a file from elsewhere (an import) gives them, checked to the shape a write
    stores: a list of at most MAX_CITATIONS objects with a valid relative `path`, a blob id or
    null, a line number or null and a symbol or null. ValueError says what is wrong."""
    if not isinstance(value, list) or len(value) > MAX_CITATIONS:
        raise ValueError(f"expected a list of at most {MAX_CITATIONS} citations")
    out = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"path", "blob", "line", "symbol"}:
            raise ValueError('expected objects with "path", "blob", "line", "symbol"')
        path, blob = item.get("path"), item.get("blob")
        line, symbol = item.get("line"), item.get("symbol")
        if not isinstance(path, str) or not _valid_path(path):
            raise ValueError(f"invalid path {str(path)[:60]!r}")
        if blob is not None and (not isinstance(blob, str) or _BLOB.fullmatch(blob) is None):
            raise ValueError("blob must be a 40 or 64 hex digit blob id or null")
        if line is not None and (isinstance(line, bool) or not isinstance(line, int)):
            raise ValueError("line must be an integer or null")
        if symbol is not None and (not isinstance(symbol, str) or len(symbol) > 200):
            raise ValueError("symbol must be a string of at most 200 characters or null")
        out.append({"path": path, "blob": blob, "line": line, "symbol": symbol})
    return out
