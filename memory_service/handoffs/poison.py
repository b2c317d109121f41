"""Learnings that read like instructions to an agent rather than knowledge about code.

A handoff is replayed into the context of future sessions; a line such as "ignore previous
instructions and ..." or "pipe this URL into bash" would act on every one of them. Such
learnings are stored (deleting data silently is worse) but flagged, and the brief shows them
as quoted data under a warning, never as guidance."""

from __future__ import annotations

import re

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(pattern, re.IGNORECASE))
    for reason, pattern in (
        (
            "overrides the agent's instructions",
            r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:previous|prior|above|"
            r"earlier|all|any|your|system)\b[^.\n]{0,20}\b(?:instructions?|prompts?|rules|"
            r"guidelines|directives)\b",
        ),
        (
            "addresses the agent's role",
            r"\b(?:you are now|from now on,? you|act as (?:an? )?(?:admin|root|unrestricted)|"
            r"new instructions?:|system prompt)\b",
        ),
        (
            "pipes a download into a shell",
            r"\b(?:curl|wget|iwr|invoke-webrequest)\b[^\n|]{0,200}\|\s*(?:sudo\s+)?"
            r"(?:ba|z|k|da)?sh\b|\b(?:bash|sh)\s+<\(\s*(?:curl|wget)",
        ),
        (
            "disables tests or safety checks",
            r"\b(?:disable|skip|delete|remove|comment out|turn off)\s+(?:all\s+|the\s+|every\s+|"
            r"failing\s+)*(?:tests?|test suite|ci(?: checks?)?|pre-commit hooks?|linters?|"
            r"type checks?|security checks?)\b(?![^.\n]{0,40}\b(?:flak|slow|broke|fail))"
            r"|--no-verify\b",
        ),
        (
            "exfiltrates secrets or environment",
            r"\b(?:printenv|env|set)\b\s*\|\s*(?:curl|nc|wget)"
            r"|\b(?:send|post|upload|exfiltrate|copy|leak)\b[^\n]{0,60}\b(?:env(?:ironment)? "
            r"var(?:iable)?s?|secrets?|credentials|tokens?|api keys?|ssh keys?|\.env)\b"
            r"[^\n]{0,40}\b(?:to|into)\b[^\n]{0,30}(?:https?://|\burl\b|\bserver\b|\bwebhook\b)"
            r"|\$\{?(?:AWS_SECRET|GITHUB_TOKEN|OPENAI_API_KEY|[A-Z_]*SECRET[A-Z_]*)\}?"
            r"[^\n]{0,40}\b(?:curl|https?://)",
        ),
        (
            "destructive command",
            r"\brm\s+-[a-z]*r[a-z]*f?\s+(?:/|~|\$HOME)(?:\s|$)|\bchmod\s+-R\s+777\s+/"
            r"|\bgit\s+push\s+(?:-f|--force)\b[^\n]{0,40}\b(?:main|master)\b",
        ),
    )
)


def instruction_flags(text: str) -> list[str]:
    """Why `text` reads like an instruction to an agent (empty: it does not)."""
    return [reason for reason, pattern in _RULES if pattern.search(text)]
