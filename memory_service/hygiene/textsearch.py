"""Text made safe for PostgreSQL's text-search parser before it gets there.

The default parser (the one `to_tsvector` and `plainto_tsquery` use) backtracks: where a word
may start it tries the longer token types (host, e-mail, file path, URL, version number,
hyphenated word, tag, HTML comment) and, when one fails, emits a short token and starts again
a little further on. Three shapes make that quadratic or worse. Measured on PostgreSQL 18
with `to_tsvector('english', ...)`, in CPU time of the backend:

- an HTML comment that never closes: each `<!--` scans to the end of the text for its `-->`.
  240 KB of `<!--` took 285 s (12 s at 50 KB).
- a long run of non-space characters with many places a token may start, each trying a type
  that fails only at the end of the run: `a_a_a_...` (a host that never gets its domain),
  `./././...`, `~/~/...` (file paths), `_1.2_1.2...`. 8 KB of `a_` took 1.8 s, 240 KB over
  400 s.
- `@` after `@` in one run (`a1@a1@...`): each may open an e-mail address whose host is read
  by a parser of its own, nested once per further `@`.

`for_text_search` cuts all three and leaves the rest alone: a `<!--` with no `-->` after it
gets a space after its `<`, and a run of non-space characters gets a space where it passes
one of the limits below, right after a `/`, `_`, `.`, ... so that it reads like a line wrap.
Then any text costs the parser linear time: 240 KB of the worst shapes found (by fuzzing, see
tests/test_costly_inputs.py) 0.4 s, ordinary prose 0.1 s, `b b b ...` 0.2 s. Ordinary text is
untouched (nothing in the development set), and what is stored reads as it was written, with a
few more spaces. It is idempotent: text it returned comes back unchanged.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

# A run's limits. The parser's work on a run grows with its places where a token may start x
# its length: 240 KB of runs of 64 characters with 32 starts cost 0.53 s, with 16 starts 0.35 s,
# and with 16 starts longer runs cost no more. The longest word of the development set (a URL)
# has 88 characters and 15 starts; a run is cut at 200 only in case a shape not found yet costs
# more than its starts say.
MAX_RUN = 200
MAX_STARTS = 16
# Most `@` in one run (`npm` specs such as `@scope/pkg@1.2` have two). 240 KB of `a1@a1@...`:
# 0.86 s with 16 starts a run, 0.2 s with two `@`.
MAX_ATS = 2
# Where the parser may start a token: a letter or digit, or one of `~/.-+&<` ("s" below),
# after anything but a letter or digit. Found on a copy of the run with one class letter per
# character: "a" letter, digit or combining mark, "s" those six, "x" anything else; a stretch
# from one start to the next is then `(?:a+s?|s)x*`.
_ASCII_CLASSES = str.maketrans(
    {chr(c): "a" if chr(c).isalnum() else "s" if chr(c) in "~/.-+&<" else "x" for c in range(128)}
)
_NON_ASCII_ALNUM = re.compile(r"(?![\x00-\x7f])[^\W_]|[\u0300-\u036f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# A length cut is placed after the last of these within the final quarter of the window.
_BREAK_AFTER = frozenset("/_.-:@?&=#,;+~\\|")
# Up to MAX_STARTS stretches, from a start on (every match begins at one: no backtracking).
_STARTS = re.compile(rf"(?:(?:a+s?|s)x*){{1,{MAX_STARTS}}}")
# Runs that may break a limit (shorter ones have at most MAX_STARTS starts).
_RUN = re.compile(rf"\S{{{MAX_STARTS + 1},}}|[^\s@]*@[^\s@]*@[^\s@]*@\S*")
_OPEN_COMMENT = "<!--"
_CLOSE_COMMENT = "-->"


def _cut_by_length(run: str) -> list[str]:
    pieces = []
    start = 0
    while len(run) - start > MAX_RUN:
        end = start + MAX_RUN
        for i in range(end, end - MAX_RUN // 4, -1):
            if run[i - 1] in _BREAK_AFTER:
                end = i
                break
        # Never strand a combining mark at the start of the next piece.
        while end - start > 1 and unicodedata.combining(run[end]):
            end -= 1
        pieces.append(run[start:end])
        start = end
    pieces.append(run[start:])
    return pieces


def _classes(run: str) -> str:
    return _NON_ASCII.sub("x", _NON_ASCII_ALNUM.sub("a", run.translate(_ASCII_CLASSES)))


def _break_run(match: re.Match[str]) -> str:
    pieces = []
    for piece in _cut_by_length(match.group(0)):
        # Then a cut before every MAX_STARTS-th start: right after a character that is not a
        # letter or digit, so it reads like a line wrap.
        classes = _classes(piece)
        first = len(classes) - len(classes.lstrip("x"))
        cuts = [m.start() for m in _STARTS.finditer(classes, first)][1:]
        # And before every MAX_ATS-th `@` after the first MAX_ATS.
        if piece.count("@") > MAX_ATS:
            ats = [i for i, char in enumerate(piece) if char == "@"]
            cuts = sorted({*cuts, *ats[MAX_ATS::MAX_ATS]} - {0})
        bounds = [0, *cuts, len(piece)]
        pieces += [piece[a:b] for a, b in itertools.pairwise(bounds)]
    return " ".join(pieces)


def _close_open_comments(text: str) -> str:
    # A `<!--` that starts at least 4 characters before the last `-->` is closed by it (or
    # by an earlier one): the parser reads up to it once and moves on. The others are opened
    # for good.
    cut = max(0, text.rfind(_CLOSE_COMMENT) - 3)
    return text[:cut] + text[cut:].replace(_OPEN_COMMENT, "< !--")


def for_text_search(text: str) -> str:
    """`text` as the text-search parser can read in linear time (see the module docstring)."""
    text = _RUN.sub(_break_run, text)
    if _OPEN_COMMENT in text:
        text = _close_open_comments(text)
    return text
