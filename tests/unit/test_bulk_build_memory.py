"""The index build's memory grows with the table, within bounds (bulkload.build_memory_mb)."""

from memory_service.bulkload import (
    BUILD_MEMORY_MAX_MB,
    BUILD_MEMORY_MIN_MB,
    GRAPH_BYTES_PER_LEARNING,
    build_memory_mb,
)


def test_small_tables_get_the_floor() -> None:
    assert build_memory_mb(-1) == BUILD_MEMORY_MIN_MB  # never analyzed: reltuples is -1
    assert build_memory_mb(0) == BUILD_MEMORY_MIN_MB
    assert build_memory_mb(100_000) == BUILD_MEMORY_MIN_MB  # ~147 MB of graph


def test_the_graph_of_a_large_table_fits() -> None:
    mb = build_memory_mb(1_000_000)
    assert mb * 2**20 >= 1_000_000 * GRAPH_BYTES_PER_LEARNING
    assert BUILD_MEMORY_MIN_MB < mb < BUILD_MEMORY_MAX_MB


def test_never_past_the_cap() -> None:
    assert build_memory_mb(50_000_000) == BUILD_MEMORY_MAX_MB
