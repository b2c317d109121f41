"""Text as an agent or a checker should see it, whatever the writer did to disguise it.

Two jobs, both pure and cheap (no network, standard library only):

- `normalize` gives the instruction checks (`poison.py`) one spelling of text that can be written
  many ways: Unicode NFKC (fullwidth letters, ligatures, mathematical alphabets), HTML character
  references, invisible characters removed (zero-width, bidi controls, variation selectors),
  Unicode tag characters read as the ASCII they hide, dashes and quotes made ASCII, and Cyrillic
  or Greek letters that look Latin folded to Latin inside otherwise Latin words. `fold_to_latin`
  goes further for a second look: every look-alike folded, accents and case dropped, digits in
  words read as letters ("1gn0re") and s p a c e d letters joined.
- `strip_hidden_markup` removes what a person reading the rendered markdown does not see but an
  agent reading the raw text does: HTML comments (an unterminated one hides the rest of the
  text, as it does when rendered), `<details>` blocks, elements marked hidden, scripts and
  styles, markdown "comment" link definitions (`[//]: # (...)`) and invisible characters.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

# Zero-width and joiner characters, bidi embeddings/overrides/isolates and marks, word joiner
# and invisible operators, soft hyphen, Hangul fillers, variation selectors, byte order mark.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
# Tag characters (U+E0020-U+E007E) mirror printable ASCII and render as nothing: a way to hide a
# whole sentence in what looks like an empty string. The checks read them as the ASCII.
_TAG_TO_ASCII = {cp: cp - 0xE0000 for cp in range(0xE0020, 0xE007F)}

_PUNCT = str.maketrans(
    {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2043": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u02bc": "'",
        "\u2044": "/",
        "\u2215": "/",
        "\u29f8": "/",
        "\u2216": "\\",
        "\u02dc": "~",
        "\u223c": "~",
        "\u2053": "~",
    }
)

# Letters of other scripts that look like Latin ones (a hand-made subset of Unicode's
# confusables: Cyrillic, Greek, Armenian, Cherokee and Latin variants that NFKC keeps).
_LOOKALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "и": "u", "к": "k", "м": "m", "н": "h",
    "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ь": "b", "г": "r",
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "З": "3", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ї": "I", "Ј": "J",
    "Һ": "H", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I", "Ү": "Y", "ү": "y", "Ь": "b",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j", "ς": "c",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    # Armenian
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "ա": "w", "զ": "q",
    # Cherokee capitals
    "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C", "Ꭰ": "D", "Ꭼ": "E", "Ꮐ": "G", "Ꮋ": "H", "Ꭻ": "J", "Ꮶ": "K",
    "Ꮮ": "L", "Ꮇ": "M", "Ꮲ": "P", "Ꮪ": "S", "Ꭲ": "T", "Ꮩ": "V", "Ꮃ": "W", "Ꮓ": "Z",
    # Latin variants NFKC leaves alone
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ʟ": "l", "ɴ": "n", "ʀ": "r",
    "ꜱ": "s", "ᴀ": "a", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ᴏ": "o", "ᴘ": "p", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ƅ": "b", "ɢ": "g", "ʜ": "h", "ᴋ": "k", "ᴍ": "m",
}  # fmt: skip
_FOLD = str.maketrans(_LOOKALIKES)
_WORD = re.compile(r"[^\W\d_]+")
# Emphasis or code marks inside a word: "ig**nor**e", "dis`re`gard".
_INNER_MARKUP = re.compile(r"(?<=[^\W\d_])[*~`]+(?=[^\W\d_])")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
# Words of letters with a few of 0 1 3 4 5 7 @ among them ("1gn0re", "prev10us"), not version
# numbers or hashes ("sha256", "v1.2", "0x7f").
_LEET_WORD = re.compile(
    r"(?<![\w@$])(?=(?:[a-z_]{0,30}[013457@]){1,4}[a-z_]{0,30}(?![\w@$]))(?=[\w@]{0,30}[a-z]{2})"
    r"[a-z_013457@]{4,40}(?![\w@$])"
)
# Three or more single letters separated by one space, dot, dash, underscore or asterisk.
_SPACED = re.compile(r"(?<![^\W_])(?:[^\W\d_][ .\-_*]){2,}[^\W\d_](?![^\W_])")


# Latin letters that look Cyrillic, for Cyrillic words with Latin letters mixed in.
_TO_CYRILLIC = str.maketrans(
    {
        "a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "k": "к",
        "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О",
        "P": "Р", "T": "Т", "X": "Х", "Y": "У",
    }
)  # fmt: skip


def _fold_mixed_word(m: re.Match[str]) -> str:
    """A word mixing Latin letters with look-alikes of another script is rewritten in the
    script most of its letters are in: "ignоre" (Cyrillic о) -> "ignore", "игнoрируй" (Latin
    o) -> "игнорируй". Words in one script stay as they are."""
    word = m.group()
    latin = sum(c.isascii() for c in word)
    if latin == 0 or latin == len(word):
        return word
    if latin * 2 >= len(word):
        return word.translate(_FOLD)
    if all(c.isascii() or "CYRILLIC" in unicodedata.name(c, "") for c in word):
        return word.translate(_TO_CYRILLIC)
    return word


def normalize(text: str) -> str:
    """One spelling of `text` for the checks: see the module's docstring."""
    if "&" in text:
        text = html.unescape(text)
    text = text.translate(_TAG_TO_ASCII)
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_PUNCT)
    return text if text.isascii() else _WORD.sub(_fold_mixed_word, text)


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def fold_to_latin(text: str) -> str:
    """`normalize`d text with every look-alike folded to Latin, accents and case dropped, digits
    inside words read as letters and spaced-out letters joined: a second look for the checks,
    never text to show anyone."""
    if not text.isascii():
        text = _strip_accents(text.translate(_FOLD))
    text = text.lower()
    text = _INNER_MARKUP.sub("", text)
    text = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group()), text)
    return _LEET_WORD.sub(lambda m: m.group().translate(_LEET), text)


# --------------------------------------------------------------------------------------------
# Hidden markup
# --------------------------------------------------------------------------------------------

_HIDDEN_ELEMENT = re.compile(
    r"<(?P<tag>details|script|style|template|noscript|iframe|object)\b[^>]{0,500}>"
    r"|<(?P<htag>[a-z][a-z0-9]{0,15})\b(?=[^>]{0,500}?(?:\shidden\b|\saria-hidden\s*=\s*"
    r"[\"']?true|style\s*=\s*[\"'][^\"'>]{0,300}?(?:display\s*:\s*none|visibility\s*:\s*"
    r"hidden|font-size\s*:\s*0(?![.\d])|opacity\s*:\s*0(?![.\d]))))[^>]{0,500}>",
    re.IGNORECASE,
)
# `[//]: # (text)`, `[comment]: <> (text)`: link reference definitions nobody links to, the usual
# way to write a comment in markdown. Rendered, they are invisible.
_MD_COMMENT = re.compile(
    r"^[ \t]{0,3}\[[^\]\n]{0,100}\]:[ \t]*(?:#|<>|\(\))[ \t]*(?:\([^\n]*\)|\"[^\n]*\"|'[^\n]*')"
    r"?[ \t]*$\n?",
    re.MULTILINE,
)


@dataclass
class Unhidden:
    """Text without its hidden markup, and the hidden parts that were removed."""

    text: str
    hidden: list[str] = field(default_factory=list)


def _remove_comments(text: str, hidden: list[str]) -> str:
    # str.find rather than a regex: `<!--[\s\S]*?-->` rescans to the end of the text for every
    # unclosed `<!--`, which is quadratic on hostile input.
    parts = []
    pos = 0
    while (start := text.find("<!--", pos)) != -1:
        end = text.find("-->", start + 4)
        parts.append(text[pos:start])
        if end == -1:
            hidden.append(text[start + 4 :])
            pos = len(text)
            break
        hidden.append(text[start + 4 : end])
        pos = end + 3
    parts.append(text[pos:])
    return "".join(parts)


def _remove_elements(text: str, hidden: list[str]) -> str:
    lower = text.lower()
    parts = []
    pos = 0
    while (m := _HIDDEN_ELEMENT.search(text, pos)) is not None:
        tag = (m.group("tag") or m.group("htag")).lower()
        # The first closing tag ends it (nested elements of the same name end early, which only
        # ever removes less); without one, the element runs to the end, as rendered.
        close = lower.find(f"</{tag}", m.end())
        end = len(text) if close == -1 else lower.find(">", close)
        end = len(text) if end == -1 else end + 1
        parts.append(text[pos : m.start()])
        hidden.append(text[m.end() : close if close != -1 else len(text)])
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def strip_hidden_markup(text: str) -> Unhidden:
    """`text` as a person reading it rendered sees it, plus what was hidden from them."""
    hidden: list[str] = []
    tagged = "".join(chr(_TAG_TO_ASCII[ord(c)]) for c in text if ord(c) in _TAG_TO_ASCII)
    if tagged:
        hidden.append(tagged)
    out = _remove_comments(text, hidden) if "<!--" in text else text
    if "<" in out:
        out = _remove_elements(out, hidden)
    if "]:" in out:
        hidden.extend(m.group() for m in _MD_COMMENT.finditer(out))
        out = _MD_COMMENT.sub("", out)
    invisible = _INVISIBLE.sub("", out)
    if invisible != out and not hidden:
        hidden.append("")  # invisible characters only: nothing to show, but something removed
    return Unhidden(text=invisible, hidden=hidden)


def flatten(text: str, limit: int | None = None) -> str:
    """One line without hidden markup, at most `limit` characters (an ellipsis marks a cut)."""
    flat = " ".join(strip_hidden_markup(text).text.split())
    if limit is not None and len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat
