"""Replace secrets and personal data in handoff text with typed placeholders.

Agents paste whatever they saw into handoffs: connection strings, `.env` lines, tokens from a
failing `curl`. Stored learnings are shared with every session of the team, so secrets are
replaced by `[REDACTED:<type>]` before anything is stored or embedded. The type stays visible so
the next reader still knows *what* was there ("the URL had a password inline") without the value.

Rules run in a fixed order: whole private-key blocks first (their base64 body would otherwise be
chopped up by narrower rules), then token formats that identify themselves by a prefix, then
context rules (URL credentials, auth headers, `key = value` assignments) and e-mail addresses
last. Every rule leaves existing placeholders alone, so text can be redacted twice safely.

Every quantifier is bounded: this runs on untrusted input inside the request path, and an
unbounded pattern such as `[\\w.]+@` is quadratic on a long run of word characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_PLACEHOLDER_PREFIX = "[REDACTED:"


def placeholder(kind: str) -> str:
    return f"{_PLACEHOLDER_PREFIX}{kind}]"


# Values that say "a secret goes here" rather than being one: environment references, template
# slots, masks and the usual stand-in words. Redacting them would only destroy useful text.
_REFERENCE_OR_MASK = re.compile(
    r"""
    ^(?: [$%<@] | \{\{ | \[REDACTED: )           # ${VAR}, $VAR, %VAR%, <your token>, {{ secret }}
    | ^[*xX.#•_-]+$                              # ****, xxxx, ...
    | ^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$            # GITHUB_TOKEN: names a variable, is not one
    """,
    re.VERBOSE,
)
_STAND_IN_WORDS = frozenset(
    {
        "changeme",
        "example",
        "false",
        "nil",
        "none",
        "null",
        "optional",
        "pass",
        "passwd",
        "password",
        "placeholder",
        "redacted",
        "required",
        "secret",
        "token",
        "true",
        "undefined",
    }
)
_DOTTED_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")  # settings.api_key


def _is_stand_in(value: str) -> bool:
    value = value.strip()
    return (
        not value
        or _REFERENCE_OR_MASK.search(value) is not None
        or value.lower() in _STAND_IN_WORDS
    )


def _looks_generated(value: str) -> bool:
    """True when `value` mixes letters and digits, as passwords and tokens do and prose doesn't.

    Used where the surrounding context is weak ("token: ..." in prose, a bare `Bearer ...`).
    """
    return (
        len(value) >= 6
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and not _is_stand_in(value)
    )


# A rule's judge gets the match and returns the redaction type, or None to leave it alone.
Judge = Callable[[re.Match[str]], str | None]


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    judge: Judge


_VALUE_GROUPS = ("val", "qval", "sqval")


def _value_group(match: re.Match[str]) -> str | int:
    """The group holding the secret: a named value group when the pattern has one, else all."""
    for name in _VALUE_GROUPS:
        if name in match.re.groupindex and match.group(name) is not None:
            return name
    return 0


def _value(match: re.Match[str]) -> str:
    return match.group(_value_group(match))


def _always(kind: str) -> Judge:
    return lambda m: kind


def _unless_stand_in(kind: str) -> Judge:
    return lambda m: None if _is_stand_in(_value(m)) else kind


def _if_generated(kind: str) -> Judge:
    return lambda m: kind if _looks_generated(_value(m)) else None


def _judge_auth_header(m: re.Match[str]) -> str | None:
    value = _value(m)
    if m.group("scheme"):
        # "Authorization: Bearer x" is unambiguous; only skip `<token>`-style slots.
        return None if _is_stand_in(value) else "bearer_token"
    # Without a scheme it might be prose: "Authorization: required on every call".
    return "bearer_token" if _looks_generated(value) else None


def _assignment_kind(key: str) -> str:
    key = key.lower()
    if "pass" in key:
        return "password"
    if "api" in key and "key" in key:
        return "api_key"
    return "secret"


def _judge_assignment(m: re.Match[str]) -> str | None:
    kind = _assignment_kind(m.group("key"))
    value = _value(m)
    if m.group("val") is None:  # quoted: the quotes make it a value, whatever it looks like
        return None if len(value) < 3 or _is_stand_in(value) else kind
    if _is_stand_in(value) or _DOTTED_IDENTIFIER.match(value):
        return None
    following = m.string[m.end() : m.end() + 1]
    if following in ("(", "["):  # a call or subscript in code: `token = get_token()`
        return None
    if "=" in m.group("sep"):
        # `KEY=value` is how .env files and shells assign, almost never how prose reads.
        return kind if len(value) >= 4 else None
    # "token: it expires hourly" is prose; "password: hunter2" is not.
    return kind if _looks_generated(value) else None


def _judge_email(m: re.Match[str]) -> str | None:
    # git@host is the SSH user of every git remote, not a person.
    return None if m.group("val").split("@", 1)[0].lower() == "git" else "email"


# Names whose value is a secret when assigned: DB_PASSWORD, client_secret, OPENAI_API_KEY, ... The
# secret word must end the name, so `password_hash`, `token_count` and `max_tokens` never match.
_SENSITIVE_NAME = (
    r"[A-Za-z0-9_.-]{0,64}?"
    r"(?:passphrase|password|passwd|secret(?:[_-]?key)?|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credentials?)"
)

_RULES: tuple[_Rule, ...] = (
    # Whole PEM/OpenSSH/PGP private key blocks, END line included. A paste cut off before the END
    # line still loses its base64 body. The body never contains "-----", which keeps a run of
    # BEGIN lines without END from being rescanned to the 16 KB bound each time.
    _Rule(
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:(?:[^-]|-(?!----)){0,16384}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"|(?:[ \t]{0,8}\n[ \t]{0,8}[A-Za-z0-9+/=]{16,100}){0,400})"
        ),
        _always("private_key"),
    ),
    _Rule(
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,2048}\.[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,2048}"),
        _always("jwt"),
    ),
    _Rule(
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        _always("aws_access_key"),
    ),
    # AWS secret keys are 40 characters of base64 with no prefix: only recognisable by their name.
    _Rule(
        re.compile(
            r"(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s{0,5}(?::=|=>|[:=])\s{0,5}[\"']?"
            r"(?P<val>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        _unless_stand_in("aws_secret_key"),
    ),
    _Rule(
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{30,255})\b"),
        _always("github_token"),
    ),
    _Rule(
        re.compile(r"\b(?:xox[abeoprs]-[A-Za-z0-9-]{10,250}|xapp-[A-Za-z0-9-]{10,250})"),
        _always("slack_token"),
    ),
    _Rule(
        re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/"
            r"(?P<val>[A-Za-z0-9_/-]{8,300})"
        ),
        _always("slack_token"),
    ),
    # Provider API keys. The sk- family requires a digit so kebab-case names starting with "sk-"
    # stay; a random 20+ character key without a digit is vanishingly rare.
    _Rule(
        re.compile(
            r"\bsk-(?:proj-|ant-(?:api\d\d-)?|svcacct-|admin-)?(?=[A-Za-z0-9_-]{0,200}\d)"
            r"[A-Za-z0-9_-]{20,200}"
            r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,200}\b"
            r"|\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"
            r"|\bhf_[A-Za-z0-9]{30,100}\b"
        ),
        _always("api_key"),
    ),
    _Rule(re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), _always("npm_token")),
    _Rule(
        re.compile(r"_authToken\s{0,3}=\s{0,3}(?P<val>[^\s\"'`]{1,500})"),
        _unless_stand_in("npm_token"),
    ),
    # scheme://user:password@host keeps scheme, user and host: they tell the reader which system
    # it was, which is the useful part of the line.
    _Rule(
        re.compile(
            r"\b[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@\[\]'\"<>`]{0,128}:"
            r"(?P<val>[^\s/?#@'\"<>`]{1,256})(?=@)"
        ),
        _unless_stand_in("url_password"),
    ),
    _Rule(
        re.compile(
            r"\bAuthorization[\"']?\s{0,5}[:=]\s{0,5}[\"']?"
            r"(?P<scheme>(?:bearer|basic|token|bot)\s{1,5})?"
            r"(?P<val>[A-Za-z0-9._~+/=-]{8,4096})",
            re.IGNORECASE,
        ),
        _judge_auth_header,
    ),
    _Rule(
        re.compile(r"\b(?i:bearer)\s{1,5}(?P<val>[A-Za-z0-9._~+/-]{8,4096}=*)"),
        _if_generated("bearer_token"),
    ),
    # key = value, key: value, "key": "value", --key=value. The key is kept.
    _Rule(
        re.compile(
            rf"(?<![\w.$-])(?P<key>[\"']?{_SENSITIVE_NAME}[\"']?)(?![\w-])"
            r"(?P<sep>\s{0,5}(?::=|=>|[:=])\s{0,5})(?!=)"
            r"(?:\"(?P<qval>[^\"\n]{1,500})\"|'(?P<sqval>[^'\n]{1,500})'"
            r"|(?P<val>[^\s\"'`,;&<>()\[\]{}]{1,500}))",
            re.IGNORECASE,
        ),
        _judge_assignment,
    ),
    # --password hunter2 on a command line.
    _Rule(
        re.compile(
            r"(?<![\w-])--?(?P<key>(?i:password|passwd|token|api-key|secret|client-secret))"
            r"\s{1,5}(?P<val>[^\s\"'`-][^\s\"'`]{0,499})"
        ),
        lambda m: _assignment_kind(m.group("key")) if _looks_generated(m.group("val")) else None,
    ),
    _Rule(
        re.compile(
            r"(?<![\w.%+-])(?P<val>[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
            r"@[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24})"
            r"(?![\w-])"
        ),
        _judge_email,
    ),
)


def redact(text: str) -> tuple[str, dict[str, int]]:
    """Replace every secret in `text` with `[REDACTED:<type>]`.

    Returns the new text and how many replacements each type got (types with none are absent).
    """
    counts: dict[str, int] = {}
    for rule in _RULES:

        def replace(m: re.Match[str], rule: _Rule = rule) -> str:
            kind = rule.judge(m)
            if kind is None:
                return m.group(0)
            counts[kind] = counts.get(kind, 0) + 1
            group = _value_group(m)
            start, end = m.start(group) - m.start(), m.end(group) - m.start()
            whole = m.group(0)
            return whole[:start] + placeholder(kind) + whole[end:]

        text = rule.pattern.sub(replace, text)
    return text, counts
