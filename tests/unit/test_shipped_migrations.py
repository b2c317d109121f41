"""A shipped migration is never edited: a database that already ran it never runs it again, so
an edit reaches only new databases and the two drift apart (0003 was edited once; 0007 repairs
that). A change to the schema or to a function is a new revision."""

from __future__ import annotations

import hashlib
from pathlib import Path

from memory_service.recall import sql

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"

# sha256 of every file in migrations/versions/. A new revision gets its line here once it is
# final (`sha256sum migrations/versions/NEW.py`).
SHIPPED = {
    "0001_initial_schema.py": "2a58e5e2f96a99ac22aa79279fadc4a6358a21d178fc91b17c52e9e656ad37ba",
    "0002_row_level_security.py": (
        "efc4689263e7c23ca789bbda3fe50fc768f715d255dc168080f29289616b2ef2"
    ),
    "0003_text_search_function.py": (
        "9d96de924462c16684c9e4482b07ea3425eb0f7e34702719841f64f5f195aac1"
    ),
    "0004_halfvec_hnsw_index.py": (
        "9fe864620fc3446ea1fd90fb86572009af57ef90bb4ca515c99fe1310c2b62a8"
    ),
    "0005_authenticate_function.py": (
        "0abfbc9f15ea7a5ac3efaf91f819f71c80489b55bb7a7d3882d07e3e02451bb6"
    ),
    "0006_learnings_fillfactor.py": (
        "29abf5d3234a07518248bc014ec02c77c704058e30a3162947438d53d42dc1d7"
    ),
    "0007_text_search_functions_from_source.py": (
        "132c327267551774da44c3cc8fd4af0ee7ea02824c4e594f023dc91c4fc60c25"
    ),
    "0008_recall_injections.py": (
        "fcee5abd11f9e03916e136f3ed6e614aeb96ba74c98486260a3052b98982b246"
    ),
    "0009_learnings_that_stay_true.py": (
        "d56ddb9849302c326734587f48cb774c1ba5ae429bee4cd4322eec9354760994"
    ),
    "0010_use_counts_update_in_place.py": (
        "d8712b840c1c6d8b708dfa927a4094413e5a2f35139892a5e4d6b6657034a9cb"
    ),
    "0011_console_sessions.py": (
        "4c0dc1fcb5d67c287224edf3dfe506eacfaf507e4211e7ab2f80154db1089c5a"
    ),
    "0012_shard_ready_lookups.py": (
        "6974e5ff03b90b11d70ce71454d959b4f98fa06424c660fbb5d85b0edb0e161b"
    ),
    "0013_bounded_text_lookups.py": (
        "3df5f5857dce888c4d69f0a1b06e596118cedb58c4ff0157965db47c69058db9"
    ),
}

# Revision 0007 creates these from recall/sql.py: a database past 0007 keeps the body it got
# then, so a changed definition needs a new revision that recreates it (0012 recreated
# TEXT_CANDIDATES_FUNCTION with the team as an argument; 0013 with a cap on the rows it ranks,
# and created TEXT_MATCH_FUNCTION).
FUNCTIONS = {
    "TEXT_CANDIDATES_FUNCTION": "6f9996356a1ffd2eea0389043ad270df7f4583854777b75492e8d8e45228a8d4",
    "TEXT_MATCH_FUNCTION": "f5e29b5e5950b511b908d022e3aa18ae05e24e5770c1497b214062879ff72758",
    "COMMON_TERMS_FUNCTION": "e476bd2db43d10251716440e37324b0df152ca4ecf8e1a767775775337702406",
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_shipped_migrations_are_unchanged() -> None:
    changed = [
        name
        for name, digest in SHIPPED.items()
        if not (VERSIONS / name).is_file() or _sha256((VERSIONS / name).read_bytes()) != digest
    ]
    assert not changed, (
        f"shipped migrations changed or removed: {changed}. A database that already ran a "
        "revision never runs it again: restore it and add a new revision instead."
    )


def test_every_migration_has_a_checksum() -> None:
    new = sorted(p.name for p in VERSIONS.iterdir() if p.is_file() and p.name not in SHIPPED)
    assert not new, (
        f"no checksum yet for {new}: once the revision is final, add its sha256 to SHIPPED in "
        "this file (from then on it is never edited)"
    )


def test_function_definitions_are_those_a_revision_created() -> None:
    changed = [
        name for name, digest in FUNCTIONS.items() if _sha256(getattr(sql, name).encode()) != digest
    ]
    assert not changed, (
        f"recall/sql.py changed {changed}, which revision 0007 created: databases already past "
        "it keep the old body. Add a new revision that recreates the function from "
        "recall/sql.py, then update the checksum here."
    )
