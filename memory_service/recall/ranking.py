"""Every number that ranks or plans a search, in one place. The ranking's were chosen by running
the evaluator on the development set (`memory-service eval`), the planning's by the benchmarks
(bench/); results in bench/RESULTS.md. Change them only with a new measurement."""

from __future__ import annotations

from dataclasses import dataclass, field

from memory_service.vocabulary import Intent, Kind

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


# What a query asks for (recall/intent.py) weighs the kinds of learning: the fused score is
# multiplied by its intent's weight for the learning's kind (1 for a kind not listed). Chosen
# with bench/intent_tuning.py (a grid of 0.6-1.4 per kind, each intent's questions of the dev
# set and of tests/data/dev_eval_extra.json, written before tuning):
# - task: a statement of the work about to start matches the last session's own summary of
#   where it stood ("Current State", a status) and narration (notes) best, while what it needs
#   is what that session learned. Task questions of both sets: MRR@10 0.81 -> 1.00 (dev) and
#   0.92 -> 1.00 (extra), R@5 0.625 -> 0.625 and 0.79 -> 0.83 (status at 0.6 was the lowest
#   tried and every weight 0.6-0.8 gave the same; mistake above 1 lost dev R@5).
# - pitfalls: the extra set's "what went wrong before X" questions R@5 0.40 -> 0.48, MRR@10
#   0.51 -> 0.71 (the dev set's only one searches mistakes alone).
# - practice, general: no weight measured better than none (practice questions of both sets
#   lost R@5 with pattern or decision above 1).
# - open_work: NOT measured, neither set asks what is open; a prior, as mild as the others,
#   so that such a question ranks next steps and status first. Measure before changing it.
INTENT_KIND_WEIGHTS: dict[str, dict[str, float]] = {
    Intent.task: {Kind.status: 0.6, Kind.note: 0.8, Kind.pattern: 1.1},
    Intent.pitfalls: {Kind.mistake: 1.3, Kind.discovery: 1.3, Kind.status: 0.8, Kind.note: 0.8},
    Intent.practice: {},
    Intent.open_work: {Kind.next_step: 1.2, Kind.status: 1.1},
    Intent.general: {},
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
    # A learning a later one replaces (learnings/supersession.py) keeps a share of its score,
    # and search then puts it below its successor when both are found; a next step a later
    # handoff listed as done is demoted less (it is still what was planned).
    superseded_factor: float = 0.5
    done_factor: float = 0.7
    # A question whose best match is below query_gate is about nothing stored: it returns
    # nothing (on the dev set every real question's best cosine is >= 0.30; off-topic ones
    # such as "recipe for sourdough bread" peak at 0.18-0.22). Otherwise a result is noise
    # below min_similarity or below relative_floor times the best cosine...
    query_gate: float = 0.27
    # ... and a question whose names (recall/intent.py: Kafka, iOS, Next.js) are all held by
    # no learning it may see is about something else unless its best match reaches its
    # intent's named gate. Measured with bench/intent_tuning.py on the dev set, the second set
    # and tests/data/off_topic.json (65 questions; 40 of them developer questions about tools
    # the sets never mention, whose best cosines, 0.24-0.53, overlap the real questions'
    # 0.32 and up, so no plain query_gate separates them): off-topic questions answered
    # 34 -> 19, wrong abstentions 0 -> 0 of 70. With any one unknown name enough: 16, but a
    # query listing several names (paths, a branch: the brief's git context) would then
    # abstain for one path the memory never saw. A general question's gate stays below the
    # closest real one (a question naming a DAW, 0.32; 0.33 abstained on it); the other
    # intents' real questions all cleared 0.55 (noise 0.40: 5, 0.45: 5, 0.55: 4).
    named_gate: float = 0.31
    intent_named_gates: dict[str, float] = field(
        default_factory=lambda: {
            Intent.pitfalls: 0.45,
            Intent.practice: 0.45,
            Intent.open_work: 0.45,
            Intent.task: 0.45,
        }
    )
    min_similarity: float = 0.15
    relative_floor: float = 0.4
    # ... unless it contains at least this share of the query's terms (an identifier search).
    min_coverage: float = 0.5
    # Candidates each leg contributes, per requested result.
    candidates_per_result: int = 5
    min_candidates: int = 50
    half_life_days: dict[str, float] = field(default_factory=lambda: dict(HALF_LIFE_DAYS))
    intent_kind_weights: dict[str, dict[str, float]] = field(
        default_factory=lambda: {i: dict(w) for i, w in INTENT_KIND_WEIGHTS.items()}
    )
    # A task statement's results (recall/rerank.py): those of other handoffs than the best
    # match's count this share of their score, and each result counts kind_repeat for every
    # result of its kind ranked above it; reordered among the first RERANK_DEPTH. Chosen with
    # bench/intent_tuning.py on the task questions of both sets: dev start-up R@5 0.625 ->
    # 0.708 in hybrid and vector mode (MRR@10 stays 1.0), the second set's 0.833 -> 0.833
    # (hybrid) and 0.792 -> 0.833 (vector); the same for other_handoff 0.5-0.8 and kind_repeat
    # 0.8-0.9 (0.7 lost the second set's R@5, the handoff alone gave 0.646 / 0.688 on dev,
    # the kinds alone 0.635 / 0.667). Not for pitfalls questions: the second set's vector
    # MRR@10 fell 0.812 -> 0.794 there.
    handoff_focus: dict[str, float] = field(default_factory=lambda: {Intent.task: 0.7})
    kind_repeat: dict[str, float] = field(default_factory=lambda: {Intent.task: 0.85})
    # ... and a status telling work finished (a "Completed" heading; recall/rerank.py) weighs
    # this instead of its intent's status weight: the task weight of 0.6 is for the last
    # session's summary of where it stood, which restates the task; what it finished is what
    # the code is now. Dev start-up R@5 0.708 -> 0.781 in both modes on top of the reordering,
    # the second set's unchanged (0.8: no gain; 1.0 and 1.2 the same).
    done_work_weight: dict[str, float] = field(default_factory=lambda: {Intent.task: 1.0})
    # Feedback (memory_service/feedback). Not tuned on the dev set (it holds no feedback): set
    # against the other factors. A learning reported outdated keeps 0.7 of its score: below
    # an otherwise equal one even with the own-project boost (x1.1) and a year's recency
    # (x0.9 at worst) on its side, yet still found by a search that matches it much better.
    # Each key that found it helpful adds 2 %, at most 5 keys: at most x1.10, the size of the
    # own-project boost, so helpfulness breaks near-ties and never outweighs relevance.
    outdated_factor: float = 0.7
    helpful_gain: float = 0.02
    helpful_cap: int = 5

    def named_gate_for(self, intent: str) -> float:
        return self.intent_named_gates.get(intent, self.named_gate)

    def kind_weights(self, intent: str) -> dict[str, float]:
        """Each kind's weight for a query of this intent."""
        weights = self.intent_kind_weights.get(intent, {})
        return {kind: float(weights.get(kind, 1.0)) for kind in self.half_life_days}


DEFAULT_RANKING = Ranking()
# How many results a reordered search (handoff_focus) fetches, scored as usual, to pick its k
# from; its candidates stay those of the k asked for.
RERANK_DEPTH = 50


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
# ... but not without end: a filter that leaves a small share of a big table (one project of
# 25,000 among 1M learnings) made the walk visit up to pgvector's default of 20,000 tuples for
# the searches far from that project: HNSW p95 ~125 ms at 1M (bench/RESULTS.md, issue 21
# point 3). Past this many the scan returns what it found; the text leg still adds its own.
HNSW_MAX_SCAN_TUPLES = 5_000

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
# --- Prompt-time recall (POST /v1/recall, recall/prompt.py) -----------------------------------
# Said unasked, on every prompt of a session, so the floor is strict: a wrong injection costs
# the agent's attention on every turn, a missed one only what `search` would have found.
# Measured with `python -m bench.prompt_eval [--sweep]` on the dev set and
# tests/data/prompts_eval.json (65 prompts that must get nothing, 42 work prompts that should
# surface a dev-set learning).
PROMPT_RANKING = Ranking(
    # A prompt whose best match is under this cosine is about nothing stored. Swept 0.35-0.50:
    # the work prompts' hit rate stays 0.93 throughout (they name what they are about), noise
    # on the 65 nothing-prompts falls 4.6 % (0.35), 3.1 % (0.40-0.42), 1.5 % (0.45), 0 (0.50),
    # while the dev set's own 40 questions, phrased away from the stored words on purpose, get
    # a relevant learning 60 %, 48 %, 48 %, 45 %, 35 % of the time (relative floor 0.8).
    # 0.45: one noisy prompt in 65, and no work prompt lost.
    query_gate=0.45,
    # Each result must reach this cosine and this share of the best one: 0.7 / 0.8 / 0.9 of
    # the best gave a precision of 0.47 / 0.66 / 0.80 on the work prompts, for a hit rate of
    # 0.93 / 0.93 / 0.90 (min_similarity does not bind above: 0.9 x 0.45 > 0.35).
    min_similarity=0.35,
    relative_floor=0.9,
    # No way around the cosine floor by word overlap: a long prompt shares common words
    # ("test", "fix", "add") with many learnings (above 1: never).
    min_coverage=1.01,
    # Results in the search's order: the task reordering (recall/rerank.py) was measured on
    # search questions, not here.
    handoff_focus={},
)
# The candidates asked of the search, before flagged and already shown learnings are left out.
PROMPT_CANDIDATES = 10
# A prompt with fewer words (letters or digits) than this is small talk or a reply
# ("yes", "go ahead", "run it again").
PROMPT_MIN_WORDS = 4
# What a session was given stays given this long (an agent session rarely lasts longer; a
# resumed one may see a learning again); expired rows are deleted this many at a time.
PROMPT_SESSION_TTL_S = 24 * 3600
PROMPT_EXPIRED_BATCH = 100
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


# Freshness (recall/freshness.py) multiplies a learning's score when the brief orders what it
# shows: a learning whose cited file is gone ranks below an otherwise equal one, one whose file
# changed a little lower than one still verified. NOT measured (the retrieval sets' learnings
# carry no git evidence): a prior, mild enough that freshness only reorders near-equals.
FRESHNESS_FACTORS: dict[str, float] = {"missing": 0.85, "changed": 0.95}
