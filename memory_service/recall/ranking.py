"""Every number that ranks or plans a search, in one place. The ranking's were chosen by running
the evaluator on the development set (`memory-service eval`), the planning's by the benchmarks
(bench/); results in bench/RESULTS.md. Change them only with a new measurement."""

from __future__ import annotations

from dataclasses import dataclass, field

from memory_service.vocabulary import Kind

# How fast a learning's weight fades, by kind: a status line is stale in weeks, a mistake to
# avoid stays worth knowing for a year.
HALF_LIFE_DAYS: dict[str, float] = {
    Kind.mistake: 365.0,
    Kind.decision: 270.0,
    Kind.pattern: 365.0,
    Kind.assumption: 120.0,
    Kind.discovery: 240.0,
    Kind.next_step: 45.0,
    Kind.status: 60.0,
    Kind.note: 120.0,
}


@dataclass(frozen=True)
class Ranking:
    # hybrid relevance = vector_weight * cosine + text_weight * ts_rank_cd/(1 + ts_rank_cd)
    vector_weight: float = 1.0
    # "coverage": share of the query's terms the learning contains (raised to coverage_power);
    # "rank": ts_rank_cd of the OR-ed query.
    text_signal: str = "coverage"
    coverage_power: float = 1.0
    text_weight: float = 0.3
    # Recency multiplies relevance by floor + (1 - floor) * 0.5 ** (age / half-life): an old
    # but relevant learning keeps most of its score.
    recency_floor: float = 0.9
    # 1 + occurrences_weight * ln(occurrences): knowledge seen in several handoffs ranks higher.
    occurrences_weight: float = 0.05
    own_project_boost: float = 1.1
    # A question whose best match is below query_gate is about nothing stored: it returns
    # nothing (on the dev set every real question's best cosine is >= 0.30; off-topic ones
    # such as "recipe for sourdough bread" peak at 0.18-0.22). Otherwise a result is noise
    # below min_similarity or below relative_floor times the best cosine...
    query_gate: float = 0.27
    min_similarity: float = 0.15
    relative_floor: float = 0.4
    # ... unless it contains at least this share of the query's terms (an identifier search).
    min_coverage: float = 0.5
    # Candidates each leg contributes, per requested result.
    candidates_per_result: int = 5
    min_candidates: int = 50
    half_life_days: dict[str, float] = field(default_factory=lambda: dict(HALF_LIFE_DAYS))


DEFAULT_RANKING = Ranking()


# The vector leg scans the rows behind the filters exactly (recall 1.0, ~1 us a row through
# the btree) when that is cheaper than HNSW with iterative scanning: always up to
# EXACT_SCAN_ALWAYS_ROWS, and for a selective filter (which HNSW pays for with more rounds of
# scanning) while rows^2 <= EXACT_SCAN_COST_RATIO x all rows of the table, never above
# EXACT_SCAN_MAX_ROWS. Measured at 10k learnings: exact 9.7 ms vs HNSW 3.9 ms unfiltered;
# 2.5k rows behind a filter, 4.0 vs 4.2 ms (bench/RESULTS.md).
EXACT_SCAN_ALWAYS_ROWS = 4_000
EXACT_SCAN_COST_RATIO = 1_000
EXACT_SCAN_MAX_ROWS = 20_000
# The HNSW beam. At 100k learnings the vector leg's 50 candidates hold 99.7 % of the exact top
# 10 at 100 (without a filter and with a kind filter; 100 % at 200, 97.8 % at pgvector's default
# of 40), for ~1 ms less per search than 200 (bench/levers.py ef; bench/RESULTS.md).
HNSW_EF_SEARCH = 100
# The HNSW scan filters after the fact; iterative scanning keeps going until enough rows pass
# the filters instead of returning a handful.
HNSW_ITERATIVE_SCAN = "relaxed_order"

# Common terms: a query term found in more than this share of all learnings, and in more than
# COMMON_TERM_ROWS of them, is left out of the full-text candidate lookup (not out of the
# scores): the lookup ranks every row it finds, so its cost follows how many rows a term
# matches. Only once the table is big enough for the lookup to cost something, so small
# corpora (and the evaluation sets) rank as before.
COMMON_TERM_SHARE = 0.005
COMMON_TERM_ROWS = 500
# In hybrid mode the vector leg finds what a narrower text lookup misses: terms in more than
# 0.2 % of learnings (and 200 rows) are left out there. At 100k learnings that cut PostgreSQL's
# CPU per hybrid search from 16 to 12 ms with the dev set's hybrid scores unchanged inside that
# database (text mode alone lost 0.025 R@5 with it, so text mode keeps 0.5 %). The row floor
# matters below 100k: with only the share, and pruning from 20k rows on, a 10k table's
# lookup ranked every row holding any query term (5-19 ms, more than at 100k; RESULTS.md).
HYBRID_COMMON_TERM_SHARE = 0.002
HYBRID_COMMON_TERM_ROWS = 200
COMMON_TERMS_MIN_ROWS = 5_000

# How long a process keeps the statistics it plans with (recall/stats.py): per-team counts a
# minute (counting on every search cost up to 30 ms at 100k learnings), the common terms ten
# minutes (they follow ANALYZE, which runs less often); counts for at most MAX_TEAMS teams.
STATS_TTL_S = 60.0
COMMON_TERMS_TTL_S = 600.0
STATS_MAX_TEAMS = 4096

# The brief's search: this many results of every kind, of which the first BRIEF_LEARNINGS of
# the brief's kinds are offered to the budget (and as many of the project's latest without a
# task).
BRIEF_SEARCH_RESULTS = 40
BRIEF_LEARNINGS = 20

# The brief without a task: its query is built from the checkout (recall/context.py) from at
# most CONTEXT_MAX_COMMITS commit subjects, CONTEXT_MAX_PATHS changed paths (of which the
# CONTEXT_MAX_PATH_WORDS most shared words), CONTEXT_MAX_NEXT_STEPS next steps of the handoffs
# delivered with it, each part cut to CONTEXT_PART_CHARS and the whole to CONTEXT_QUERY_CHARS
# (all-MiniLM-L6-v2 reads 256 tokens, about 1,000 characters of such text). The path words
# carry weight: without them the dev brief set's recall@5 with git context fell from 0.57 to
# 0.49 (`memory-service eval-brief tests/data/dev_brief_eval.json`).
CONTEXT_MAX_COMMITS = 5
CONTEXT_MAX_PATHS = 30
CONTEXT_MAX_PATH_WORDS = 12
CONTEXT_MAX_NEXT_STEPS = 3
CONTEXT_PART_CHARS = 200
CONTEXT_QUERY_CHARS = 1000
# The checkout's query is a bag of words, so it needs a stricter floor than a question: the
# brief abstains (and shows the project's most repeated learnings instead) unless its best
# candidate scores BRIEF_CHECKOUT_MIN_SCORE, and then offers only those scoring
# BRIEF_CHECKOUT_KEEP_SCORE. On tests/data/dev_brief_eval.json (`memory-service eval-brief`)
# the best candidate of the 27 checkouts with relevant learnings that the search's own gate
# let through scored 0.39-0.93 (24 of them 0.41 or more); of the 8 off-topic checkouts
# (an emoji picker, a credits screen, README badges, dark mode, ...) 3 were gated and the
# others peaked at 0.24-0.46 (4 of 5 below 0.39). Relevant learnings below the first scored
# down to 0.32; far-fetched matches from other projects sat at 0.21-0.30. With these floors:
# 3 of 28 relevant checkouts abstain (one by the gate), 1 of 8 off-topic ones does not.
# Lowering the keep floor to 0.25, or the search's relative floor to 0.2 for this query,
# found no more relevant learnings: what is missed ranks low, it is not cut.
BRIEF_CHECKOUT_MIN_SCORE = 0.40
BRIEF_CHECKOUT_KEEP_SCORE = 0.30
