"""Embeddings on the wire: sent to PostgreSQL in pgvector's binary format.

pgvector's own SQLAlchemy type sends a vector as text: 384 floats formatted in Python (~0.2 ms
a vector) and parsed again by PostgreSQL. A write formats every learning's vector twice (the
row, the near-duplicate lookup) and a search its query's. Here a numpy array is sent as the
binary `vector` (a 4-byte header and the big-endian float32s, ~2 us), and a list of them as a
binary `vector[]`. Every connection of the service's engines learns the type's oid when it
opens (`register`); results are still read as pgvector's text, as before."""

from __future__ import annotations

import logging
import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector.sqlalchemy import Vector
from psycopg.adapt import Dumper
from psycopg.pq import Format, TransactionStatus
from psycopg.types import TypeInfo
from psycopg.types.array import ListBinaryDumper

from memory_service.config import EMBEDDING_DIMENSIONS

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">HH")  # dimensions, unused


class _BinaryVectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        values = np.asarray(obj, dtype=">f4")
        if values.ndim != 1:
            raise psycopg.DataError(f"a vector must be one-dimensional, not {values.shape}")
        return _HEADER.pack(values.shape[0], 0) + values.tobytes()


class _TextVectorDumper(Dumper):
    """Only where text is asked for explicitly; the binary dumper is the default."""

    format = Format.TEXT

    def dump(self, obj: Any) -> bytes:
        values = np.asarray(obj, dtype=np.float32).tolist()
        return ("[" + ",".join(map(repr, values)) + "]").encode()


class VectorList(list[Any]):
    """Embeddings as one `vector[]` parameter, sent binary (a plain list goes as text)."""


def _adapt(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], info: Any) -> None:
    if info is None:
        # No pgvector in this database yet (before the first migration): numpy arrays stay
        # unadaptable on this connection, and saying so is better than sending them wrong.
        log.debug("no `vector` type in this database; embeddings cannot be sent on it")
        return
    info.register(conn)  # so a list of vectors is sent as vector[]
    for base in (_TextVectorDumper, _BinaryVectorDumper):  # the last one is the default
        conn.adapters.register_dumper(np.ndarray, type(base.__name__, (base,), {"oid": info.oid}))
    conn.adapters.register_dumper(VectorList, ListBinaryDumper)


async def register_async(conn: psycopg.AsyncConnection[Any]) -> None:
    info = await TypeInfo.fetch(conn, "vector")
    if conn.info.transaction_status == TransactionStatus.INTRANS:
        await conn.rollback()  # the lookup's own transaction; connections start idle
    _adapt(conn, info)


def register(conn: psycopg.Connection[Any]) -> None:
    """For a plain psycopg connection (benchmarks, tools)."""
    info = TypeInfo.fetch(conn, "vector")
    if conn.info.transaction_status == TransactionStatus.INTRANS:
        conn.rollback()
    _adapt(conn, info)


def as_param(values: Any) -> npt.NDArray[np.float32]:
    """An embedding as a statement parameter (sent binary)."""
    return np.asarray(values, dtype=np.float32)


def as_params(rows: Any) -> VectorList:
    """Embeddings as one `vector[]` parameter (sent binary)."""
    return VectorList(as_param(row) for row in rows)


class BinaryVector(Vector):
    """pgvector's column type, bound as a numpy array (sent binary) instead of as text."""

    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: Any) -> Any:
            return None if value is None else as_param(value)

        return process


def hnsw_order(column: str, query: str) -> str:
    """The distance the HNSW index is built on (migration 0004: half-precision copies of the
    vectors); an ORDER BY over it can walk the index. Scores use the full-precision column."""
    return (
        f"CAST({column} AS halfvec({EMBEDDING_DIMENSIONS})) "
        f"<=> CAST({query} AS halfvec({EMBEDDING_DIMENSIONS}))"
    )
