"""The schema exists only through Alembic, migrations go both ways, and the models match."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool

from memory_service import migrate
from memory_service.db import libpq_url, sync_url
from memory_service.models import Base
from memory_service.recall import sql


def _tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert {"teams", "api_keys", "projects", "handoffs", "learnings", "audit_events"} <= _tables(
        database_url
    )
    migrate.downgrade(database_url, "base")
    assert _tables(database_url) <= {"alembic_version"}
    migrate.upgrade(database_url)
    assert "learnings" in _tables(database_url)


def test_models_match_migrations(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_schema_details(database_url: str) -> None:
    migrate.upgrade(database_url)
    with psycopg.connect(libpq_url(database_url)) as conn:
        ext = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        assert ext is not None
        indexes = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'learnings'"
            ).fetchall()
        )
        assert (
            "USING hnsw (((embedding)::halfvec(384)) halfvec_cosine_ops)"
            in indexes["ix_learnings_embedding_hnsw"]
        )
        assert "USING gin (tsv)" in indexes["ix_learnings_tsv"]
        assert "(team_id, project_id, kind)" in indexes["ix_learnings_team_id_project_id_kind"]
        storage = conn.execute(
            "SELECT attstorage FROM pg_attribute "
            "WHERE attrelid = 'learnings'::regclass AND attname = 'embedding'"
        ).fetchone()
        assert storage == ("p",)
        # Every team-owned table leads its primary key with team_id.
        for table in ("api_keys", "projects", "handoffs", "learnings", "audit_events"):
            first = conn.execute(
                """
                SELECT a.attname FROM pg_index i
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = %s::regclass AND i.indisprimary
                """,
                (table,),
            ).fetchone()
            assert first == ("team_id",), table


def test_0007_leaves_the_functions_of_the_source(database_url: str) -> None:
    """A database migrated with 0003 before its edit held another `memory_text_candidates`;
    0007 replaces it with recall/sql.py's definitions."""
    migrate.upgrade(database_url)
    migrate.downgrade(database_url, "0006")
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        # As 0003 creates it (0012 adds the team as an argument).
        conn.execute(
            "DROP FUNCTION memory_text_candidates"
            "(tsquery, tsquery, integer, uuid, uuid[], text[], timestamptz)"
        )
        # The signature 0003 created before its edit.
        conn.execute(
            "CREATE FUNCTION memory_text_candidates(q tsquery, n integer, visible_project uuid,"
            " scope uuid[], kinds text[], since timestamptz) RETURNS TABLE (id uuid)"
            " LANGUAGE sql STABLE AS $$ SELECT NULL::uuid WHERE false $$"
        )
    migrate.upgrade(database_url)
    with psycopg.connect(libpq_url(database_url)) as conn:
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text, p.prorows, p.prosrc,"
            " has_function_privilege('memory_app', p.oid, 'EXECUTE') FROM pg_proc p"
            " WHERE p.proname IN ('memory_text_candidates', 'memory_common_terms')"
            " ORDER BY 1"
        ).fetchall()
    assert functions == [
        (
            "memory_common_terms(double precision,double precision)",
            0,
            sql.COMMON_TERMS_FUNCTION.split("$$")[1],
            True,
        ),
        (
            "memory_text_candidates(uuid,tsquery,tsquery,integer,uuid,uuid[],text[],"
            "timestamp with time zone)",
            50,
            sql.TEXT_CANDIDATES_FUNCTION.split("$$")[1],
            True,
        ),
    ]


def test_what_use_counting_and_feedback_update_is_indexed_nowhere(database_url: str) -> None:
    """Every brief, search, recall and check updates the learnings it returns (`uses`,
    `last_used_at`), and feedback its summary columns: PostgreSQL updates a row in place,
    without a new entry in every index (the HNSW one costs a nearest-neighbour insert), only
    when no indexed column changes (0006, 0010). The one exception: a report of wrong or
    outdated, made once per learning, may leave the row (the console's review queue finds
    those learnings through a partial index on them, 0011); counting helpful reports may not."""
    migrate.upgrade(database_url)
    counted = {"uses", "last_used_at", "helpful", "wrong_at", "outdated_at"}
    reported = {"wrong_at", "outdated_at"}
    review = "ix_learnings_team_id_needs_review"
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            """
            SELECT c.relname,
                   ARRAY(SELECT a.attname FROM pg_attribute a
                          WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)),
                   pg_get_indexdef(i.indexrelid)
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = 'learnings'::regclass
            """
        ).fetchall()
    assert review in {name for name, _, _ in rows}
    for name, columns, definition in rows:
        assert not counted & set(columns), (name, columns)
        allowed = reported if name == review else set()
        assert not any(column in definition for column in counted - allowed), definition


def test_0012_finds_the_keys_and_console_sessions_made_before_it(database_url: str) -> None:
    """Keys and console sessions of a database at 0011 still authenticate after 0012, which
    moves their lookups to the directories (key_prefixes, console_tokens)."""
    from memory_service.auth.keys import generate_key, hash_key

    migrate.upgrade(database_url)
    migrate.downgrade(database_url, "0011")
    key = generate_key()
    token_hash = hash_key("a console session token")
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("TRUNCATE teams CASCADE")
        team = conn.execute(
            "INSERT INTO teams (id, name) VALUES (gen_random_uuid(), 'old') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        key_id = conn.execute(
            "INSERT INTO api_keys (team_id, id, prefix, key_hash, scopes) "
            "VALUES (%s, gen_random_uuid(), %s, %s, '{read}') RETURNING id",
            (team, key.prefix, key.key_hash),
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO console_sessions (team_id, id, key_id, token_hash, expires_at) "
            "VALUES (%s, gen_random_uuid(), %s, %s, now() + interval '1 hour')",
            (team, key_id, token_hash),
        )
    migrate.upgrade(database_url)
    try:
        with psycopg.connect(libpq_url(database_url), options="-c role=memory_app") as conn:
            authenticate = (
                "SELECT team_id, id FROM memory_authenticate(%s, %s, interval '1 minute')"
            )
            found = conn.execute(authenticate, (key.prefix, key.key_hash)).fetchall()
            wrong = conn.execute(authenticate, (key.prefix, hash_key("another key"))).fetchall()
            signed_in = conn.execute(
                "SELECT team_id, key_id FROM memory_console_session(%s)", (token_hash,)
            ).fetchall()
            unknown = conn.execute(
                "SELECT team_id FROM memory_console_session(%s)", (hash_key("x"),)
            ).fetchall()
    finally:
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            conn.execute("TRUNCATE teams CASCADE")
    assert found == [(team, key_id)] and wrong == []
    assert signed_in == [(team, key_id)] and unknown == []
