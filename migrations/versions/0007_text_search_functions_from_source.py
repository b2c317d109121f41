"""The search's two owner-run functions as the source defines them (recall/sql.py).

Revision 0003 was edited in place after it had run on databases (commit 33ebe53):
`memory_text_candidates` gained a second tsquery, `q_fill` (the rows holding all of the query's
common terms), and `ROWS 50`. A database migrated before that edit still holds the older
function, under another signature, and no `memory_text_candidates` the search can call. This
revision drops the older signature if it is there and creates both functions as
memory_service/recall/sql.py defines them now, so the source is what a database runs.

From now on a changed function is a new revision that recreates it from recall/sql.py, and a
shipped revision is never edited (tests/unit/test_shipped_migrations.py holds the checksums of
both, and fails on either edit).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

from memory_service.recall import sql
from memory_service.tenancy import APP_ROLE

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As 0003 created it before its edit.
OLDER_TEXT_CANDIDATES = (
    "memory_text_candidates(tsquery, integer, uuid, uuid[], text[], timestamptz)"
)


def upgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {OLDER_TEXT_CANDIDATES}")
    for definition, signature in (
        (sql.TEXT_CANDIDATES_FUNCTION, sql.TEXT_CANDIDATES_SIGNATURE),
        (sql.COMMON_TERMS_FUNCTION, sql.COMMON_TERMS_SIGNATURE),
    ):
        op.execute(definition)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")


def downgrade() -> None:
    # Nothing to undo: the functions this revision leaves are those 0003 creates today (and
    # 0003's downgrade drops them). The older `memory_text_candidates` is not brought back:
    # no version of the service since 0003's edit calls it.
    pass
