"""What text of a learning is embedded. The stored `text` stays the bullet as written; the
embedded text adds the context that makes a bare bullet findable."""

from __future__ import annotations

from memory_service.vocabulary import Kind

KIND_LABELS: dict[str, str] = {
    Kind.decision: "Decision",
    Kind.mistake: "Mistake to avoid",
    Kind.pattern: "Pattern to follow",
    Kind.assumption: "Assumption",
    Kind.discovery: "Discovery",
    Kind.next_step: "Next step",
    Kind.status: "Status",
    Kind.note: "Note",
}


def embedding_text(kind: str, text: str, *, section: str = "") -> str:
    """`<kind label> (<section heading>): <bullet>`.

    The handoff's topic is left out on purpose, although it helps search a little (dev set,
    vector recall@5 0.709 with it, 0.671 without): with it, the same bullet sent from two
    handoffs about different topics embeds far apart (median cosine 0.71) and near-duplicates
    across projects would never merge. Without it the same bullet under another heading stays
    at median 0.99 while distinct bullets stay below 0.80. (Matching the topic in full-text
    search instead did not help either: hybrid recall@5 0.705 vs 0.712.) bench/RESULTS.md."""
    label = KIND_LABELS.get(kind, kind)
    return f"{label} ({section}): {text}" if section else f"{label}: {text}"
