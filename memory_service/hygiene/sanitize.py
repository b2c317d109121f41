"""Make untrusted handoff text safe to store, embed and print in someone else's terminal.

Agents paste terminal output into handoffs. Escape sequences replayed later could recolour,
retitle, move the cursor or hide text in the reader's terminal, and stray control bytes break
tokenisation and JSON consumers, so they are removed before anything else looks at the text.
"""

from __future__ import annotations

import re

# ECMA-48 escape sequences. OSC and string payloads stop at a newline when unterminated so that a
# lone ESC typed by accident cannot swallow the rest of the handoff.
_ANSI_ESCAPE = re.compile(
    r"""
    \x1b\[ [0-?]* [ -/]* [@-~]              # CSI: colours, cursor movement, erase
    | \x1b\] [^\x07\x1b\n]* (?:\x07|\x1b\\)? # OSC: window title, hyperlinks; BEL or ST ends it
    | \x1b[PX^_] [^\x1b\n]* (?:\x1b\\)?      # DCS, SOS, PM, APC strings
    | \x1b[ -/]+ [0-~]                       # nF: character set designation such as ESC ( B
    | \x1b[0-~]                              # any other two-byte escape (Fp, Fe, Fs)
    | \x9b [0-?]* [ -/]* [@-~]               # CSI introduced by the 8-bit C1 byte
    """,
    re.VERBOSE,
)

# C0 and C1 controls except tab and newline (carriage returns are normalised before this runs).
# Bidi embedding, override and isolate marks are removed too: they make text display in a
# different order than it is stored ("Trojan Source"), which matters for text shown to agents.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")

_LINE_BREAK = re.compile("\r\n?|[\u2028\u2029]")


def sanitize_text(s: str) -> str:
    """Return `s` without escape sequences or control characters, with `\\n` line endings."""
    s = _LINE_BREAK.sub("\n", s)
    s = _ANSI_ESCAPE.sub("", s)
    return _CONTROL.sub("", s)
