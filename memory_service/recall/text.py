"""What text of a learning is embedded. The stored `text` stays the bullet as written; the
embedded text adds the context that makes a bare bullet findable."""

from __future__ import annotations

KIND_LABELS = {
    "decision": "Decision",
    "mistake": "Mistake to avoid",
    "pattern": "Pattern to follow",
    "assumption": "Assumption",
    "discovery": "Discovery",
    "next_step": "Next step",
    "status": "Status",
    "note": "Note",
}


def embedding_text(kind: str, text: str, *, section: str = "", topic: str | None = None) -> str:
    return f"{KIND_LABELS.get(kind, kind)}: {text}"
