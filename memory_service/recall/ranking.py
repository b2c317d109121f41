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

# Command-time warnings (recall/command.py, POST /v1/check). A command's terms (recall/shell.py)
# are searched among mistakes and discoveries, CHECK_CANDIDATES deep; a result is a warning
# only when one of the terms is literally in it and its search score is at least
# CHECK_MIN_SCORE. Measured with `python -m bench.command_eval --sweep`
# (tests/data/commands_eval.json against a team holding the dev set): with the literal rule,
# the best-scoring literal match of 427 everyday commands (each checked across the team and
# in each of its 5 projects; 60 of them written after the tuning, as a held-out check) scored
# 0.27, the commands written to match dev-set mistakes 0.32-0.9; hits 24/30 at 0.3, 23 at
# 0.45, 21 at 0.5, 14 at 0.7, false alarms 0 from 0.3 on.
# 0.45 keeps a margin for commands nobody measured: before the literal rule ignored names
# every project has and names inside dotted ones, `rm -rf node_modules` matched a mistake at
# 0.78 and `pip install httpx` at 0.42.
CHECK_CANDIDATES = 10
CHECK_MIN_SCORE = 0.45
