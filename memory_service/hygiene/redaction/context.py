"""Secrets recognised by what surrounds them: credentials in URLs, auth headers and cookies,
`key = value` in .env/YAML/TOML/INI/JSON/XML, command-line flags, and prose such as "the deploy
token is 7Gq2..." or "my password is hunter-horse-battery".

The name or keyword is kept and only the value is replaced, so the reader still sees which
setting it was. How sure the context is decides how much the value itself must look like a
secret: `DB_PASSWORD=marmalade` in a .env line is enough, "password: see the vault" is prose, and
after "token is" only a random-looking string counts (detect-secrets' entropy limits, see
values.py).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator

from memory_service.hygiene.redaction.engine import (
    Hit,
    Judge,
    Rule,
    Stage,
    contains_any,
    hit,
    quoted,
    value_of,
)
from memory_service.hygiene.redaction.values import (
    is_code_reference,
    is_function_word,
    is_path,
    is_prose_word,
    is_stand_in,
    is_uuid,
    looks_generated,
    looks_like_password,
    looks_random,
    words,
)

_LOOK = 200  # how far judges look around a match for the start and end of its line

# Quoted or bare value alternatives shared by several rules; `val` is the unquoted one.
_QUOTED_OR_BARE = (
    r"(?:\"(?P<qval>[^\"\n]{1,500})\"|'(?P<sqval>[^'\n]{1,500})'"
    r"|(?P<val>[^\s\"'`,;&<>()\[\]{}]{1,500}))"
)


def _line_before(text: str, position: int) -> str:
    start = max(0, position - _LOOK)
    newline = text.rfind("\n", start, position)
    return text[newline + 1 if newline >= 0 else start : position]


def _line_after(text: str, position: int) -> str:
    end = min(len(text), position + _LOOK)
    newline = text.find("\n", position, end)
    return text[position : newline if newline >= 0 else end]


_PASSWORD_NAME = re.compile(r"pass|pwd|creds|contrase|senha")


def _kind_for(name: str, value: str, text: str, position: int) -> str:
    name = name.lower()
    if _PASSWORD_NAME.search(name) or name.rstrip("\"'").endswith("pw"):
        return "password"
    if is_uuid(value) and "heroku" in (name + _line_before(text, position).lower()):
        return "heroku_api_key"
    if "api" in name and "key" in name:
        return "api_key"
    return "secret"


# --- URLs -------------------------------------------------------------------------------------

# scheme://user:password@host keeps scheme, user and host: they tell the reader which system it
# was, which is the useful part of the line.
URL_PASSWORD = Rule(
    re.compile(
        r"\b[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@\[\]'\"<>`]{0,128}:"
        # Up to the last "@" before the host: a password may hold an unencoded "@".
        r"(?P<val>[^\s/?#'\"<>`]{1,256})(?=@[^\s@/?#'\"<>`]{1,256}(?:[/?#'\"<>`\s]|$))"
    ),
    lambda m: None if is_stand_in(value_of(m)) else hit(m, "url_password"),
    needs=("://",),
)

# --- commands -------------------------------------------------------------------------------

_CLI_VALUE = (
    r"(?:\"(?P<qval>[^\"\n]{1,300})\"|'(?P<sqval>[^'\n]{1,300})'"
    r"|(?P<val>[^\s\"'`|;&-][^\s\"'`|;&]{0,299}))"
)


def _unless_stand_in(kind: str) -> Judge:
    return lambda m: None if is_stand_in(value_of(m)) else hit(m, kind)


COMMANDS: tuple[Rule, ...] = (
    # docker login -p ..., podman login --password=..., helm registry login ...
    Rule(
        re.compile(
            r"\b(?:docker|podman|buildah|skopeo|nerdctl|oras|crane|helm[ \t]{1,5}registry)"
            r"[ \t]{1,5}login\b[^\n|;&]{0,200}?\s(?:-p|--password)(?:[ \t]{1,5}|=)" + _CLI_VALUE
        ),
        _unless_stand_in("docker_password"),
        needs=("login",),
    ),
    # mysql -pSECRET (attached), sshpass -p SECRET
    Rule(
        re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n|;&]{0,120}?\s-p" + _CLI_VALUE),
        _unless_stand_in("password"),
        needs=("mysql", "mariadb"),
    ),
    # redis-cli -a SECRET
    Rule(
        re.compile(r"\bredis-cli\b[^\n|;&]{0,120}?\s-a[ \t]{1,5}" + _CLI_VALUE),
        _unless_stand_in("password"),
        needs=("redis-cli",),
    ),
    Rule(
        re.compile(r"\bsshpass[ \t]{1,5}-p[ \t]{0,5}" + _CLI_VALUE),
        _unless_stand_in("password"),
        needs=("sshpass",),
    ),
)


def _judge_flag(m: re.Match[str]) -> Hit | None:
    value = value_of(m)
    if is_stand_in(value):
        return None
    if not quoted(m):
        if is_path(value) or "=" in value or is_code_reference(value) or is_prose_word(value):
            return None
        if not (looks_generated(value) or looks_like_password(value) or looks_random(value)):
            return None
    return hit(m, _kind_for(m.group("key"), value, m.string, m.start()))


# --password hunter2, --client-secret ..., -storepass ... on a command line.
FLAGS = Rule(
    re.compile(
        r"(?<![\w-])--?(?P<key>(?i:password|passwd|pass|token|api-key|apikey|secret"
        r"|client-secret|auth-token|access-token|private-token|app-password|key-password"
        r"|store-password|storepass|keypass|webhook-secret))(?:[ \t]{1,5}|=)" + _CLI_VALUE
    ),
    _judge_flag,
    needs=("-",),
)

# --- headers --------------------------------------------------------------------------------


def _judge_auth_header(m: re.Match[str]) -> Hit | None:
    value = value_of(m)
    scheme = (m.group("scheme") or "").strip().lower()
    kind = "basic_auth" if scheme == "basic" else "bearer_token"
    if scheme:
        # "Authorization: Bearer x" is unambiguous; only skip `<token>`-style slots.
        return None if is_stand_in(value) else hit(m, kind)
    # Without a scheme it might be prose: "Authorization: required on every call".
    return hit(m, kind) if looks_generated(value) or looks_random(value) else None


HEADERS: tuple[Rule, ...] = (
    Rule(
        re.compile(
            r"\bAuthorization[\"']?\s{0,5}[:=]\s{0,5}[\"']?"
            r"(?P<scheme>(?:bearer|basic|token|bot|digest|apikey|sso-key)\s{1,5})?"
            r"(?P<val>[A-Za-z0-9._~+/=-]{8,4096})",
            re.IGNORECASE,
        ),
        _judge_auth_header,
        needs=("authorization",),
    ),
    Rule(
        re.compile(r"\b(?i:bearer)\s{1,5}(?P<val>[A-Za-z0-9._~+/-]{8,4096}={0,3})"),
        lambda m: hit(m, "bearer_token") if looks_generated(value_of(m)) else None,
        needs=("bearer",),
    ),
)

_COOKIE = re.compile(r"\b(?i:set-cookie|cookie)[\"']?\s{0,3}:\s{0,5}(?P<pairs>[^\n\"']{1,4096})")
_COOKIE_PAIR = re.compile(r"(?P<name>[A-Za-z0-9_.$-]{1,64})=(?P<val>[^;\s,]{1,4096})")
_SESSION_NAME = re.compile(r"sess|sid|auth|token|jwt|remember|login", re.IGNORECASE)


def cookies(text: str) -> Iterator[Hit]:
    """Values of session-like cookies in `Cookie:` and `Set-Cookie:` lines."""
    if not contains_any(text, ("cookie",)):
        return
    for line in _COOKIE.finditer(text):
        offset = line.start("pairs")
        for pair in _COOKIE_PAIR.finditer(line.group("pairs")):
            value = pair.group("val")
            if is_stand_in(value) or len(value) < 8:
                continue
            if _SESSION_NAME.search(pair.group("name")) or looks_random(value):
                start, end = pair.span("val")
                yield Hit("session_cookie", offset + start, offset + end, line.start())


# --- "auth": base64(user:password) -----------------------------------------------------------


def decoded_credentials(value: str) -> tuple[str, str] | None:
    """(user, password) when `value` is base64 of `user:password`, as in Basic auth, Docker's
    config.json `auths` and .npmrc `_auth`."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and user and password and decoded.isprintable() else None


def _judge_auth_blob(m: re.Match[str]) -> Hit | None:
    value = value_of(m)
    credentials = decoded_credentials(value)
    if credentials is not None:
        if is_stand_in(credentials[1]):
            return None  # base64 of "username:password" in a doc
    elif not looks_random(value, 20):
        return None
    return hit(m, "docker_auth" if m.group("key").startswith('"') else "basic_auth")


AUTH_BLOB = Rule(
    re.compile(
        r"(?<![\w.$-])(?P<key>[\"']?_?auth[\"']?)\s{0,5}[:=]\s{0,5}[\"']?"
        r"(?P<val>[A-Za-z0-9+/]{8,4096}={0,2})(?![A-Za-z0-9+/=])"
    ),
    _judge_auth_blob,
    needs=("auth",),
)

# --- key = value ----------------------------------------------------------------------------

# Names whose value is a secret when assigned: DB_PASSWORD, client_secret, OPENAI_API_KEY, ... The
# secret word must end the name, or be followed only by an environment or encoding suffix
# (DB_PASSWORD_PROD, API_KEY_B64), so `password_hash`, `token_count` and `max_tokens` never match.
_SENSITIVE_WORDS = (
    r"passphrase|password|passwd|passwort|contrase[ñn]a|secret(?:[_-]?key)?|token|credentials?"
    r"|api[_-]?key|apikey|(?:access|private|auth|app|application|account|service|client|signing"
    r"|encryption|master|license|session|subscription|secret)[_-]?key"
)
_NAME_SUFFIX = (
    r"(?:[_-](?i:prod|production|staging|stage|dev|development|test|live|main|primary|secondary"
    r"|backup|old|new|next|prev|previous|current|v\d|\d{1,2}|b64|base64|hex|value|raw|plain"
    r"|plaintext|encoded|override|default|local|ci))?"
)
# (The lookahead on the first letter lets the engine try the words only where one can start.)
_SENSITIVE_NAME = (
    rf"(?:[A-Za-z0-9_.-]{{0,64}}?(?=[AaCcEeLlMmPpSsTt])(?:{_SENSITIVE_WORDS})"
    r"|(?:[A-Za-z0-9_.-]{0,64}?[_.-])?(?:pass|pwd|pw))" + _NAME_SUFFIX
)
_NOT_A_SECRET_NAME = re.compile(
    r"page|cursor|continuation|pagination|idempotency|csrf|xsrf|nonce|sync", re.IGNORECASE
)
_LINE_LEAD = re.compile(r"^[ \t]{0,40}(?:[-*>+][ \t]{1,4}|\*\*|export[ \t]{1,4}){0,2}[\"'`]?$")
_PHRASE = re.compile(r"[ \t]{1,4}[A-Za-z][A-Za-z'-]{0,30}")
# Words in one case joined by "_" or "-" (`_sa_default`, `INVALID-VALUE`): names, not tokens.
_PLAIN_WORDS = re.compile(
    r"_{0,2}(?:[a-z]{1,30}(?:[_-]{1,2}[a-z]{1,30}){0,8}|[A-Z]{1,30}(?:[_-]{1,2}[A-Z]{1,30}){0,8})"
    r"_{0,2}"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_]{0,80}|[0-9][0-9_]{0,40}")  # no digits / a number
_SNAKE_VARIABLE = re.compile(r"_{0,2}[a-z][a-z0-9]{0,30}(?:_{1,2}[a-z0-9]{1,30}){1,6}")


def _is_sentence(value: str) -> bool:
    parts = value.split()
    return len(parts) >= 3 and any(is_function_word(w) for w in parts)


def _starts_line(m: re.Match[str]) -> bool:
    return _LINE_LEAD.match(_line_before(m.string, m.start())) is not None


def _rest_of_line(m: re.Match[str]) -> str:
    """What follows the value on its line, without a trailing `# comment`."""
    rest = _line_after(m.string, m.end())
    return "" if rest.lstrip().startswith("#") else rest.rstrip()


def _phrase_end(m: re.Match[str]) -> int:
    """Where an unquoted value of several words ends: `passphrase: correct horse battery` in
    YAML or INI runs to the end of the line. 0 if the rest of the line is not words."""
    rest = _rest_of_line(m)
    if not rest:
        return m.end()
    position, words = 0, 0
    while position < len(rest) and words < 8:
        word = _PHRASE.match(rest, position)
        if word is None:
            return 0
        position, words = word.end(), words + 1
    return m.end() + position if position == len(rest) else 0


def _judge_assignment(m: re.Match[str]) -> Hit | None:
    key = m.group("key")
    value = value_of(m)
    kind = _kind_for(key, value, m.string, m.start())
    password = kind == "password"
    if (
        _NOT_A_SECRET_NAME.search(key)
        or is_stand_in(value)
        or is_code_reference(value, key, quoted(m))
    ):
        return None
    if not password and value.isdigit():
        return None  # `token=11098`: a token id or a count
    if password and is_path(value):
        return None  # PWD=/home/ci, password_file: /run/secrets/db
    if quoted(m):  # the quotes make it a value, whatever it looks like
        if not password and _PLAIN_WORDS.fullmatch(value.strip()):
            return None  # a word or a name ("upgrade_token": "upgrades"), not a token
        if _is_sentence(value):
            return None  # 'Password used to generate key'
        return hit(m, kind) if len(value) >= 3 and not is_prose_word(value) else None
    text = m.string
    if text[m.end() : m.end() + 1] in ("(", "["):  # a call or subscript: `token = get()`
        return None
    if _line_before(text, m.start()).rstrip().endswith(","):
        return None  # `user, password = credentials`: unpacking in code
    if _followed_by_operator(text, m.end()):
        return None  # `password: str | None = None`: an annotation or expression
    sep = m.group("sep")
    if sep.startswith((" ", "\t")) and "=" in sep and _SNAKE_VARIABLE.match(value):
        return None  # `password = user_password` in code, not `DB_PASSWORD=correct_horse`
    start = m.start("val")
    if password and _starts_line(m):
        # A config line: the value is everything up to the end of the line.
        end = _phrase_end(m)
        if end > m.end():
            parts = m.string[start:end].split()
            if any(is_function_word(w) for w in parts) or any(is_prose_word(w) for w in parts[1:]):
                return None  # a sentence: "password: see the vault", "password: Database password"
            return Hit(kind, start, end, m.start())
    if "=" in sep or ">" in sep:
        # `KEY=value` is how .env files, INI and shells assign, almost never how prose reads;
        # but a token is not a plain name in code: `token = Name`, `unk_token=unk_piece,`.
        if not password and _IDENTIFIER.fullmatch(value):
            spaced = sep[:1].isspace()
            if spaced or "_" in value or _rest_of(text, m.end())[:1] in (",", ")"):
                return None
        return hit(m, kind) if len(value) >= 4 else None
    # "token: it expires hourly" is prose; "password: hunter2" is not; a YAML line
    # `  password: marmalade` is config even without a digit.
    if not password and _PLAIN_WORDS.fullmatch(value):
        return None
    if looks_generated(value) or looks_random(value):
        return hit(m, kind)
    if password and (
        looks_like_password(value, camel=False)
        or (
            _starts_line(m)
            and not _rest_of_line(m)
            and len(value) >= 4
            and not is_prose_word(value)
        )
    ):
        return hit(m, kind)
    return None


ASSIGNMENT = Rule(
    re.compile(
        # The lookahead (a name, then ":" or "=") rejects ordinary words in one cheap scan.
        r"(?<![\w.$-])(?=[\"']?[A-Za-z0-9_.-][A-Za-z0-9_.\"'ñ-]{0,70}\s{0,5}[:=])"
        r"(?=[A-Za-z0-9_.\"'-]{0,64}?(?i:pas|pw|sec|tok|key|cred|contrase))"
        # Atomic: once a name and separator are found, a value that fails does not send the
        # engine back to try them split differently (ten times slower on `password="` runs).
        rf"(?>(?P<key>[\"']?{_SENSITIVE_NAME}[\"']?)(?![\w-])"
        r"(?P<sep>\s{0,5}(?::=|=>|[:=])\s{0,5}))(?!=)"
        # (a bare keyword as the value is the next name: `secret: secret: ...`)
        r"(?![\"']?(?:passphrase|password|passwd|secret|token)(?![A-Za-z0-9]))" + _QUOTED_OR_BARE,
        re.IGNORECASE,
    ),
    _judge_assignment,
)

XML_ELEMENT = Rule(
    re.compile(
        rf"<(?P<key>[A-Za-z0-9_:.-]{{0,40}}?(?:{_SENSITIVE_WORDS}|pass|pwd))>"
        r"(?P<val>[^<\n]{1,500})</",
        re.IGNORECASE,
    ),
    lambda m: (
        None
        if is_stand_in(value_of(m))
        else hit(m, _kind_for(m.group("key"), value_of(m), m.string, m.start()))
    ),
    needs=("</",),
)

# --- prose: "the deploy token is 7Gq2...", "my password is hunter-horse-battery" --------------

# (With the words for it in a few languages, as detect-secrets' keyword plugin has.)
_PW_WORDS = r"passphrase|password|passwd|pwd|pw|creds|passwort|contrase[ñn]a|senha"
_PASSWORD_WORDS = re.compile(_PW_WORDS, re.IGNORECASE)
_PW_KEYWORDS = rf"(?:{_PW_WORDS})(?![A-Za-z0-9])"
_KEY_KEYWORDS = (
    r"(?:token|secret|credentials?|pat|api[ _-]?key|apikey|(?:access|secret|signing|private"
    r"|auth|app|application|account|license|master|encryption|service|client|subscription"
    r"|session|webhook|hmac|jwt)[ _-]key|key)(?![A-Za-z0-9])"
)
_KEYWORDS = f"(?:{_PW_KEYWORDS}|{_KEY_KEYWORDS})"
_FIRST = r"(?=[AaCcEeHhJjKkLlMmPpSsTtWw][A-Za-z])"  # how keywords start: a fast reject
_KEYWORD = re.compile(r"(?<![A-Za-z0-9])" + _FIRST + _KEYWORDS, re.IGNORECASE)
# Keywords worth a look, decided in the pattern so that keyword-dense text stays cheap: a run
# long enough for the keyword's value within reach (4 characters or a quote after "password",
# 16 characters after "token"), and not another keyword right after ("secret: secret", "API
# key token": that one names the value).
_RUN = r"[^\s\"'`,;()<>\[\]{}]"
_WORD_START = r"(?<![^\s\"'`(:=])"
_NO_KEYWORD_NEXT = rf"(?![\s:=\"'`(-]{{1,6}}{_KEYWORDS})"
_KEYWORD_WITH_VALUE = re.compile(
    r"(?<![A-Za-z0-9])"
    + _FIRST
    + rf"(?:{_PW_KEYWORDS}{_NO_KEYWORD_NEXT}(?=[^\n]{{0,52}}?(?:[\"'`]|{_WORD_START}(?={_RUN}{{4}})"
    + rf"(?!{_KEYWORDS})))|{_KEY_KEYWORDS}{_NO_KEYWORD_NEXT}"
    + rf"(?=[^\n]{{0,52}}?{_WORD_START}{_RUN}{{16}}))",
    re.IGNORECASE,
)
# A candidate value after the keyword: quoted, or one run of non-space characters.
_CANDIDATE = re.compile(
    r"\"(?P<qval>[^\"\n]{3,200})\"|'(?P<sqval>[^'\n]{3,200})'|`(?P<bval>[^`\n]{3,200})`"
    r"|(?P<val>[A-Za-z0-9~!@#$%^&*+/_-][^\s\"'`,;()<>\[\]{}]{0,500})"
)
_GAP = 48  # how far after the keyword its value may start ("token for the staging db is ...")
_WINDOW = _GAP + 520
_VERB = re.compile(
    r"(?:\s(?:is|was|are|were|becomes|became|to|reads|now|still|just|literally)\s{0,3}"
    r"|(?:[:=/]|->|=>|→)\s{0,3})$",
    re.IGNORECASE,
)
# Words naming what a following key or token is for, when that is not a secret.
_NOT_SECRET_KEY = words(
    """
    public cache idempotency primary partition sort foreign object s3 i18n translation react
    dedup dedupe lookup routing shard index host page pagination continuation cursor sync resume
    request trace correlation fingerprint gpg pgp ssh deploy csrf bucket map dict hash registry
    composite natural surrogate unique sorting next
    """
)
_NOT_SECRET_TOKEN = words(
    """
    page pagination continuation cursor sync resume csrf xsrf idempotency cancellation request
    next bucket
    """
)


def _word_before(text: str, position: int) -> str:
    """The word just before `position`, joined to it by a space, "_" or "-" ("cache key")."""
    i = position
    while i > max(0, position - 3) and text[i - 1] in " \t_-":
        i -= 1
    if i == position:
        return ""
    end = i
    while i > max(0, end - 20) and text[i - 1].isalnum():
        i -= 1
    return text[i:end].lower()


_IDENTIFIED_AS_OTHER = re.compile(
    r"\b(?:commit|sha\d{0,3}|head|revision|rev|hash|digest|checksum|fingerprint|id|uuid|etag"
    r"|nonce|version|build|run|job|trace|request)\b",
    re.IGNORECASE,
)
_DIGEST_VALUE = re.compile(r"^(?:sha\d{1,3}|md5|h1)[:-]", re.IGNORECASE)


_GAP_WORDS = re.compile(r"[\sA-Za-z0-9_.'/:-]{0,60}")


def _gap_ends_in_verb(gap: str) -> bool:
    """ "for the admin UI: ", " is ": a few words, then a verb or a colon. Code between a
    keyword and a value (`passwd|(?:the|...`, `auth(key), "Content-Type": `) is not prose."""
    verb = _VERB.search(gap)
    return verb is not None and _GAP_WORDS.fullmatch(gap, 0, verb.start()) is not None


def _rest_of(text: str, position: int) -> str:
    return text[position : position + 8].lstrip(" \t")


def _followed_by_operator(text: str, position: int) -> bool:
    """`str | None = None`, `get_token()`: the value is part of an expression in code. (A
    parenthesis after a space is prose: "4f9a... (us5 site)".)"""
    return text[position : position + 1] in ("(", "[") or _rest_of(text, position)[:1] in (
        "|",
        "=",
        "+",
        "]",
        "}",
    )


def _prose_value_ok(
    keyword: str, gap: str, value: str, is_quoted: bool, clause_end: bool = True
) -> bool:
    if is_stand_in(value) or _DIGEST_VALUE.match(value) or _IDENTIFIED_AS_OTHER.search(gap):
        return False
    password = _PASSWORD_WORDS.fullmatch(keyword) is not None
    if is_code_reference(value, quoted=is_quoted) or (
        not password and _PLAIN_WORDS.fullmatch(value)
    ):
        return False
    if password:
        if is_quoted:
            return len(value) >= 4 and not is_prose_word(value)
        # CamelCase counts only as the last word of a clause ("...admin UI: CorrectMeadow"),
        # not in the middle of one ("password: RabbitMQ password").
        return looks_like_password(value, camel=clause_end) or looks_random(value)
    if keyword.lower() == "key":
        # A bare "key" needs a verb: "the signing key is ..." yes, "key 9f86..." no.
        return _gap_ends_in_verb(gap) and looks_random(value)
    return looks_random(value) or (is_uuid(value) and gap.strip() in ("", "(", ":", "="))


def prose(text: str) -> Iterator[Hit]:
    """The first value within a few words after a secret keyword that is secret enough for
    that keyword: any password-like word after "password", only random strings after
    "token", "secret" or "api key"."""
    scanned = 0  # keywords inside a value already judged are part of that value
    for k in _KEYWORD_WITH_VALUE.finditer(text):
        if k.start() < scanned:
            continue
        keyword = k.group()
        if (
            text[k.end() : k.end() + 1] == "]"
            and "[REDACTED:" in text[max(0, k.start() - 50) : k.start()]
        ):
            continue  # the kind in a placeholder: [REDACTED:twilio_key]
        before_char = text[k.start() - 1 : k.start()]
        if before_char and before_char in "\"'`" and text[k.end() : k.end() + 1] == before_char:
            continue  # a quoted word (`"password" in kwargs`), not a keyword of a sentence
        password = _PASSWORD_WORDS.fullmatch(keyword) is not None
        if not password:
            qualifiers = _NOT_SECRET_KEY if keyword.lower().endswith("key") else _NOT_SECRET_TOKEN
            if _word_before(text, k.start()) in qualifiers:
                continue
        for start, end, is_quoted in _candidates(text, k.end()):
            scanned = end
            if end - start < 3:
                continue
            if not is_quoted and _KEYWORD.search(text, start, min(end, start + 64)):
                # The next keyword (`auth_token`): what follows is its value, not this one's.
                scanned = start
                break
            if end - start < (4 if password else 16):
                continue
            gap = text[k.end() : start - (1 if is_quoted else 0)]
            if not gap:
                # Glued to the keyword (`password_reset`, `token-bucket`), or the quote
                # closing a quoted name (`"ssl_password": ...`).
                continue
            if _followed_by_operator(text, end):
                continue  # `pwd: ModuleType | None = None`: an annotation or expression
            # The value follows the keyword ("token 7Gq2...", "API key (...)") or a verb after
            # it ("password for the admin UI: ...", "token is ..."): "the password is stored
            # in 1Password" names no password.
            if gap.strip() not in ("", "(") and not _gap_ends_in_verb(gap):
                continue
            value = text[start:end]
            clause_end = _rest_of(text, end)[:1] in ("", "\n", ".", ",", ";", ")", "!", "?")
            if _prose_value_ok(keyword, gap, value, is_quoted, clause_end):
                yield Hit(_kind_for(keyword, value, text, k.start()), start, end, k.start())
                break


def _judge_named_after(m: re.Match[str]) -> Hit | None:
    """`hunter2` is the password; used 7Gq2... as the deploy token."""
    value = value_of(m)
    keyword = m.group("key")
    if is_stand_in(value) or is_prose_word(value):
        return None
    if _PASSWORD_WORDS.fullmatch(keyword):
        ok = (quoted(m) and len(value) >= 4) or looks_like_password(value, camel=False)
    else:
        ok = looks_random(value)
    return hit(m, _kind_for(keyword, value, m.string, m.start())) if ok else None


NAMED_AFTER = Rule(
    re.compile(
        r"(?:\"(?P<qval>[^\"\n]{3,200})\"|'(?P<sqval>[^'\n]{3,200})'|`(?P<bval>[^`\n]{3,200})`"
        r"|(?<![^\s(])(?P<val>[A-Za-z0-9~!@#$%^&*+/_-][^\s\"'`,;()<>\[\]{}]{3,200}))"
        r"[ \t]{1,3}(?i:is|was|as)[ \t]{1,3}(?i:the|our|my|your|their|its|a|an)?[ \t]{0,3}"
        r"(?:[A-Za-z-]{1,20}[ \t]{1,3}){0,2}"
        r"(?P<key>(?i:passphrase|password|passwd|token|secret|api[ _-]?key))(?![A-Za-z0-9-])"
    ),
    _judge_named_after,
)


_CANDIDATE_START = re.compile(r"[\"'`A-Za-z0-9~!@#$%^&*+/_-]")


def _candidates(text: str, after: int) -> Iterator[tuple[int, int, bool]]:
    """(start, end, quoted) of the values starting within _GAP characters after `after`, on
    its line. Only the gap is searched for starts, so a keyword costs at most the gap and one
    value, whatever follows."""
    limit = min(len(text), after + _GAP + 1)
    newline = text.find("\n", after, limit)
    limit = newline if newline >= 0 else limit
    line_end = min(len(text), after + _WINDOW)
    newline = text.find("\n", after, line_end)
    line_end = newline if newline >= 0 else line_end
    position = after
    while position < limit:
        first = _CANDIDATE_START.search(text, position, limit)
        if first is None:
            return
        c = _CANDIDATE.match(text, first.start(), line_end)
        if c is None:
            position = first.start() + 1
            continue
        group = c.lastgroup or "val"
        start, end = c.span(group)
        # A sentence's full stop or a closing parenthesis is not part of the value.
        while end > start and text[end - 1] in ".,:;?)":
            end -= 1
        if group == "val" or not (text[start].isspace() or text[end - 1].isspace()):
            yield start, end, group != "val"  # (" with " is between two quoted words)
        position = c.end()


# --- base64 that decodes to a secret (a Kubernetes .dockerconfigjson, a base64'd .env) --------

_ENCODED = re.compile(
    r"(?<![A-Za-z0-9+/=_-])(?P<val>[A-Za-z0-9+/_-]{24,16384}={0,2})(?![A-Za-z0-9+/=_-])"
)


def encoded(inner: Callable[[str], dict[str, int]]) -> Stage:
    """A stage that decodes base64 runs and redacts the whole run when the decoded text holds a
    secret by the other rules (`inner`, which must not decode again)."""

    def stage(text: str) -> Iterator[Hit]:
        for m in _ENCODED.finditer(text):
            value = m.group("val")
            try:
                padded = value + "=" * (-len(value) % 4)
                alt = "-_" if ("-" in value or "_" in value) else None
                raw = base64.b64decode(padded, altchars=alt.encode() if alt else None)
                decoded = raw.decode("utf-8")
            except (binascii.Error, ValueError):
                continue
            if len(decoded) < 12 or not decoded.replace("\n", " ").isprintable():
                continue
            found = {k: n for k, n in inner(decoded).items() if k != "email"}
            if found:
                kind = "docker_auth" if '"auths"' in decoded or "docker_auth" in found else "secret"
                yield Hit(kind, m.start("val"), m.end("val"), m.start())

    return stage


# --- e-mail addresses -------------------------------------------------------------------------


def _judge_email(m: re.Match[str]) -> Hit | None:
    # git@host is the SSH user of every git remote, not a person.
    return None if m.group("val").split("@", 1)[0].lower() == "git" else hit(m, "email")


EMAIL = Rule(
    re.compile(
        r"(?<![\w.%+-])(?P<val>[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
        r"@[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24})"
        r"(?![\w-])"
    ),
    _judge_email,
    needs=("@",),
)


def stages() -> tuple[Stage, ...]:
    """In order: the most specific contexts first, e-mail addresses last."""
    return (
        URL_PASSWORD,
        *COMMANDS,
        *HEADERS,
        cookies,
        AUTH_BLOB,
        ASSIGNMENT,
        XML_ELEMENT,
        FLAGS,
        prose,
        NAMED_AFTER,
    )
