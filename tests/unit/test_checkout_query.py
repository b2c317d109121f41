"""The brief's query from a checkout (memory_service/recall/context.py), without a database."""

from __future__ import annotations

import pytest

from memory_service.recall.context import (
    branch_words,
    build_query,
    commit_subject,
    path_words,
    words,
)
from memory_service.recall.ranking import (
    CONTEXT_MAX_COMMITS,
    CONTEXT_MAX_NEXT_STEPS,
    CONTEXT_MAX_PATH_WORDS,
    CONTEXT_QUERY_CHARS,
)


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("feat/history-keyset-pagination", ["history", "keyset", "pagination"]),
        ("refs/heads/fix/presence_duplicateMembers", ["presence", "duplicate", "members"]),
        ("PROJ-1234-uk-postcodes", ["uk", "postcodes"]),
        ("release/notarize-in-ci", ["notarize", "in", "ci"]),
        ("perf", ["perf"]),
        ("main", []),
        ("master", []),
        ("HEAD", []),
        ("feature/1234", []),
        ("", []),
        (None, []),
    ],
)
def test_branch_words(branch: str | None, expected: list[str]) -> None:
    assert branch_words(branch) == expected


def test_words_split_identifiers_and_drop_numbers_and_hashes() -> None:
    assert words("SaveMigrator") == ["save", "migrator"]
    assert words("useCart_store.v2") == ["use", "cart", "store", "v2"]
    assert words("HTTPClient") == ["http", "client"]
    assert words("9e3b43ec 20260115093000 JIRA-77") == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("feat(push): retry dead device tokens (#412)", "push: retry dead device tokens"),
        ("fix!: clamp history page size", "clamp history page size"),
        ("fixup! Add keyset cursor", "Add keyset cursor"),
        ('Revert "Use OFFSET for history"', "Use OFFSET for history"),
        ("Add StateMigrator skeleton (!87)", "Add StateMigrator skeleton"),
        ("wip", ""),
        ("Merge branch 'main' into feat/x", ""),
        ("fixup! wip", ""),
        ("...", ""),
    ],
)
def test_commit_subject(subject: str, expected: str) -> None:
    assert commit_subject(subject) == expected


def test_path_words_keep_what_the_change_is_about() -> None:
    got = path_words(
        [
            "core/src/main/kotlin/save/SaveMigrator.kt",
            "core/src/main/kotlin/save/SaveRepository.kt",
            "android/src/androidTest/kotlin/save/SaveMigrationTest.kt",
            "README.md",
            ".gitlab-ci.yml",
        ]
    )
    # The directory all changes share first; generic parts (src, main, kotlin, test, core,
    # readme) and extensions left out.
    assert got[0] == "save"
    assert {"migrator", "repository", "migration", "gitlab", "ci"} <= set(got)
    assert not {"src", "main", "kotlin", "core", "test", "kt", "md", "readme"} & set(got)
    assert path_words([]) == [] and path_words(["/", "./"]) == []


def test_query_is_ordered_bounded_and_empty_when_the_checkout_says_nothing() -> None:
    query = build_query(
        branch="feat/save-v6-inventory",
        commits=["feat(save): add InventoryItem entity", "wip", "Bump SaveDatabase to version 6"],
        changed_paths=["core/src/main/kotlin/save/InventoryDao.kt"],
        next_steps=["Write `MigrationTestHelper` test for v6"],
    )
    assert query.parts == (
        "save v6 inventory",
        "save: add InventoryItem entity",
        "Bump SaveDatabase to version 6",
        "Write `MigrationTestHelper` test for v6",
        "save inventory dao",
    )
    assert query.text == "\n".join(query.parts)

    assert build_query(branch="main").empty
    assert build_query(branch=None, commits=["wip", "Merge branch 'x'"], changed_paths=[]).empty
    # Next steps alone (a handoff delivered on main) make a query.
    assert not build_query(branch="main", next_steps=["Add the index concurrently"]).empty

    many = build_query(
        branch="feat/" + "-".join(f"word{i}" for i in range(400)),
        commits=[f"commit subject number {i} " + "x" * 300 for i in range(20)],
        changed_paths=[f"pkg{i}/module{i}/file{i}.py" for i in range(100)],
        next_steps=[f"step {i}" for i in range(10)],
    )
    assert len(many.text) <= CONTEXT_QUERY_CHARS
    assert all(len(p) <= 2000 for p in many.parts)
    bounded = build_query(
        branch=None,
        commits=[f"commit {i}" for i in range(20)],
        changed_paths=[f"dir{i}/file{i}.py" for i in range(100)],
        next_steps=[f"step {i}" for i in range(10)],
    )
    assert sum(p.startswith("commit") for p in bounded.parts) == CONTEXT_MAX_COMMITS
    assert sum(p.startswith("step") for p in bounded.parts) == CONTEXT_MAX_NEXT_STEPS
    assert len(bounded.parts[-1].split()) <= CONTEXT_MAX_PATH_WORDS
