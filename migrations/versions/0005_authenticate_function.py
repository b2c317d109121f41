"""API key authentication in one statement.

Every request used to check its key in a transaction of its own: BEGIN, switch to system mode
(the key decides the team, so the lookup is the one made across teams), SELECT the key, COMMIT
— four round trips before the request's own work, about 2 ms of CPU per request between the
server and PostgreSQL (bench/RESULTS.md, "Levers"). `memory_authenticate` does the lookup as
the table owner in one statement, compares the stored hash, and refreshes `last_used_at` when
it is older than `resolution` (SKIP LOCKED: a concurrent request of the same key is already
doing it; never wait). It returns nothing for an unknown, wrong or revoked key, so it reveals
no more than the HTTP 401 does; the key's own hash must be presented to get a row.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "memory_app"
SIGNATURE = "memory_authenticate(text, text, interval)"


def upgrade() -> None:
    # api_keys is FORCEd under row-level security (0002), so even the owner needs system mode;
    # `set_config(..., true)` lasts only as long as the caller's transaction, and the service
    # calls this in a transaction of its own.
    op.execute(
        """
        CREATE FUNCTION memory_authenticate(key_prefix text, presented_hash text,
                                            resolution interval)
        RETURNS TABLE (team_id uuid, id uuid, scopes text[], projects text[])
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = pg_catalog, public
        AS $$
        DECLARE
            key public.api_keys%ROWTYPE;
        BEGIN
            PERFORM set_config('memory.system', 'on', true);
            SELECT * INTO key FROM public.api_keys k
             WHERE k.prefix = key_prefix AND k.key_hash = presented_hash
               AND k.revoked_at IS NULL;
            IF NOT FOUND THEN
                PERFORM set_config('memory.system', 'off', true);
                RETURN;
            END IF;
            IF key.last_used_at IS NULL OR key.last_used_at < now() - resolution THEN
                UPDATE public.api_keys SET last_used_at = now()
                 WHERE (api_keys.team_id, api_keys.id) IN (
                       SELECT k.team_id, k.id FROM public.api_keys k
                        WHERE k.team_id = key.team_id AND k.id = key.id
                          FOR UPDATE SKIP LOCKED);
            END IF;
            PERFORM set_config('memory.system', 'off', true);
            team_id := key.team_id;
            id := key.id;
            scopes := key.scopes;
            projects := key.projects;
            RETURN NEXT;
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
