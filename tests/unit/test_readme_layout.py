"""The README's Layout table matches the tree: every path it names exists, every module and
file it names in a row's description exists under that row's folders, and every package and
module of the server is in it. A newcomer finds where a request goes from that table; a moved
file must move there too."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "memory_service"
_TICKED = re.compile(r"`([^`]+)`")
_FILE_OR_FOLDER = re.compile(r"^[\w./-]+(\.py|\.md|/)$")


def _layout_rows() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rows.append((cells[0], cells[1]))
    assert rows, "README.md has no Layout table"
    return rows


def _paths(cell: str) -> list[Path]:
    """The row's paths: the first relative to the repository, the next ones (`ratelimit.py`,
    `audit/`, `hygiene/poison.py`) relative to the first one's folder."""
    names = _TICKED.findall(cell)
    first = ROOT / names[0]
    base = first.parent
    return [first, *(base / name for name in names[1:])]


def test_every_path_of_the_layout_table_exists() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for cell, _ in _layout_rows()
        for path in _paths(cell)
        if not path.exists()
    ]
    assert not missing, f"README Layout names paths that do not exist: {missing}"


def test_every_file_a_description_names_exists_in_its_row() -> None:
    missing = []
    for cell, what in _layout_rows():
        folders = [p if p.is_dir() else p.parent for p in _paths(cell)]
        for name in _TICKED.findall(what):
            if not _FILE_OR_FOLDER.match(name):
                continue
            found = (ROOT / name).exists() or any(
                (folder / name).exists() or any(folder.rglob(name.rstrip("/")))
                for folder in folders
            )
            if not found:
                missing.append(f"{cell}: {name}")
    assert not missing, f"README Layout describes files that are not there: {missing}"


def test_every_server_package_and_module_is_in_the_layout_table() -> None:
    named = set()
    for cell, what in _layout_rows():
        named |= {p.resolve() for p in _paths(cell)}
        folders = [p if p.is_dir() else p.parent for p in _paths(cell)]
        for name in _TICKED.findall(what):
            named |= {(folder / name).resolve() for folder in folders}
    top = [
        p
        for p in sorted(SERVER.iterdir())
        if (p.suffix == ".py" and p.name != "__init__.py" and p.name != "__main__.py")
        or (p.is_dir() and (p / "__init__.py").exists())
    ]
    absent = [p.name for p in top if p.resolve() not in named]
    assert not absent, f"memory_service/ has modules the README Layout does not name: {absent}"


def test_every_file_docs_architecture_names_exists() -> None:
    """docs/architecture.md names modules (`recall/plan.py`, `tests/helpers.py`, ...): each is
    somewhere in the repository, under the server or from the root."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for name in set(_TICKED.findall(text)):
        path = name.split(":", 1)[0]
        if not _FILE_OR_FOLDER.match(path):
            continue
        if "/" in path.rstrip("/"):
            found = (ROOT / path).exists() or (SERVER / path).exists()
        else:  # a module named in its package's row
            found = (ROOT / path).exists() or any(SERVER.rglob(path.rstrip("/")))
        if not found:
            missing.append(name)
    assert not missing, f"docs/architecture.md names files that are not there: {missing}"
