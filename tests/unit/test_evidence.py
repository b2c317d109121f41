"""What a learning cites (memory_service/handoffs/evidence.py) and how its freshness is judged
(memory_service/recall/freshness.py): pure, no database."""

from __future__ import annotations

import time

import pytest

from memory_service.handoffs.evidence import MAX_CITATIONS, attach_blobs, extract_citations
from memory_service.recall.freshness import classify
from memory_service.vocabulary import Freshness


def paths(text: str, files: tuple[str, ...] = ()) -> list[tuple[str, int | None]]:
    return [(c["path"], c["line"]) for c in extract_citations(text, files)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Do not touch `src/a.py`.", [("src/a.py", None)]),
        ("See `src/a.py:42` first", [("src/a.py", 42)]),
        ("See `a.py#L10` first", [("a.py", 10)]),
        ("See `src/a.py:10-20`", [("src/a.py", 10)]),
        ("the retry in billing/client.py:10 broke", [("billing/client.py", 10)]),
        ("bare app.py:7 reference", [("app.py", 7)]),
        ("Edit ./src/a.py, then `Makefile`.", [("src/a.py", None), ("Makefile", None)]),
        (
            "`README.md` and `.github/workflows/ci.yml`",
            [("README.md", None), (".github/workflows/ci.yml", None)],
        ),
        # Prose, URLs, escapes out of the repository, directories: no citation.
        ("and/or e.g. i.e. v1.2 TCP/IP, the license", []),
        # Bare names with a known extension or a plain file name are cited (a false one such
        # as node.js gets no blob from the writer's checkout, so it is no evidence).
        (
            "The README.md and the Makefile; node.js",
            [("README.md", None), ("Makefile", None), ("node.js", None)],
        ),
        ("`https://example.com/a.py` `../x.py` `/etc/passwd` `~/x.py` `src/`", []),
        ("`git status` then `make test`", []),
    ],
)
def test_citations_in_a_bullet(text: str, expected: list[tuple[str, int | None]]) -> None:
    assert paths(text) == expected


def test_files_section_resolves_basenames_it_lists_once() -> None:
    files = ("src/app/config.py", "lib/a/util.py", "lib/b/util.py")
    assert paths("config.py reads the env twice", files) == [("src/app/config.py", None)]
    # Ambiguous: two listed util.py; cited as written, not resolved.
    assert paths("util.py is slow", files) == [("util.py", None)]
    assert paths("`util.py` is slow", files) == [("util.py", None)]
    # A listed full path named in the bullet.
    assert paths("lib/a/util.py is slow", files) == [("lib/a/util.py", None)]


def test_symbol_next_to_the_one_cited_path() -> None:
    [c] = extract_citations("`Cache.get()` in `src/cache.py` swallows errors")
    assert (c["path"], c["symbol"]) == ("src/cache.py", "Cache.get()")
    two = extract_citations("`run()` in `a.py` and `b.py`")
    assert [c["symbol"] for c in two] == [None, None]


def test_bounded_and_linear() -> None:
    many = " ".join(f"`src/f{i}.py`" for i in range(200))
    assert len(extract_citations(many)) == MAX_CITATIONS
    hostile = ["`" * 100_000, "a/" * 100_000, "a.py:" * 50_000, "`a/" * 50_000, "#L1" * 50_000]
    for text in hostile:
        start = time.process_time()
        extract_citations(text, ["x/" * 1000 + "y.py"] * 100)
        assert time.process_time() - start < 2


def test_blobs_attach_by_path() -> None:
    cited = extract_citations("`a.py` and `b.py`")
    assert [c["blob"] for c in attach_blobs(cited, {"a.py": "1" * 40})] == ["1" * 40, None]
    assert attach_blobs(cited, None) == cited


BLOB, OTHER = "a" * 40, "b" * 40


@pytest.mark.parametrize(
    ("citations", "files", "expected"),
    [
        ([{"path": "a.py", "blob": BLOB}], {"a.py": BLOB}, Freshness.verified),
        ([{"path": "a.py", "blob": BLOB}], {"a.py": OTHER}, Freshness.changed),
        ([{"path": "a.py", "blob": BLOB}], {"a.py": None}, Freshness.missing),
        ([{"path": "a.py", "blob": BLOB}], {}, Freshness.unknown),
        ([], {"a.py": BLOB}, Freshness.unknown),
        # No blob at write: no evidence, even when the file is gone now.
        ([{"path": "a.py", "blob": None}], {"a.py": None}, Freshness.unknown),
        # The worst cited file decides; one not sent leaves "verified" unproven.
        (
            [{"path": "a.py", "blob": BLOB}, {"path": "b.py", "blob": BLOB}],
            {"a.py": OTHER, "b.py": None},
            Freshness.missing,
        ),
        (
            [{"path": "a.py", "blob": BLOB}, {"path": "b.py", "blob": BLOB}],
            {"a.py": BLOB},
            Freshness.unknown,
        ),
        (
            [{"path": "a.py", "blob": BLOB}, {"path": "b.py", "blob": None}],
            {"a.py": BLOB, "b.py": None},
            Freshness.verified,
        ),
    ],
)
def test_classify(
    citations: list[dict[str, str | None]], files: dict[str, str | None], expected: Freshness
) -> None:
    assert classify(citations, files)[0] == expected
