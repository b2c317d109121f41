"""The knobs of the ranking, in one place. Each value was chosen by running the evaluator on the
development set (`memory-service eval`, results in bench/RESULTS.md); change them only with a
new measurement."""

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
