"""Replace secrets and personal data in handoff text with typed placeholders.

Agents paste whatever they saw into handoffs: connection strings, `.env` lines, tokens from a
failing `curl`. Stored learnings are shared with every session of the team, so secrets are
replaced by `[REDACTED:<kind>]` before anything is stored or embedded, and search queries are
redacted the same way before they are audited. The kind stays visible so the next reader still
knows *what* was there ("the URL had a password inline") without the value.

`redact()` is the single entry point. It runs stages in a fixed order, each on the text the
previous ones left:

1. formats that identify themselves (formats.py): private key blocks first (their base64 body
   would otherwise be chopped up by narrower rules), JWTs, then provider tokens by prefix or
   shape, partly through detect-secrets' plugins;
2. base64 runs whose decoded text holds a secret (a Kubernetes `.dockerconfigjson`);
3. context (context.py): URL credentials, commands, auth headers and cookies, `key = value`
   assignments, XML elements, command-line flags, then prose ("the token is ...");
4. e-mail addresses last.

Every quantifier of every pattern is bounded (a test walks them all): this runs on untrusted
input inside the request path, and an unbounded pattern such as `[\\w.]+@` is quadratic on a
long run of word characters.
"""

from __future__ import annotations

from memory_service.hygiene.redaction import context, formats
from memory_service.hygiene.redaction.engine import Stage, apply, placeholder

__all__ = ["placeholder", "redact"]

_INNER: tuple[Stage, ...] = (*formats.stages(), *context.stages())


def _inner(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    apply(text, _INNER, counts)
    return counts


_STAGES: tuple[Stage, ...] = (
    *formats.stages(),
    context.encoded(_inner),
    *context.stages(),
    context.EMAIL,
)


def redact(text: str) -> tuple[str, dict[str, int]]:
    """Replace every secret in `text` with `[REDACTED:<kind>]`.

    Returns the new text and how many replacements each kind got (kinds with none are absent).
    """
    counts: dict[str, int] = {}
    return apply(text, _STAGES, counts), counts
