"""Room on each page of `learnings` for updates in place.

A learning's row is updated when a later handoff repeats it (`occurrences`, `canonical_id`
on delete). On a full page the new row version goes to another page, and then every index
gets a new entry for it — the HNSW index too, at the cost of a nearest-neighbour insert
(~1 ms of CPU at 100k learnings; bench/RESULTS.md), for a vector that did not change. With 10 %
of each page left free, PostgreSQL can keep the new version on the same page without touching
any index (a heap-only tuple: no indexed column changes). Applies to pages filled from now
on; `VACUUM FULL learnings` would repack the older ones.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE learnings SET (fillfactor = 90)")


def downgrade() -> None:
    op.execute("ALTER TABLE learnings RESET (fillfactor)")
