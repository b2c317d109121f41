"""When the vector leg scans the filtered rows exactly instead of walking the HNSW index."""

from memory_service.recall.plan import exact_scan_is_cheaper
from memory_service.recall.ranking import EXACT_SCAN_ALWAYS_ROWS, EXACT_SCAN_MAX_ROWS


def test_small_sets_are_always_scanned_exactly() -> None:
    assert exact_scan_is_cheaper(0, 0)
    assert exact_scan_is_cheaper(EXACT_SCAN_ALWAYS_ROWS, EXACT_SCAN_ALWAYS_ROWS)


def test_an_unfiltered_search_of_a_mid_sized_table_uses_the_index() -> None:
    # 10k learnings, no filter: exact 9.7 ms vs HNSW 3.9 ms (bench/RESULTS.md).
    assert not exact_scan_is_cheaper(10_000, 10_000)


def test_a_selective_filter_on_a_large_table_scans_exactly() -> None:
    # One project of 40 at 100k learnings: HNSW would need many rounds of iterative scanning.
    assert exact_scan_is_cheaper(2_500, 100_000)
    # One kind of four: wide enough for the index.
    assert not exact_scan_is_cheaper(25_000, 100_000)


def test_never_more_than_the_cap() -> None:
    assert not exact_scan_is_cheaper(EXACT_SCAN_MAX_ROWS + 1, 100_000_000)
