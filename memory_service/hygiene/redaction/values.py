"""Judging a candidate value: a stand-in, a word of prose, or something random enough to be a
secret.

Randomness is Shannon entropy as detect-secrets computes it, with its charsets and limits
(4.5 bits per character for base64, 3.0 for hex). A string of n characters cannot reach more
than log2(n) bits per character, so for values shorter than the library's typical 40+ the limit
is lowered to what random strings of that length reach (`_limit`); a letter and a digit are
required as well, which camelCase identifiers and prose never mix at that length.
"""

from __future__ import annotations

import math
import re
import string

from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_BASE64 = Base64HighEntropyString()
_HEX = HexHighEntropyString()
_BASE64_CHARS = frozenset(_BASE64.charset)
_HEX_CHARS = frozenset(string.hexdigits)
_TOKEN_CHARS = _BASE64_CHARS | frozenset(".~:")

# Values that say "a secret goes here" rather than being one: environment references, template
# slots, masks and the usual stand-in words. Redacting them would only destroy useful text.
_REFERENCE_OR_MASK = re.compile(
    r"""
    ^(?: [$%<@!] | \{\{ | \{% | \[REDACTED: | &[a-z]{2,6}; )  # ${VAR}, <your token>, !vault
    | ^\{[^{}]{0,100}\}$                                         # {password}: an f-string slot
    | ^(?:\[[^\[\]]{0,60}\]|\|[^|]{0,60}\||▁.{0,60})$          # [CLS], |SPEAKER|: model tokens
    | ^\#[0-9a-f]{3,8}$                                            # #dcdccc: a colour
    | ^[*xX.#•_…-]{1,500}$                                   # ****, xxxx, ...
    | (?-i:^[A-Z][A-Z0-9]{0,60}(?:_[A-Z0-9]{1,60}){1,20}$)   # GITHUB_TOKEN: names a variable
    | ^(?:os\.environ|os\.getenv|process\.env|env\.|ENV\[|getenv|secrets\.|vars\.|var\.)
    | ^(?:your|my|insert|enter|replace|put|add)[_ -]                 # your-token-here
    | [_-](?:here|goes[_-]here|placeholder|redacted)$
    | (?:\.\.\.|…)$                                                # mem_... : shortened
    | \*{3}                                                         # hf_***, :****: masked
    | ^(?:x{3,60}|0{8,200})$                                      # xxxxxxxx, 00000000
    """,
    re.VERBOSE | re.IGNORECASE,
)
_STAND_IN_WORDS = frozenset(
    {
        "changeme",
        "change_me",
        "change-me",
        "changeit",
        "dummy",
        "example",
        "false",
        "fake",
        "hidden",
        "masked",
        "n/a",
        "1password",
        "bitwarden",
        "keepass",
        "lastpass",
        "nil",
        "none",
        "null",
        "omitted",
        "optional",
        "pass",
        "passwd",
        "password",
        "placeholder",
        "redacted",
        "removed",
        "replaceme",
        "required",
        "secret",
        "tbd",
        "todo",
        "token",
        "true",
        "undefined",
        "unset",
        "value",
        "foo",
        "bar",
        "baz",
        "foobar",
        "str",
        "string",
        "bool",
        "boolean",
        "int",
        "integer",
        "number",
        "bytes",
        "object",
        "any",
        "secretstr",
        "await",
        "async",
        "new",
        "lambda",
        "yield",
        "self",
        "this",
        "function",
    }
)

# Words that follow "password:" or "token is" in prose rather than in a config file: states,
# verbs and the small words a sentence goes on with. A value that is one of them is not a secret
# even where a lone word would be (`password: rotated` at the start of a line).
_PROSE_WORDS = words(
    """
    a an the this that these those it its is are was were be been being now still also just not
    no yes see in on at of for from to by with without via into under over as and or but if then
    when where which who how what why set reset rotated rotating revoked expired expires expiring
    valid invalid wrong incorrect correct missing empty blank required mandatory needed optional
    ignored disabled enabled default defaults unknown same different provided stored kept saved
    managed hashed encrypted encoded decoded generated random automatic manual shared public private
    sent passed read loaded injected mounted configured changed updated removed deleted added
    created leaked exposed compromised available unavailable present absent checked validated
    verified sensitive secret secrets token tokens key keys password passwords credentials
    must should will would can could may might need needs does do did has have had only never
    always usually too here there below above later first new old current previous next
    ok okay fine good bad broken length format rules policy field value values vault keychain
    manager
    """
)

# The grammar of a sentence: a value of several words holding one of them is prose.
_FUNCTION_WORDS = words(
    """
    a an the this that these those it its is are was were be been not no see in on at of for
    from to by with without via into as and or but if then when where which who how what why
    must should will would can could may might does do did has have had only never always
    here there we you they our your their
    """
)
_DOTTED_IDENTIFIER = re.compile(r"^[A-Za-z_$][\w$]{0,100}(?:\.[A-Za-z_$][\w$]{0,100}){1,10}$")
_SNAKE_REFERENCE = re.compile(r"^_{0,2}[a-z][a-z0-9]{0,40}(?:_{1,2}[a-z0-9]{1,40}){0,8}$")
_SECRET_WORD = re.compile(r"token|secret|passw|pwd|key|cred|auth", re.IGNORECASE)
# `X-Xet-Access-Token`, `fal-ai-api-key`, `expired_token`: the name of a header, setting or
# constant ending in a secret word, not a secret.
_SECRET_NAME = re.compile(
    r"^[A-Za-z][A-Za-z0-9]{0,30}(?:[_-]{1,2}[A-Za-z0-9]{1,30}){0,8}[_-]{1,2}"
    r"(?:token|secret|key|auth|credentials?|password|passwd)$",
    re.IGNORECASE,
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PATHLIKE = re.compile(r"^(?:[~.]{0,2}/|[A-Za-z]:\\|file:)")


def is_stand_in(value: str) -> bool:
    value = value.strip().strip("\"'`")
    return (
        not value
        or _REFERENCE_OR_MASK.search(value) is not None
        or value.lower() in _STAND_IN_WORDS
    )


def is_code_reference(value: str, key: str = "", quoted: bool = False) -> bool:
    """`settings.api_key`, `request_token`, `password`: code naming a value, not the value.

    A lowercase snake_case name counts only if it names a secret itself (`access_token`), so a
    passphrase such as `correct_horse_battery` in a `.env` file does not.
    """
    if (not quoted and _DOTTED_IDENTIFIER.match(value)) or _SECRET_NAME.match(value):
        return True  # (in quotes, `juniper.tangerine.harbor` is a string, not an attribute)
    name = key.strip("\"'").rpartition(".")[2].strip("_").lower()
    if name and value.strip("_").lower() in (name, name.replace("-", "_")):
        return True  # `apiKey = "apiKey"`, `self._credential = credential`
    return _SNAKE_REFERENCE.match(value) is not None and _SECRET_WORD.search(value) is not None


def is_prose_word(value: str) -> bool:
    return value.strip(".,;:!?\"'`()").lower() in _PROSE_WORDS


def is_function_word(value: str) -> bool:
    return value.strip(".,;:!?\"'`()").lower() in _FUNCTION_WORDS


def is_path(value: str) -> bool:
    return _PATHLIKE.match(value) is not None


def is_uuid(value: str) -> bool:
    return _UUID.match(value) is not None


def _limit(library_limit: float, length: int, slack: float) -> float:
    return min(library_limit, math.log2(length) - slack)


def looks_random(value: str, min_length: int = 16) -> bool:
    """True for machine-generated strings: hex or base64-ish, long enough, high entropy."""
    core = value.rstrip("=")
    if len(core) < min_length or is_stand_in(core):
        return False
    has_digit = any(c.isdigit() for c in core)
    has_letter = any(c.isalpha() for c in core)
    if not (has_digit and has_letter):
        return False
    if _is_slug(core):
        return False
    compact = core.replace("-", "") if is_uuid(core) else core
    if all(c in _HEX_CHARS for c in compact):
        entropy = _HEX.calculate_shannon_entropy(compact.lower())
        return entropy >= _limit(_HEX.entropy_limit, len(compact), 1.5)
    if all(c in _BASE64_CHARS for c in core):
        entropy = _BASE64.calculate_shannon_entropy(core)
    elif all(c in _TOKEN_CHARS for c in core):
        entropy = shannon(core)  # "." "~" ":" (token formats): characters of their own
    else:
        return False  # spaces, quotes, brackets: text, not a generated token
    return entropy >= _limit(_BASE64.entropy_limit, len(core), 1.1)


_SEPARATORS = re.compile(r"[-_./:]")


def _is_slug(value: str) -> bool:
    """`feat-keyset-pagination-v2`, `DINOv2-with-registers`: words joined by separators. At
    least half its letters sit in lowercase or capitalised words of three or more letters, which
    random base64 with "-" and "_" hardly ever produces."""
    parts = _SEPARATORS.split(value)
    if len(parts) < 2:
        return False
    words = sum(
        len(p) for p in parts if len(p) >= 3 and p.isalpha() and (p.islower() or p.istitle())
    )
    return 2 * words >= sum(len(p) for p in parts)


def shannon(value: str) -> float:
    counts: dict[str, int] = {}
    for c in value:
        counts[c] = counts.get(c, 0) + 1
    n = len(value)
    return -sum(k / n * math.log2(k / n) for k in counts.values())


def looks_generated(value: str) -> bool:
    """Mixes letters and digits, as passwords and tokens do and prose doesn't."""
    return (
        len(value) >= 6
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and not is_stand_in(value)
    )


_SYMBOL = re.compile(r"[!@#$%^&*+=~?|]")
_COMPOUND = re.compile(r"^[A-Za-z]{2,30}(?:[-_.][A-Za-z]{2,30}){2,8}$")  # three or more words
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")


def looks_like_password(value: str, camel: bool = True) -> bool:
    """A value chosen as a password even without digits: symbols, a passphrase of joined
    words, or (with `camel`) capitals inside the word (`CorrectHorse`). Prose words and names
    of code are not.
    """
    value = value.strip()
    if len(value) < 6 or is_stand_in(value) or is_prose_word(value) or is_path(value):
        return False
    if is_code_reference(value):
        return False
    return (
        looks_generated(value)
        or _SYMBOL.search(value) is not None
        or _COMPOUND.match(value) is not None
        or (camel and _INNER_CAPITAL.search(value) is not None)
    )
