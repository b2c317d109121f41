"""Embeddings sent in pgvector's binary format (memory_service.vectors) arrive exactly, one by
one and as a vector[]; a connection without the registration still cannot send them wrong."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from sqlalchemy import text

from memory_service import migrate, vectors
from memory_service.db import create_engine, libpq_url


async def test_engine_connections_send_vectors_binary(database_url: str) -> None:
    migrate.upgrade(database_url)
    values = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            # The lookup of the type's oid at connect left no transaction open behind it.
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            status = raw.driver_connection.info.transaction_status
            assert status == psycopg.pq.TransactionStatus.IDLE
            got = await conn.scalar(
                text("SELECT CAST(:v AS vector)::text"), {"v": vectors.as_param(values)}
            )
            dims = await conn.scalar(
                text("SELECT array_agg(vector_dims(x)) FROM unnest(CAST(:vs AS vector[])) x"),
                {"vs": vectors.as_params([values, values[::-1], np.zeros(384)])},
            )
    finally:
        await engine.dispose()
    # float32 in, the same float32 out: nothing is rounded on the way.
    assert np.array_equal(np.array(got.strip("[]").split(","), dtype=np.float32), values)
    assert dims == [384, 384, 384]


def test_plain_connection_without_registration_refuses_arrays(database_url: str) -> None:
    migrate.upgrade(database_url)
    values = np.ones(384, dtype=np.float32)
    with psycopg.connect(libpq_url(database_url)) as conn:
        with pytest.raises(psycopg.ProgrammingError):
            conn.execute("SELECT CAST(%s AS vector)", (values,))
        conn.rollback()
        vectors.register(conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        row = conn.execute("SELECT vector_dims(CAST(%s AS vector))", (values,)).fetchone()
        assert row == (384,)
        with pytest.raises(psycopg.DataError):
            conn.execute("SELECT CAST(%s AS vector)", (np.ones((2, 2), dtype=np.float32),))
