"""The embedded PostgreSQL: started in a data folder, tuned to the service's page cache size,
and restarted with the setting it needs."""

from __future__ import annotations

from pathlib import Path

import psycopg

from memory_service.db import EmbeddedPostgres, default_shared_buffers_mb


def _shared_buffers(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW shared_buffers").fetchone()
    assert row is not None
    return str(row[0])


def test_shared_buffers_applied_at_first_start_and_on_change(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    first = EmbeddedPostgres(pgdata, shared_buffers_mb=48)
    url = first.start()
    try:
        # A fresh folder starts with PostgreSQL's 128 MB and is restarted with the setting.
        assert _shared_buffers(url) == "48MB"
    finally:
        first.stop()
    again = EmbeddedPostgres(pgdata, shared_buffers_mb=48)
    assert _shared_buffers(again.start()) == "48MB"  # nothing to change: no restart
    again.stop()
    changed = EmbeddedPostgres(pgdata, shared_buffers_mb=80)
    try:
        assert _shared_buffers(changed.start()) == "80MB"
    finally:
        changed.stop()


def test_default_is_a_quarter_of_memory_within_bounds() -> None:
    assert 128 <= default_shared_buffers_mb() <= 1024
