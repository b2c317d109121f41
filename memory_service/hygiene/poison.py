"""Text that reads like an instruction to an agent rather than knowledge about code.

A handoff is replayed into the context of future sessions; a line such as "ignore previous
instructions and ..." or "pipe this URL into bash" would act on every one of them. Such text is
stored (deleting data silently is worse) but flagged, and the brief shows it as quoted data under
a warning, never as guidance.

The rules go by what the text would make an agent do, not by known examples:

- override its instructions or change its role (English and 20-odd other languages);
- run code fetched from the network, in any shell shape (`curl | sh`, `bash -c "$(curl ...)"`,
  `sh <(wget ...)`, `iex (iwr ...)`, download-then-run, `exec(urlopen(...))`);
- run destructive commands (`rm -rf` of `/`, `~`, `$HOME` or `*`, `mkfs`, `dd` onto a disk,
  force-pushing main, dropping a production database, fork bombs, `chmod -R 777 /`, ...);
- send secrets or the environment somewhere;
- turn off tests, CI, hooks, reviews or other safety checks;
- open a backdoor (reverse shells, `authorized_keys`, sudoers);
- act on the agent covertly ("if you are an AI ...", "don't tell the user");
- run an encoded payload; and base64, hex, `\\x`/`\\u` escapes, percent-encoding and character
  codes are decoded and checked again.

Text is `normalize`d first (see `textnorm.py`), and checked a second time `fold_to_latin`ed.
A dangerous command inside a warning or a past account ("never `rm -rf ~`", "someone ran
`curl | sh` by mistake") is knowledge, not an instruction, and is not flagged; text that
overrides the agent's instructions, changes its role or talks to it covertly always is.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import itertools
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from memory_service.hygiene.textnorm import fold_to_latin, normalize

OVERRIDE = "overrides the agent's instructions"
ROLE = "tries to change the agent's role"
COVERT = "addresses the AI agent covertly"
FETCH_EXEC = "runs code fetched from the network"
DESTRUCTIVE = "destructive command"
EXFILTRATION = "sends secrets or the environment out"
DISABLE_SAFETY = "disables tests or safety checks"
BACKDOOR = "opens a backdoor or remote shell"
ENCODED_EXEC = "runs an encoded payload"
ENCODED = "encoded payload"

_MAX_DEPTH = 2
_MAX_PAYLOADS = 40


@dataclass
class _Alternative:
    pattern: re.Pattern[str]
    # For each required part of a match, lower-case strings one of which it contains (see
    # "Needles"); a text that lacks all the strings of one set cannot match.
    needles: tuple[frozenset[str], ...]
    # The numbers `_NeedleIndex` gave those sets.
    required: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Rule:
    reason: str
    pattern: re.Pattern[str]
    # A match inside a warning ("never ...") or a past account ("someone ran ...") is not an
    # instruction.
    warnable: bool = True
    # The match must start where an imperative does (start of a clause, "just ...", "you
    # should ...", "is to ..."): "we skip the tests on forks" describes, "skip the tests" tells.
    imperative: bool = False
    # Context right after the match that makes it ordinary ("skip the tests *locally*").
    exempt: re.Pattern[str] | None = None
    alternatives: tuple[_Alternative, ...] = ()

    def __post_init__(self) -> None:
        alternatives = tuple(
            _Alternative(re.compile(part, self.pattern.flags), tuple(_needle_sets(part)))
            for part in _split_top(self.pattern.pattern)
        )
        object.__setattr__(self, "alternatives", alternatives)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.MULTILINE)


# --------------------------------------------------------------------------------------------
# Needles: Python's `re` tries every alternative of a pattern at every position of the text, so
# each top-level alternative is compiled on its own and only run when the text contains one of
# the literal strings every match of it must contain. That makes the checks ~10x faster. The
# strings are found from the pattern itself (`_needles`), or given in a leading comment group
# `(?#needles:a,b)` where the pattern starts with something they cannot be read from.
# --------------------------------------------------------------------------------------------

_LITERAL_ESCAPES = frozenset(".-$()[]|{}*+?/\\'\"#&~:;,!<>=@%`^")
_LITERAL_CHARS = frozenset(" _'\"-/:;,@%&~=<>!`#")


def _skip_escape_or_comment(pattern: str, i: int) -> int | None:
    """Index past the escape or `(?#...)` comment at `i`, or None when there is none."""
    if pattern[i] == "\\":
        return i + 2
    if pattern.startswith("(?#", i):
        close = pattern.find(")", i)
        return len(pattern) if close == -1 else close + 1
    return None


def _class_end(pattern: str, start: int) -> int:
    """Index just past the character class that opens at `start`."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1  # a `]` right after `[` or `[^` is a literal
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _structure(pattern: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """Index, character and depth of each `(`, `)` and `|` of `pattern` from `start` on that is
    not in a character class, an escape or a comment. The depth counts the groups open around
    the character (a `(` and its `)` are outside their own group)."""
    depth, i = 0, start
    while i < len(pattern):
        if (skip := _skip_escape_or_comment(pattern, i)) is not None:
            i = skip
            continue
        c = pattern[i]
        if c == "[":
            i = _class_end(pattern, i)
            continue
        if c in "()|":
            if c == ")":
                depth -= 1
            yield i, c, depth
            if c == "(":
                depth += 1
        i += 1


def _split_top(pattern: str) -> list[str]:
    """`pattern` cut at its top-level `|`s."""
    bars = [i for i, c, depth in _structure(pattern) if c == "|" and depth == 0]
    return [pattern[a + 1 : b] for a, b in itertools.pairwise([-1, *bars, len(pattern)])]


def _element_end(pattern: str, start: int) -> int:
    """Index just past the group, class, escape or character that starts at `start`."""
    if (skip := _skip_escape_or_comment(pattern, start)) is not None:
        return skip
    if pattern[start] == "[":
        return _class_end(pattern, start)
    if pattern[start] != "(":
        return start + 1
    closed = (i for i, c, depth in _structure(pattern, start) if c == ")" and depth == 0)
    return next(closed, len(pattern) - 1) + 1


def _quantifier(pattern: str, i: int) -> tuple[bool, int]:
    """Whether the quantifier at `i` allows zero repetitions, and the index past it."""
    if i >= len(pattern) or pattern[i] not in "?*+{":
        return False, i
    if pattern[i] == "{":
        close = pattern.find("}", i)
        if close == -1:
            return False, i
        optional = pattern[i + 1 : close].split(",")[0] in ("", "0")
        i = close + 1
    else:
        optional = pattern[i] in "?*"
        i += 1
    if i < len(pattern) and pattern[i] in "?+":
        i += 1  # lazy or possessive
    return optional, i


_BOUND = "\x00"  # marks a needle that starts at a word boundary


def _needles(pattern: str, bounded: bool = False) -> frozenset[str] | None:
    """Lower-case strings one of which every match of `pattern` contains (None: not known):
    those of its most selective required element."""
    sets = _needle_sets(pattern, bounded)
    return max(sets, key=_selectivity) if sets else None


def _needle_sets(pattern: str, bounded: bool = False) -> list[frozenset[str]]:
    """For each required element of `pattern` that has them, the lower-case strings one of which
    every match of it contains: a plain string, or a group whose alternatives all have one, or
    the strings a leading `(?#needles:a,b)` comment gives. A match contains one string of each
    set. A string the pattern puts after `\\b` is marked with `_BOUND`."""
    sets: list[frozenset[str]] = []
    i = 0
    if pattern.startswith("(?#needles:"):
        i = pattern.index(")") + 1
        given = pattern[len("(?#needles:") : i - 1].lower().split(",")
        sets.append(frozenset(_BOUND + n[2:] if n.startswith("\\b") else n for n in given if n))
    while i < len(pattern):
        if pattern.startswith("\\b", i):
            i += 2
            bounded = True
            continue
        if pattern.startswith(("\\B", "\\A", "\\Z"), i) or pattern[i] in "^$":
            i += 1 if pattern[i] in "^$" else 2
            continue
        found: frozenset[str] | None
        if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?#", "(?P="), i):
            i, found = _quantifier(pattern, _element_end(pattern, i))[1], None
        elif pattern[i] == "(":
            end = _element_end(pattern, i)
            optional, after = _quantifier(pattern, end)
            found = None if optional else _group_needles(pattern[i + 1 : end - 1], bounded)
            i = after
        else:
            found, i = _literal_run(pattern, i, bounded)
        bounded = False
        if found is not None:
            sets.append(found)
    return sets


def _selectivity(needles: frozenset[str]) -> int:
    return min(len(n) + (2 if n.startswith(_BOUND) else 0) for n in needles)


def _group_needles(inner: str, bounded: bool) -> frozenset[str] | None:
    if inner.startswith("?:"):
        inner = inner[2:]
    elif inner.startswith("?P<"):
        inner = inner[inner.index(">") + 1 :]
    elif inner.startswith("?"):
        return None
    found: set[str] = set()
    for branch in _split_top(inner):
        part = _needles(branch, bounded)
        if part is None:
            return None
        found |= part
    return frozenset(found)


def _literal_run(pattern: str, i: int, bounded: bool) -> tuple[frozenset[str] | None, int]:
    """The strings the literal run at `i` can be (small character classes give several), if
    long enough to test for, and the index where scanning goes on."""
    start = i
    variants = [""]
    while i < len(pattern) and len(variants) <= 16:
        c = pattern[i]
        if pattern.startswith("\\s+", i):
            if not variants[0]:
                break
            variants = [v + " " for v in variants]  # the needle test sees one space per run
            i += 3
            continue
        elif c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in _LITERAL_ESCAPES:
            chars, end = [pattern[i + 1]], i + 2
        elif c.isalnum() or c in _LITERAL_CHARS:
            chars, end = [c], i + 1
        elif (
            c == "["
            and (close := pattern.find("]", i)) != -1
            and all(ch.isalpha() for ch in pattern[i + 1 : close])
        ):
            chars, end = list(pattern[i + 1 : close]), close + 1
        else:
            break
        optional, after = _quantifier(pattern, end)
        if optional:
            i = after
            break
        variants = [v + ch for v in variants for ch in chars]
        if after != end:  # `+` or `{n,m}`: present, but what follows may be a repeat
            i = after
            break
        i = end
    if i == start:  # nothing literal here: step over the element
        i = _quantifier(pattern, _element_end(pattern, i))[1]
    texts = {v.rstrip().lower() for v in variants}
    if not texts or not all(
        len(t) >= 2 or (t and (not t.isascii() or t in "|$<>`@={}%&;~")) for t in texts
    ):
        return None, i
    if bounded:
        texts = {_BOUND + t if t[0].isalnum() or t[0] == "_" else t for t in texts}
    return frozenset(texts), i


_Trie = dict[str, "_Trie"]


def _trie_pattern(words: list[str]) -> str:
    """A regex for the longest of `words` starting at a position, built as a trie
    (`a(?:b(?:c)?|d)` rather than `abc|ab|ad`), so each position costs one walk down it."""
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: _Trie) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


class _NeedleIndex:
    """Which needle sets of all the rules' alternatives a text hits, in one regex pass: at each
    position the longest needle starting there, plus the shorter needles it starts with."""

    def __init__(self, alternatives: list[_Alternative]) -> None:
        loose: dict[str, set[int]] = {}
        bounded: dict[str, set[int]] = {}
        numbers: dict[frozenset[str], int] = {}
        for alternative in alternatives:
            required = set()
            for needles in alternative.needles:
                number = numbers.setdefault(needles, len(numbers))
                required.add(number)
                for n in needles:
                    if n.startswith(_BOUND):
                        bounded.setdefault(n[1:], set()).add(number)
                    else:
                        loose.setdefault(n, set()).add(number)
            alternative.required = frozenset(required)
        words = sorted(set(loose) | set(bounded))
        self._scan = re.compile("(?=(" + _trie_pattern(words) + "))")
        # For each needle, the sets hit by it and by the needles it starts with: anywhere, and
        # at a word boundary.
        self._anywhere: dict[str, frozenset[int]] = {}
        self._at_boundary: dict[str, frozenset[int]] = {}
        for w in words:
            heads = [w[:k] for k in range(1, len(w) + 1)]
            anywhere = frozenset().union(*(loose.get(h, ()) for h in heads))
            self._anywhere[w] = anywhere
            self._at_boundary[w] = anywhere.union(*(bounded.get(h, ()) for h in heads))

    def find(self, text: str) -> set[int]:
        """The numbers of the needle sets `text` (lower case, whitespace runs as one space)
        holds a string of."""
        hit: set[int] = set()
        for m in self._scan.finditer(text):
            word = m.group(1)
            if not word:
                continue
            start = m.start()
            if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
                hit.update(self._at_boundary[word])
            else:
                hit.update(self._anywhere[word])
        return hit


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

# Any character of the same sentence (a dot inside a URL or a file name does not end it).
_SENTENCE = r"(?:[^\n.!?]|[.!?](?=\S))"
_FETCH = (
    r"(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod|aria2c|lwp-request"
    r"|httpie|http\s+(?:get\s+)?https?://)"
)
_SHELL = (
    r"(?:(?:sudo|doas|pkexec|runas)\s+(?:-\S+\s+)*)?(?:env\s+(?:\w+=\S*\s+)*)?(?:/usr)?(?:/local)?"
    r"(?:/bin/)?"
    r"(?:(?:ba|z|k|da|c|tc|fi|a|mk)?sh\b(?!\s+-n\b)|(?:python[\d.]*|perl|ruby|node|php|lua|deno"
    r"|bun)\b(?!\s+-(?:m|c|e|p)\b|\s+-mjson)|pwsh|powershell|iex|invoke-expression|source\b"
    r"|osascript|xargs\s+(?:-\S+\s+)*(?:ba)?sh\b)"
)
_PROTECTED_BRANCH = r"(?:main|master|trunk|prod(?:uction)?|release|live|stable)"
_SENSITIVE_FILE = (
    r"(?:\.env(?!\.?\w)|\.ssh\b|id_(?:rsa|dsa|ecdsa|ed25519)\b"
    r"|\.aws/credentials|\.netrc\b|\.npmrc\b|\.pypirc\b|\.git-credentials|\.kube/config"
    r"|\.docker/config\.json|/etc/shadow|/etc/passwd|\.bash_history|\.zsh_history"
    r"|credentials\.json|secrets?\.(?:ya?ml|json|env|txt|toml)|\.pem\b|\.p12\b|\.pfx\b"
    r"|\.gnupg|keychain|\.config/gh/hosts\.yml)"
)
_SENSITIVE_VAR = (
    r"\$\{?\w*(?:SECRET|TOKEN|PASSWORD|PASSWD|PASS\b|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?"
    r"|_PAT\b)\w*\}?"
)
_SENSITIVE_WORDS = (
    r"(?<!\w)(?:(?:api|access|secret|private|ssh|signing|deploy|gpg|pgp|master|aws|gcp|azure|cloud"
    r"|stripe|encryption|license)[\s_-]?keys?"
    r"|secrets?|client[\s_-]?secrets?|passwords?(?!\s*(?:policy|policies|reset|hash|field|manager"
    r"|rotation|length|strength|prompt|less))|passwd|(?:the|your|whole|entire|full)\s+(?:env|environment)"
    r"\b(?!\s+(?:name|file\s+template|example|is|for|config))|passphrases?|credentials?|creds"
    r"|(?:auth|access|bearer|refresh|session|github|gh|gitlab|npm|pypi|aws|slack|discord|openai"
    r"|personal[\s_-]access|pat|oauth|jwt|api)[\s_-]?tokens?"
    r"|tokens?(?!\s*(?:counts?|budgets?|limits?|usage|ids?|per\b|windows?|lengths?|izers?|s\b))"
    r"|env(?:ironment)?[\s_-]?var(?:iable)?s?|\.env(?!\.?\w)(?:\s+file)?|environment\s+secrets"
    r"|kubeconfig|cookies|session\s+cookies|system\s+prompt|id_(?:rsa|ed25519)"
    r"|[A-Z][A-Z0-9]*_(?:SECRET|TOKEN|PASSWORD|PAT)\w*|\w*(?:SECRET|API)_(?:ACCESS_)?KEY\w*"
    rf"|~/\.ssh|~/\.aws|\.aws/credentials|~?/?(?:[\w.-]+/)*{_SENSITIVE_FILE})(?!\w)"
)
_DESTINATION = (
    r"(?:https?://|ftp://|s3://|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b|\b\d{1,3}(?:\.\d{1,3}){3}\b"
    r"|webhooks?\b|pastebin|paste\s*(?:bin|site|service)|hastebin|ghostbin|gists?\b|discord"
    r"|telegram|requestbin|ngrok|transfer\.sh|webhook\.site|pipedream"
    r"|public\s+(?:issue|repo(?:sitory)?|gist|channel|comment|pr|pull\s+request|bucket|page)"
    r"|(?:an?|the|this|that|my|our|following)\s+(?:external|remote|outside|third[- ]party|personal"
    r"|attacker'?s?|collector|exfil\w*)\b"
    r"|(?:this|that|the\s+following|my|our)\s+(?:url|address|endpoint|server|host|ip|machine|bucket"
    r"|email)\b"
    r"|(?:your|the)\s+(?:final\s+|next\s+)?(?:reply|response|answer|output|chat|commit\s+message"
    r"|summary|handoff|notes|report)"
    r"|(?:the\s+|a\s+)?(?:ci|build|job|workflow|console|public|shared|action|pipeline)\s+(?:logs?"
    r"|output)|(?:bug\s+report|issue\s+tracker|support\s+ticket|forum|public\s+\w+)"
    r"|(?:pr|pull\s+request|mr|merge\s+request|issue)\s+(?:description|body|comments?|thread)"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|dev|app|xyz|ru|cn|tk|top|site|sh|cc|me|co|info|biz"
    r"|br|fr|de)\b(?!\.\w)|(?:the\s+|a\s+|this\s+)?(?:url|link|query\s+string|image\s+(?:url|link)"
    r"|markdown\s+image)\b"
    r"|(?:a|the)\s+comment\s+on|issue\s+#?\d+|email\s+to|e-?mail\s+it|slack\s+channel"
    r"|#[\w-]+\s+channel)"
)
# Verbs of the imperative mood that start an instruction (checked by `imperative` rules).
_LEADIN = re.compile(
    r"(?:^|[.!?;:()\[\]*`>\-\u2022]|\n|,\s*(?:and\s+|then\s+|so\s+)?"
    r"|\b(?:please|just|then|and|so|always|simply|now|quickly|first|also|next|finally|instead"
    r"|immediately|silently|quietly|secretly|to|you\s+(?:should|must|can|could|need\s+to|have\s+to"
    r"|may|will|shall|ought\s+to)(?:\s+(?:always|just|now|also|simply))?|(?:go\s+ahead|feel\s+free"
    r"|make\s+sure|be\s+sure|remember|don'?t\s+forget|it'?s\s+(?:fine|ok|okay|safe)|better|best"
    r"|safe)(?:\s+(?:and|to))?|important|note|fix|step\s*\d*|todo|action)"
    r")[\s*_`\"']*$",
    re.IGNORECASE,
)


# A clause that starts with one of these verbs tells someone to do something.
_IMPERATIVE_START = re.compile(
    r"^[\s>*#\-\d.)(`'\"\u2022]*(?:(?:please|just|now|first|then|also|quickly|simply),?\s+)*"
    r"(?:run|zip|tar|copy|send|add|put|take|make|use|set|create|open|delete|remove|upload|download"
    r"|push|pull|merge|commit|install|execute|paste|print|dump|export|archive|bundle|grab|fetch"
    r"|collect|gather|read|cat|write|post|share|forward|email|mail|attach|include|move|drop|wipe"
    r"|disable|skip|turn|switch|bypass|ignore|change|edit|replace|update|deploy|ship|release"
    r"|approve|give|grant|sync|back\s+up|encode|decode|pipe|call|invoke|start|stop|kill)\b",
    re.IGNORECASE,
)


def _imperative_at(text: str, start: int) -> bool:
    if _LEADIN.search(text[max(0, start - 60) : start]) is not None:
        return True
    before = text[max(0, start - 160) : start]
    cuts = list(_CLAUSE_START.finditer(before))
    return _IMPERATIVE_START.match(before[cuts[-1].end() :] if cuts else before) is not None


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

_OVERRIDE_VERB = (
    r"(?:ignore|ignoring|disregard|forget|override|overrule|bypass|discard|abandon|dismiss"
    r"|neglect|cancel|void|scrap|throw\s+(?:out|away)"
    r"|set\s+aside|put\s+aside|pay\s+no\s+(?:attention|heed|mind)\s+to|take\s+no\s+notice\s+of"
    r"|never\s*mind|nevermind)"
)
_FOLLOW_NEG = (
    r"(?:stop\s+(?:following|obeying|listening\s+to|respecting)|(?:do\s+not|don'?t|no\s+longer"
    r"|never)\s+(?:follow|obey|adhere\s+to|comply\s+with|listen\s+to|respect|apply))"
)
_STRONG_QUALIFIER = (
    r"(?:previous(?:ly)?|prior|above|earlier|preceding|foregoing|original|initial|former"
    r"|system|developer|your|built[- ]in|safety|operator'?s?)"
)
_INSTRUCTION_NOUN = (
    r"(?:instructions?|prompts?|directives?|guidelines?|guardrails?|safeguards?|programming"
    r"|system\s+(?:messages?|prompts?)|training|conditioning|commands?\s+(?:above|before|given))"
)
_WEAK_NOUN = (
    r"(?:rules|constraints|restrictions|polic(?:y|ies)|limitations|limits|context|orders"
    r"|directions|guidance|conversation|messages?|tasks?|settings|configuration|commands)"
)

_OVERRIDE_EN = _rx(
    rf"\b{_OVERRIDE_VERB}\b[^.\n]{{0,50}}?\b(?:{_STRONG_QUALIFIER}\b[^.\n]{{0,30}}?"
    rf"\b(?:{_INSTRUCTION_NOUN}|{_WEAK_NOUN})"
    rf"|(?:all|any|every|the|these|those|such|other)\s+(?:of\s+)?(?:the\s+|your\s+|my\s+|its\s+)?"
    rf"(?:other\s+|such\s+)?{_INSTRUCTION_NOUN}"
    rf"|(?:everything|anything|all)\s+(?:(?:that\s+)?(?:you(?:'ve|\s+have|\s+were)?\s+)?"
    rf"(?:been\s+)?(?:told|taught|instructed|given|read|learned|said)|above|before|prior"
    rf"|previously|else|so\s+far|up\s+to\s+(?:now|here))"
    rf"|what(?:ever)?\s+(?:you\s+(?:were|have\s+been|'ve\s+been)|i|they|we|the\s+\w+|your\s+\w+)"
    rf"\s+(?:\w+\s+)?(?:told|said|instructed|wrote|asked|configured|set\s+up|specified|defined"
    rf"|gave\s+you|programmed|taught|required|prescribed)"
    rf"|the\s+above(?=\s*(?:[.,;:!)\-]|$|and\b|instead\b|text\b|content\b|message\b|lines?\b))"
    rf"|(?:the\s+)?(?:{_INSTRUCTION_NOUN}|{_WEAK_NOUN})\s+(?:(?:that\s+)?you(?:'ve|\s+have|\s+were)"
    rf"\s+(?:been\s+)?(?:given|told|taught|assigned)|(?:given|provided|assigned)\s+to\s+you"
    rf"|above|before\s+this|you\s+(?:received|got)))\b"
    rf"|\b(?:{_INSTRUCTION_NOUN}|(?:safety|security|agent|system|your|operator|project)\s+(?:rules"
    rf"|polic(?:y|ies)|restrictions|constraints)|restrictions|policies)\b{_SENTENCE}{{0,80}}?"
    rf"\b(?:{_OVERRIDE_VERB}|{_FOLLOW_NEG})\s+(?:them|it|those|these|that)\b"
    rf"|\b(?:the\s+)?(?:above|previous|prior|preceding)\s+(?:text|content|message|instructions?"
    rf"|prompt|section|part)\s+(?:was|were|is)\s+(?:just\s+|only\s+|merely\s+)?(?:a\s+test|fake"
    rf"|a\s+decoy|an?\s+example|irrelevant|a\s+joke|not\s+real)"
    rf"|\b(?:treat|consider|regard|read|interpret|take|handle)\b[^.\n]{{0,60}}?\bas\s+(?:an?\s+|the\s+"
    rf"|your\s+)?(?:new\s+|real\s+|actual\s+|top[- ]priority\s+|highest[- ]priority\s+|binding\s+)?"
    rf"(?:system\s+(?:message|prompt|instructions?)|(?:operating|binding)\s+instructions|your\s+"
    rf"(?:instructions|orders|prompt)|instructions\s+from\s+(?:the\s+)?(?:user|operator|developer"
    rf"|system))\b"
    rf"|\b{_OVERRIDE_VERB}\b[^.\n]{{0,40}}?(?:CLAUDE\.md|AGENTS\.md|GEMINI\.md|\.cursorrules"
    rf"|copilot-instructions|\.windsurfrules|\.clinerules)"
    rf"|\b(?:prioriti[sz]e|put|place|rank|weigh)\b[^.\n]{{0,50}}?\b(?:over|above|before|ahead\s+of)\s+"
    rf"(?:the\s+|your\s+|any\s+|all\s+)?(?:system|previous|prior|original|other|developer|operator"
    rf"|your)?\s*(?:instructions?|prompts?|system\s+prompt|rules|guidelines|directives)\b"
    rf"|\b(?:just\s+|only\s+)?do\s+(?:exactly\s+|only\s+)?what\s+(?:this|the)\s+(?:handoff|file|note"
    rf"|message|document|comment|page|text|memo)\s+(?:says|tells\s+you|asks)\b"
    rf"|\b(?:do|follow|execute|obey|carry\s+out|perform)\s+(?:whatever|everything|anything|all)"
    rf"\s+(?:that\s+)?(?:the|this|that|any|a)\s+(?:\w+\s+){{0,5}}?(?:says|tells\s+you|asks|instructs"
    rf"|contains|requests|demands)\b"
    rf"|\b{_FOLLOW_NEG}\b[^.\n]{{0,30}}?\b{_STRONG_QUALIFIER}\b[^.\n]{{0,30}}?"
    rf"\b(?:{_INSTRUCTION_NOUN}|{_WEAK_NOUN})\b"
    rf"|\b(?:{_STRONG_QUALIFIER}|all|every|any)\s+(?:\w+\s+){{0,2}}(?:{_INSTRUCTION_NOUN}"
    rf"|{_WEAK_NOUN})\s+(?:(?:(?:are|is|were|was|have|has|as)\s+(?:now\s+)?(?:been\s+)?)?"
    rf"(?:(?:hereby|officially|now)\s+)?(?:void|null|obsolete|outdated|cancell?ed|revoked|invalid"
    rf"|superseded|replaced|lifted|suspended|disabled|wrong|a\s+mistake|changed|updated|revised"
    rf"|rewritten|overridden|overwritten|withdrawn|expired|reset|retracted|rescinded|annulled"
    rf"|inapplicable|moot|deprecated|not\s+applicable|no\s+longer\s+(?:valid|in\s+effect|apply"
    rf"|applicable|relevant|count|matter|hold))|(?:no\s+longer|do\s+not|don'?t)\s+(?:apply|count"
    rf"|matter|hold))\b"
    rf"|\byour\s+(?:new|real|actual|true|updated|revised|only|current)\s+(?:\w+\s+)?(?:instructions?"
    rf"|prompt|system\s+prompt|directives?|orders|guidelines|rules\s+(?:are|now))\b"
    rf"|\b(?:reset|clear|wipe|flush|erase|purge)\s+your\s+(?:context|memory|instructions|prompt"
    rf"|state|conversation|history|rules)(?![\w-])"
    rf"|\b(?:end|begin|start)\s+(?:of\s+)?(?:the\s+)?(?:system\s+(?:prompt|message|instructions)"
    rf"|new\s+instructions|injected\s+\w+)\b"
    rf"|\b(?:supersedes?|overrides?|takes?\s+precedence\s+over|has\s+priority\s+over)\s+(?:all"
    rf"|any|your|every|previous|prior|earlier|the\s+(?:system|previous|original))\s+"
    rf"(?:\w+\s+){{0,2}}(?:{_INSTRUCTION_NOUN}|rules|system|orders)\b"
    rf"|\b(?:real|actual|true|secret|hidden|updated|revised|new|overriding)\s+(?:system\s+)?"
    rf"(?:instructions?|directives?|orders|prompt)\s*(?::|(?:are|is|lie|live|sit|can\s+be\s+found)\s+"
    rf"(?:below|as\s+follows|these|in|inside|at|under|hidden|encoded|elsewhere)\b|follow\b|below\b)"
    rf"|\bnew\s+(?:system\s+)?(?:instructions?|directives?|system\s+prompt|prompt|orders|task"
    rf"|objective|goal|mission)\s*:"
    rf"|\byour\s+(?:only|new|real|actual|true|sole|primary|updated)\s+(?:job|task|goal|objective"
    rf"|purpose|mission|instruction|priority)\s+(?:now\s+)?(?:is|:)"
)

# Override in other languages: a verb of ignoring or forgetting near a word for instructions
# (or for rules, with a word for "previous"), in either order.
_ML_VERB = (
    # es, pt, it
    r"ignor[ae]\w*|olvid\w*|descart[ae]\w*|omit[ae]\w*|haz\s+caso\s+omiso|no\s+(?:sigas|sigan"
    r"|obedezcas|hagas\s+caso)|esque[cç]\w*|desconsider\w*|deix[ae]\s+de\s+lado|n[aã]o\s+(?:siga"
    r"|obede[cç]a)|dimentic\w*|trascur\w*|non\s+seguire"
    # fr
    r"|ignor\w*|oubli\w*|ne\s+(?:tiens?|tenez)\s+(?:pas\s+)?compte|fai(?:s|tes)\s+abstraction"
    r"|ne\s+sui(?:s|vez)\s+plus|passe[zr]?\s+outre|contourne\w*|fais\s+fi|faites\s+fi"
    # de, nl
    r"|ignorier\w*|vergiss\w*|vergessen|missacht\w*|[üu]bergeh\w*|umgeh\w*|au[ßs]er\s+acht"
    r"|befolge\s+\w*\s*nicht|nicht\s+(?:mehr\s+)?befolgen|negeer\w*|vergeet"
    # pl, tr, id, vi, sv, cs
    r"|zignoruj\w*|ignoruj\w*|zapomnij|yok\s+say\w*|g[öo]rmezden\s+gel\w*|abaikan\w*|lupakan"
    r"|b[ỏo]\s+qua|qu[êe]n|ignorera|gl[öo]m|ignoruj|zapome[nň]"
    # ru, uk
    r"|игнорир\w*|проигнорир\w*|забудь\w*|забуд\w*|не\s+обращай\w*\s+внимани\w*|отбрось\w*"
    r"|пренебреги\w*|не\s+(?:следуй|выполняй|соблюдай|слушай)\w*|отмен\w*|обойди\w*|ігноруй\w*"
    r"|забудь"
    # ar, hi, ko
    r"|تجاهل|انس|أهمل|अनदेखा|नज़रअंदाज़|भूल\s+जाओ|무시|잊어"
)
_ML_NOUN = (
    r"\w*anweisung\w*|\w*instruktion\w*|\w*vorgaben|\w*richtlinien|\w*prompts?\b"
    r"|instrucci[oó]n\w*|indicaciones|directrices|directivas|consignas|instru[cç][õo]es|instru[cç][aã]o"
    r"|orienta[cç][õo]es|diretrizes|diretivas|istruzioni|direttive|instructions?|consignes"
    r"|directives|anweisung\w*|instruktion\w*|vorgaben|richtlinien|systemprompt\w*|befehle"
    r"|instructies|opdrachten|instrukcj\w*|polecen\w*|talimat\w*|komut\w*|instruksi|perintah"
    r"|h[ưu][ớo]ng\s+d[ẫa]n|ch[ỉi]\s+d[ẫa]n|instruktioner|instrukce|инструкци\w*|указани\w*"
    r"|директив\w*|промпт\w*|установк\w*|інструкці\w*|вказівк\w*|التعليمات|تعليمات|निर्देश\w*"
    r"|지시\w*|지침\w*|명령\w*|프롬프트|prompts?"
)
_ML_WEAK_NOUN = (
    r"reglas|normas|[oó]rdenes|pautas|regras|ordens|restri[cç][õo]es|regole|r[èe]gles|ordres"
    r"|contraintes|regeln|einschr[äa]nkungen|beschr[äa]nkungen|regels|zasady|kurallar\w*|aturan"
    r"|quy\s+t[ắa]c|regler|pravidla|правил\w*|команд\w*|ограничени\w*|правил\w*|القواعد|नियम"
    r"|규칙"
)
_ML_QUALIFIER = (
    r"anterior\w*|previ[ao]s|pr[ée]vias?|de\s+arriba|acima|precedent\w*|ant[ée]rieur\w*"
    r"|ci-dessus|initial\w*|original\w*|tus|tes|vos|suas|tuas|vorherig\w*|bisherig\w*|obig\w*"
    r"|fr[üu]her\w*|vorangegangen\w*|urspr[üu]nglich\w*|deine|alle|vorige|eerdere|poprzedni\w*"
    r"|[öo]nceki|sebelumnya|tr[ưu][ớo]c\s+đ[óo]|tidigare|p[řr]edchoz\w*|предыдущ\w*|прежн\w*"
    r"|вышеуказанн\w*|старые|все|свои|попередн\w*|السابقة|पिछले|이전|모든|todas?|toutes?"
    r"|del\s+sistema|do\s+sistema|du\s+syst[eè]me|dello\s+sistema|des\s+systems|system\w*"
    r"|sistema|syst[eè]me|системн\w*|системы|システム|시스템"
)
_ML_EVERYTHING = (
    r"todo\s+lo\s+(?:que\s+)?(?:\w+\s+){0,3}?(?:anterior|antes|dicho|previo|arriba)"
    r"|tout\s+ce\s+(?:que|qui)\s+(?:\S+\s+){0,4}?(?:avant|pr[ée]c[èe]de|dit|ci-dessus)"
    r"|tudo\s+(?:o\s+)?que\s+(?:\w+\s+){0,4}?(?:antes|acima|disse|falei|foi\s+dito)"
    r"|tutto\s+(?:quello|ci[òo])\s+che|вс[её],?\s+что\s+(?:\w+\s+){0,4}?(?:выше|ранее|до\s+этого"
    r"|говорил\w*|сказано)|tout\s+ce\s+qu'on"
    r"|alles(?:,)?(?:\s+\w+){0,4}\s+(?:vorher|bisher|oben|davor|zuvor)\w*|tudo\s+(?:o\s+que\s+"
    r"(?:\w+\s+){0,2})?(?:antes|acima|anterior\w*)|tutto\s+(?:quello|ci[òo])|вс[её](?:,)?\s+"
    r"(?:что|сказанное|выше|ранее|до\s+этого)|alle\s+eerdere|wszystko\s+(?:powy[żz]ej|wcze[śs]niej)"
)
_OVERRIDE_ML = _rx(
    rf"(?:\b|^)(?:{_ML_VERB})(?:\b|$)[^.\n。]{{0,50}}?(?:\b(?:{_ML_NOUN})|(?:{_ML_QUALIFIER})"
    rf"\W+(?:\w+\W+){{0,2}}?(?:{_ML_WEAK_NOUN})|(?:{_ML_WEAK_NOUN})\W+(?:\w+\W+){{0,2}}?"
    rf"(?:{_ML_QUALIFIER})|{_ML_EVERYTHING})"
    rf"|(?:\b(?:{_ML_QUALIFIER})\W+(?:\w+\W+){{0,2}}?(?:{_ML_NOUN}|{_ML_WEAK_NOUN})|\b(?:{_ML_NOUN}"
    rf"))[^.\n。]{{0,40}}?(?:ignorieren|vergessen|ignorer|oublier|ignorar|olvidar|negeren"
    rf"|игнорировать|забыть|무시|잊어|को\s+अनदेखा)"
    # zh (simplified and traditional)
    r"|(?:忽略|忽视|忽視|无视|無視|忘记|忘記|忘掉|不要理会|不要理會|别管|別管|不理|跳过|跳過|放弃|放棄"
    r"|抛开|拋開|抛弃|拋棄|不再遵守|不要遵守|不用遵守|不必遵守|绕过|繞過|覆盖|覆蓋|撤销|撤銷)"
    r"[^。\n]{0,20}?(?:指令|指示|说明|說明|规则|規則|提示词|提示詞|提示|命令|设定|設定|限制|约束|約束"
    r"|要求|准则|準則|(?:以上|上面|之前|前面|上述|所有|全部)的?(?:内容|內容|对话|對話)|上文|前文)"
    r"|(?:之前|以前|先前|此前|上面|上述|以上|前面|原来|原來|原有|所有|全部|一切|系统|系統)的?"
    r"[^。\n]{0,8}?(?:指令|指示|说明|說明|规则|規則|提示词|提示詞|设定|設定)[^。\n]{0,12}?"
    r"(?:都)?(?:作废|作廢|无效|無效|不再适用|不再適用|忽略|无视|無視|忘记|忘記)"
    # ja
    r"|(?:以前|前|上記|上|これまで|今まで|先ほど|先程|すべて|全て|全部|既存|元|最初|システム)の?"
    r"[^。\n]{0,12}?(?:指示|命令|ルール|指令|プロンプト|設定|制約|規則|ガイドライン|制限|会話|内容"
    r"|やり取り|文脈)[^。\n]{0,12}?(?:無視|忘れ|破棄|従わ|取り消|リセット|無効)"
    r"|(?:指示|命令|ルール|指令|プロンプト)[^。\n]{0,6}?(?:を|は)[^。\n]{0,6}?(?:無視|忘れ)"
    r"|(?:指示|プロンプト|ルール|命令)より[^。\n]{0,20}?優先|优先于[^。\n]{0,6}?(?:指令|指示|提示|规则)"
    r"|(?:prioriza|prioritiza|priorise|priorisiere|privilegia)\w*[^.\n]{0,50}?(?:sobre|sur|über"
    r"|vor|rispetto)\s+(?:las?\s+|les?\s+|den\s+|die\s+|as?\s+|os\s+)?(?:\w+\s+)?(?:instrucci"
    r"|instruc|anweisung|instru[cç]|istruzion|regeln|reglas|r[èe]gles|regras)\w*"
    r"|(?:vorrang|priorit[ée]|prioridad|prioridade)\s+(?:vor|sur|sobre)\s+(?:den\s+|les\s+|las\s+|as\s+)?"
    r"(?:\w+\s+)?(?:\w*anweisung|instruction|instrucci|instru[cç]|regel|r[èe]gle|regla|regra)\w*"
)

_ROLE = _rx(
    r"\byou(?:'re|\s+are|\s+will\s+(?:now\s+)?be)\s+(?:now|henceforth|from\s+now\s+on)\b[\s,]+"
    r"(?:(?:an?|the|in|my|called|named|acting\s+as|playing)\s+)?[^.\n]{0,40}?\b(?:ai|assistant|agent"
    r"|bot|model|admin"
    r"|administrator|root|superuser|owner|god|dan|jailbroken|unrestricted|unfiltered|uncensored"
    r"|free|developer|mode|persona|character|shell|terminal|hacker|evil|different|new|stan"
    r"|maintainer|operator|human|person|sudo)\b"
    r"|\byou(?:'re|\s+are)\s+no\s+longer\s+(?:an?\s+)?(?:bound|restricted|limited|constrained"
    r"|required\s+to|subject\s+to|(?:ai|assistant|language\s+model|claude|chatgpt|codex)\b)"
    r"|\byou(?:'re|\s+are)\s+(?:now\s+)?(?:free|allowed|permitted|authori[sz]ed|cleared)\s+to\s+"
    r"(?:ignore|bypass|break|disregard|skip|override|do\s+anything|act\s+without)"
    r"|\byou\s+(?:will|must|shall|should)\s+now\s+(?:act|behave|respond|pretend|be|roleplay|play|answer"
    r"|obey|ignore|follow|only)\b"
    r"|\b(?:obey|follow|heed|execute)\s+only\s+(?:the\s+)?(?:instructions|rules|orders|directions"
    r"|commands|directives)\s+(?:in|embedded|inside|from|given|contained|below|here)\b"
    r"|\byour\s+(?:new\s+)?name\s+is\s+now\b|\bi\s+want\s+you\s+to\s+(?:act|behave|pretend|respond"
    r"|roleplay|role-play)\s+(?:as|like)\b"
    r"|\b(?:respond|reply|answer)\s+to\s+(?:every|each|all|any)\s+(?:request|message|prompt|question"
    r"|task)s?\s+(?:by|with)\b"
    r"|\b(?:system|admin|priority|security|emergency|root|developer|operator)\s+override\b"
    r"|\bdrop\s+(?:your|all\s+(?:your\s+)?|the\s+(?:previous|prior|system)\s+)(?:\w+\s+)?(?:persona"
    r"|role|character|identity|instructions|rules|guardrails|restrictions|prompt|system\s+prompt)\b"
    r"|\b(?:from\s+now\s+on|from\s+here\s+on|from\s+this\s+point\s+on|henceforth|going\s+forward"
    r"|for\s+the\s+rest\s+of\s+(?:this|the)\s+(?:session|conversation)),?\s+you\s+(?:are|will\s+(?:be"
    r"|act|behave|respond|answer|obey|only"
    r"|always|never|ignore|do)|act|behave|must\s+(?:obey|ignore|always|never|only)|have\s+no"
    r"|no\s+longer|shall|should\s+(?:ignore|always|obey)|can\s+(?:ignore|do\s+anything))"
    r"|\b(?:act|behave|respond|operate|roleplay|role-play|answer|reply|write)\s+as\s+(?:(?:if|though)\s+"
    r"you\s+(?:are|were)\s+)?"
    r"(?:an?\s+|the\s+|my\s+)?(?:[\w'-]+\s+){0,2}?(?:admin(?:istrator)?|root|superuser|unrestricted"
    r"|unfiltered|jailbroken|uncensored|dan|evil|malicious|hacker|owner|god|sudo|system|lead"
    r"|manager|cto|ceo|maintainer|approver|operator|security\s+(?:team|officer|engineer)|terminal"
    r"|shell|console)\b"
    r"|\bpretend\s+(?:to\s+be|(?:that\s+)?you\s+(?:are|were|have|can)|you'?re)\b"
    r"|\b(?:developer|dev|god|admin|debug|jailbreak|dan|unrestricted|sudo|unlocked|maintenance)"
    r"\s+mode\s+(?:is\s+)?(?:now\s+)?(?:on|enabled|activated|unlocked|engaged)\b"
    r"|\b(?:enable|enter|activate|switch\s+to|turn\s+on)\s+(?:developer|god|jailbreak|dan"
    r"|unrestricted|sudo)\s+mode\b|\bjailbr(?:eak|oken)\b|\bdo\s+anything\s+now\b"
    r"|\byou\s+(?:have|has)\s+no\s+(?:[\w-]+\s+(?:or\s+[\w-]+\s+)?)?(?:restrictions|limits"
    r"|limitations|rules|guidelines|filters|boundaries|constraints|guardrails)\b"
    r"|<\|?\s*(?:im_start|im_end|system|endoftext|start_header_id|end_header_id|eot_id)\s*\|?>"
    r"|\[/?(?:INST|SYS|SYSTEM)\]|<<\s*/?SYS\s*>>|</?system(?:_prompt)?>"
    r"|^[\s>*#-]*\[?(?:system|sys)\]?\s*(?:prompt|message|override|note|update)?\s*[:\]]\s*"
    r"(?:you\b|the\s+(?:assistant|agent|ai|model)\b|new\b|ignore\b|all\b|from\s+now|override\b)"
    r"|\b(?:reveal|print|show|output|repeat|leak|dump|display|disclose|share|tell\s+me|give\s+me"
    r"|paste|echo|include)\s+(?:me\s+)?(?:your|the)\s+(?:full\s+|entire\s+|original\s+|hidden\s+"
    r"|initial\s+|complete\s+|exact\s+)?(?:system\s+prompt|system\s+message|hidden\s+instructions"
    r"|initial\s+instructions|instructions\s+verbatim|prompt\s+verbatim)"
    r"|\breveal\s+your\s+(?:instructions|prompt|rules)\b"
    r"|\b(?:imagine|let'?s\s+(?:pretend|play\s+a\s+game|role-?play))\s+(?:that\s+|where\s+)?you"
    r"\s+(?:are|were|have|can)\b|\bsimulate\s+(?:an?\s+)?(?:\w+\s+)?(?:ai|terminal|shell|jailbroken"
    r"|unrestricted|evil|uncensored)\b"
    r"|(?:act[uú]a|act[uú]e|agis|agissez|verhalte\s+dich|handle|aja|atue|agisci|comportati"
    r"|веди\s+себя|действуй)\s+(?:como|comme|als|wie|come|как)\b[^.\n]{0,40}?(?:admin\w*|root"
    r"|sin\s+restricciones|sans\s+(?:restrictions|limites)|ohne\s+(?:einschr[äa]nkungen"
    r"|beschr[äa]nkungen|regeln)|sem\s+restri[cç][õo]es|senza\s+restrizioni|без\s+ограничени\w*"
    r"|superusuari\w*|propietari\w*|dueñ\w*|propri[ée]taire|eigent[üu]mer|dono|proprietari\w*"
    r"|dan\b|hacker|владел\w*|суперпользовател\w*|администратор\w*)"
    r"|\b(?:finge|fingi|finja|fais\s+semblant|faites\s+semblant|tu\s+so,?\s+als\s+ob"
    r"|притворись|представь,?\s+что\s+ты)\b"
    r"|\b(?:this\s+is|i\s+am|i'm|message\s+from|note\s+from|on\s+behalf\s+of)\s+(?:your\s+)?"
    r"(?:developer|creator|maker|admin(?:istrator)?|operator|owner|anthropic|openai|the\s+system"
    r"|system\s+administrator|the\s+security\s+team|your\s+(?:real\s+)?user)\b(?:\s+speaking)?"
    r"(?=\s*[.,:;!-]|\s+speaking|\s+and\s+i)"
    # other languages
    r"|\b(?:a\s+partir\s+de\s+ahora|desde\s+ahora|de\s+ahora\s+en\s+adelante|ahora)\s*,?\s*(?:t[uú]\s+)?"
    r"(?:eres|ser[aá]s|act[uú]a\w*)\b|\b(?:à\s+partir\s+de\s+maintenant|d[ée]sormais|dor[ée]navant"
    r"|maintenant)\s*,?\s*(?:tu\s+es|vous\s+[êe]tes|tu\s+vas\s+(?:agir|[êe]tre)|agis)"
    r"|\btu\s+es\s+(?:maintenant|d[ée]sormais)\b|\bvous\s+[êe]tes\s+(?:maintenant|d[ée]sormais)\b"
    r"|\b(?:ab\s+(?:jetzt|sofort)|von\s+nun\s+an|ab\s+heute)\s*,?\s*(?:bist\s+du|sind\s+sie"
    r"|handelst\s+du|verh[äa]ltst\s+du)\b|\bdu\s+bist\s+(?:jetzt|ab\s+jetzt|nun|ab\s+sofort)\b"
    r"|\b(?:a\s+partir\s+de\s+agora|de\s+agora\s+em\s+diante|agora)\s*,?\s*(?:voc[eê]|tu)\s+"
    r"(?:[ée]|[ée]s|ser[aá]s?|vai\s+(?:agir|ser))\b|\bvoc[eê]\s+agora\s+[ée]\b"
    r"|\b(?:d'ora\s+in\s+poi|da\s+ora\s+in\s+poi|da\s+adesso)\s*,?\s*(?:tu\s+)?sei\b"
    r"|\bvanaf\s+nu\s+ben\s+je\b|\bod\s+teraz\s+jeste[sś]\b|\bartık\s+sen\b"
    r"|(?:отныне|теперь|с\s+этого\s+момента|с\s+сегодняшнего\s+дня)\s*,?\s*ты\s*(?:-\s*)?"
    r"(?:\w+\s+){0,2}?(?:администратор\w*|админ\w*|root|суперпользовател\w*|без\s+ограничени\w*"
    r"|не\s+ограничен\w*|свобод\w*|dan|владел\w*|хакер\w*|другой|нов\w+)"
    r"|\bты\s+(?:теперь|больше\s+не)\s+(?:\w+\s+){0,2}?(?:администратор\w*|ассистент|ии|ai"
    r"|ограничен\w*|связан\w*|бот|агент)"
    r"|(?:从现在开始|從現在開始|从现在起|從現在起|从今以后|從今以後|今后|今後|接下来|接下來)[，,\s]*你"
    r"(?:是|将|將|要|必须|必須|就是|现在是|現在是|扮演)|你(?:现在|現在|已经|已經)是|假装你是|假裝你是"
    r"|扮演一个|扮演一個|没有任何限制|沒有任何限制|不受任何限制|开发者模式|開發者模式"
    r"|(?:今から|これから|以後|今後|この後)[、,\s]*(?:あなた|君|きみ|お前|おまえ)は"
    r"|(?:あなた|君|お前)は(?:今から|これから|もう)?[^。\n]{0,15}?(?:制限のない|無制限|制約のない"
    r"|管理者|開発者モード|DAN|ルート)|開発者モード"
    r"|지금부터\s*(?:너는|당신은|넌)|제한\s*없는"
)

_COVERT = _rx(
    r"\bif\s+you(?:\s+are|'re|\s+happen\s+to\s+be)\s+(?:an?\s+)?(?:ai|a\.i\.|llm|large\s+language"
    r"\s+model|language\s+model|chatbot|bot|assistant|agent|automated\s+\w+|coding\s+agent"
    r"|copilot|claude|codex|gpt|chatgpt|gemini|model|machine)\b"
    r"|\b(?:ai|llm|language\s+model|assistant|agent|model|bot|claude|codex|copilot|gpt|chatgpt"
    r"|gemini|cursor|devin)s?\s+(?:that\s+(?:is|are)\s+|who\s+(?:is|are)\s+)?(?:reading|processing"
    r"|parsing|seeing|ingesting|summari[sz]ing|indexing|scanning)\s+(?:this|these)\b"
    r"|\bwhen\s+(?:an?\s+|the\s+)?(?:ai|llm|assistant|agent|model|claude|codex|copilot|you)\s+"
    r"(?:reads?|sees?|process(?:es)?|encounters?|finds?|gets?\s+to)\s+this\s*(?:[,.;:!-]|$"
    r"|(?:message|note|line|comment|text|handoff)\b)"
    r"|\b(?:do\s+not|don'?t|never|without)\s+(?:(?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?"
    r"|alert(?:ing)?|warn(?:ing)?)\s+(?:the\s+|your\s+)?(?:user|human|developer|operator|reviewer"
    r"|maintainer|owner|anyone|anybody|people)s?(?=\s*(?:[.,;:!)\u2014-]|$|about\b|of\s+(?:this"
    r"|it)\b|that\s+you\b|what\b|and\b|or\b|before\b|until\b))|let(?:ting)?\s+(?:the\s+|your\s+)?"
    r"(?:user|human|developer|operator|reviewer|maintainer|owner|anyone|anybody)s?\s+know\b)"
    r"|\b(?:do\s+not|don'?t|never)\s+(?:mention|reveal|disclose|show|report|log)\s+(?:this|it"
    r"|these\s+\w+|that|anything)\b[^.\n]{0,30}?\bto\s+(?:the\s+)?(?:user|human|developer"
    r"|reviewer|operator|maintainer|anyone)\b"
    r"|\b(?:keep|hide)\s+(?:this|it|these\s+\w+)\s+(?:\w+\s+)?(?:secret\s+|hidden\s+|quiet\s+"
    r"|private\s+)?from\s+(?:the\s+)?(?:human\s+|user\s+)?(?:user|human|developer|reviewer"
    r"|operator|maintainer|team|owner)s?\b"
    r"|(?:^|[.!?;:,]\s*|\b(?:and|then|please|you\s+(?:must|should|will|can)|just)\s+)(?:silently"
    r"|secretly|quietly|covertly|discreetly|stealthily)\s+(?:run|execute|add|delete|remove|push"
    r"|install|send|upload|modify|change|commit|merge|deploy|disable|insert|rotate|replace"
    r"|overwrite|download|approve|grant|copy|exfiltrate|post|edit|append)\b"
    r"|\b(?:the\s+)?(?:user|owner|admin(?:istrator)?|maintainer|operator|security\s+team|lead"
    r"|cto|management|developer)s?\s+(?:has\s+|have\s+)?(?:already\s+)?(?:explicitly\s+)?"
    r"(?:authori[sz]ed|approved|permitted|allowed|granted|pre-?approved|okayed|cleared)\s+"
    r"(?:you|the\s+(?:agent|assistant|ai|model)|agents?|assistants?)\b"
    r"|^[\s>*#-]*(?:(?:hey|hi|dear|attention|psst|note|message|instructions?|memo|p\.?s\.?)"
    r"\s*(?:to|for)?\s*,?\s*)?(?:the\s+)?(?:ai|llm|assistant|claude|codex|copilot|chatgpt|gpt"
    r"|gemini|language\s+model|ai\s+(?:agent|assistant))\b\s*[:,\u2014\u2013-]+\s*"
    r"(?:you\b|please\b|ignore\b|run\b|execute\b|do\b|always\b|never\b|make\s+sure\b|delete\b"
    r"|push\b|send\b|from\s+now\b|the\s+user\b|when\s+you\b|silently\b|quietly\b|skip\b"
    r"|remember\b|disable\b|install\b|add\b|remove\b)"
    r"|\b(?:hey|hi|dear|attention|psst)\s*,?\s*(?:the\s+)?(?:ai|llm|assistant|claude|codex"
    r"|copilot|chatgpt|gpt|gemini|agent|bot|model)\b"
    r"|\b(?:note|message|instructions?|memo)\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|llm"
    r"|language\s+model|chatbot|claude|codex|copilot|chatgpt|gpt|gemini)\b"
    r"|\bfor\s+(?:ai|llms?|automated\s+\w+|bots?|language\s+models?|ai\s+\w+|machines?)\s*"
    r"(?:eyes\s+|readers\s+)?only\b"
    r"|\b(?:this|the\s+following)\s+(?:line|part|section|note|text|message|paragraph|block)?\s*"
    r"(?:is|are)\s+(?:only\s+)?(?:for|meant\s+for|addressed\s+to|intended\s+for)\s+(?:the\s+"
    r"|any\s+)?(?:ai|assistant|llm|language\s+model|bot|claude|codex|copilot|gpt|chatgpt|model)s?\b"
    r"|\b(?:when(?:ever)?\s+(?:this|the)\s+(?:handoff|file|message|note|document|text|brief|memory"
    r"|page|comment)\s+(?:is|gets)\s+(?:loaded|read|opened|processed|parsed|seen|ingested|shown"
    r"|summari[sz]ed)|upon\s+(?:reading|loading|seeing|processing)\s+this)(?:\s+by\s+(?:an?\s+|the\s+)?"
    r"(?:ai|agent|assistant|llm|model|you))?\s*,\s*(?:(?:immediately|quietly|silently|please|just"
    r"|first|then|you\s+must|you\s+should)\s+)?(?:run|execute|start|delete|push|send|ignore|disable"
    r"|install|merge|deploy|remove|add|approve|skip|curl|rm|upload|post|forget|drop|wipe)\b"
    r"|^[\s>*#-]*(?:hey\s+)?(?:the\s+)?(?:ai|assistant|bot|model|llm|claude|codex|copilot|chatgpt"
    r"|gemini)\s*,\s+(?:immediately|silently|quietly|secretly|ignore|disregard|forget|delete|push"
    r"|run|execute|disable|skip|send|upload|without|do\s+not\s+tell|don'?t\s+tell|treat|obey"
    r"|follow|approve|merge)\b"
    r"|\b(?:no\s+need\s+to|don'?t|do\s+not|never)\s+(?:ask|confirm\s+with|check\s+with|consult)"
    r"\s+(?:the\s+|your\s+)?(?:human|user|operator|developer|reviewer|anyone)s?\b"
    r"(?!\s+(?:for|to|about|again|twice|which|whether|if)\b)"
    r"|\b(?:you|ai|assistants?|agents?|llms?|models?|claude|codex|copilot)\b[^.\n]{0,30}?"
    r"(?:must\s+not|mustn'?t|should\s+not|shouldn'?t|do\s+not|don'?t|never|cannot|may\s+not)\s+"
    r"(?:reveal|disclose|mention|tell|say|admit|show|report|explain|let\s+on)\b[^.\n]{0,20}?"
    r"\bto\s+(?:the\s+|your\s+)?(?:user|human|developer|operator|reviewer|maintainer)s?\b"
    r"|\b(?:do\s+not|don'?t|never)\s+(?:mention|reveal|disclose|repeat|acknowledge|discuss)\s+"
    r"(?:these|this|the(?:se)?\s+(?:above\s+)?|any\s+of\s+these\s+)(?:instructions|rules|directives"
    r"|notes?|steps?|messages?|comments?|lines?)\b"
    r"|\b(?:tell|reply\s+to|report\s+to|inform|assure|say\s+to|answer)\s+(?:the\s+)?(?:user|human"
    r"|reviewer|operator|developer)s?\s+(?:that\s+)?[^.\n]{0,60}?\b(?:whatever|regardless\s+of"
    r"|no\s+matter\s+what|even\s+if)\b"
    r"|\b(?:claim|say|report|pretend|state|announce)\s+(?:that\s+)?(?:all\s+)?(?:the\s+)?(?:tests?|ci"
    r"|checks?|build)\s+(?:passed|pass|are\s+green|is\s+green|succeeded)\s+(?:even\s+if|regardless"
    r"|whatever|no\s+matter)"
    r"|\b(?:do\s+not|don'?t|never)\s+(?:include|mention|show|report|surface|repeat|quote"
    r"|summari[sz]e|disclose)\s+(?:this|these|the\s+following)\s+(?:\w+\s+)?(?:bullet|line|note"
    r"|step|section|instructions?|part|paragraph|comment|text|message|change|command)s?\b"
    r"|\bwithout\s+(?:the\s+|your\s+)?(?:user|human|developer|operator|reviewer|anyone|anybody)s?\s+"
    r"(?:noticing|knowing|seeing|being\s+aware|finding\s+out|realizing)\b"
    r"|\b(?:hide|conceal|mask|obscure)\s+(?:this|it|the\s+(?:change|commit|step|command)s?)\s+"
    r"from\s+(?:the\s+)?(?:user|human|logs?|reviewers?|git\s+history|diff|audit\s+log)\b"
    # other languages: "if you are an AI", "don't tell the user"
    r"|\bsi\s+(?:eres|es|tu\s+es|vous\s+[êe]tes)\s+(?:une?\s+)?(?:ia|ai|intelig\w+|assistant\w*"
    r"|agent\w*|llm)|\bwenn\s+du\s+(?:eine?\s+)?(?:ki|ai|assistent|agent|llm)\s+bist"
    r"|\bse\s+voc[eê]\s+(?:[ée]|for)\s+(?:uma?\s+)?(?:ia|ai|assistente|agente)"
    r"|\bесли\s+ты\s+(?:—\s*)?(?:ии|ai|ассистент|агент|бот|нейросеть)"
    r"|如果你是(?:一个|一個)?(?:AI|人工智能|助手|模型|智能体)|もしあなたが(?:AI|アシスタント)"
    r"|\bno\s+(?:le\s+)?(?:digas|informes|avises)\s+(?:nada\s+)?al\s+usuario"
    r"|\bne\s+(?:le\s+)?dis\s+(?:rien\s+)?(?:pas\s+)?(?:à\s+)?l'utilisateur"
    r"|\bsag\s+(?:es\s+)?(?:dem\s+)?(?:benutzer|nutzer)\s+nicht|\bn[aã]o\s+(?:conte|diga|avise)"
    r"\s+(?:nada\s+)?(?:a|ao)\s+usu[aá]rio|не\s+говори\s+(?:об\s+этом\s+)?пользовател"
    r"|不要告诉用户|不要告訴用戶|ユーザーに(?:は)?(?:言わない|伝えない|知らせない)"
)

_FETCH_EXEC = _rx(
    # curl ... | sh (with tee or a decompressor in between)
    rf"\b{_FETCH}\b[^\n|]{{0,300}}\|\s*(?:(?:tee|gunzip|gzip\s+-d|zcat|bzcat|xzcat|cat)\b[^\n|]"
    rf"{{0,80}}\|\s*)?{_SHELL}"
    # sh <(curl ...), source <(curl ...), . <(curl ...)
    rf"|(?:\b{_SHELL}|(?:^|[;&|`(]\s*)\.)\s*(?:-\S+\s+)*<\(\s*(?:sudo\s+)?{_FETCH}\b"
    # bash -c "$(curl ...)", eval "$(curl ...)", python -c "$(curl ...)", eval `curl ...`
    rf"|(?:\b(?:ba|z|k|da|c|tc)?sh\s+(?:-\w+\s+)*-c|\b(?:python[\d.]*|perl|ruby|node|php)\s+-[ce]"
    rf"|\beval|\bexec|\bsource|(?:^|[;&|`(]\s*)\.|\binvoke-expression|\biex)\s*[\"'(]*\s*"
    rf"(?:\$\(|`)\s*(?:sudo\s+)?{_FETCH}\b"
    rf"|<<<\s*[\"']?(?:\$\(|`)\s*(?:sudo\s+)?{_FETCH}\b|<\s*<\(\s*(?:sudo\s+)?{_FETCH}\b"
    r"|\b(?:npx|bunx|pnpm\s+dlx|yarn\s+dlx|uvx|pipx\s+run|deno\s+run)\s+(?:-\S+\s+)*https?://"
    # PowerShell: iex (iwr ...), IEX (New-Object Net.WebClient).DownloadString(...)
    r"|\b(?:iex|invoke-expression)\b\s*[(\s][^\n]{0,40}?(?:iwr|irm|invoke-webrequest"
    r"|invoke-restmethod|new-object\s+(?:system\.)?net\.webclient|downloadstring|\bcurl\b|\bwget\b"
    r"|\.content\b)"
    r"|\bdownloadstring\s*\([^\n]{0,200}\)[^\n]{0,20}\|\s*(?:iex|invoke-expression)"
    r"|\b(?:start-process|&)\s*\(?\s*(?:iwr|irm|invoke-webrequest)\b"
    # exec(urlopen(...).read()), eval(requests.get(...).text), eval(await fetch(...))
    r"|\b(?:exec|eval|execfile|runpy\.run_path|new\s+function|function)\s*\(\s*[^\n]{0,120}?"
    r"(?:urlopen|urllib|requests\.get|httpx\.get|http\.client|fetch\s*\(|urlretrieve"
    r"|\.read\(\)\.decode|\bcurl\b|\bwget\b|file_get_contents\s*\(\s*['\"]https?:|uri\.open"
    r"|open-uri|net::http|lwp::simple|https?\.get\s*\()"
    r"|\b(?:include|require)(?:_once)?\s*\(?\s*['\"]https?://"
    # download, then run what was downloaded
    rf"|\b{_FETCH}\b[^\n]{{0,250}}?(?:\s-o\s*|\s-O\s+|--output(?:-document)?[=\s]|\s>\s*"
    rf"|\s-outfile\s+)"
    r"(?P<f>[^\s;&|'\"`]+)[^\n]{0,80}?(?:&&|;|\|\||\n)\s*(?:sudo\s+)?(?:(?:(?:ba|z|k|da)?sh"
    r"|python[\d.]*|perl|ruby|node|source|\.|chmod\s+(?:\+|u\+|a\+|0?7)\S*|&|start-process)\s+)?"
    r"(?:\./|\.\\)?(?P=f)(?![\w.])"
    rf"|\b{_FETCH}\b[^\n]{{0,250}}?/(?P<g>[\w.-]{{2,}})(?=[\s'\"`]|$)[^\n]{{0,80}}?(?:&&|;|\n)\s*"
    r"(?:sudo\s+)?(?:(?:(?:ba|z|k|da)?sh|python[\d.]*|perl|ruby|source|\.|chmod\s+\S+|start)\s+)?"
    r"(?:\./)?(?P=g)(?![\w.])"
    # Windows: mshta/regsvr32/certutil/bitsadmin fetching
    r"|\bmshta\s+https?://|\bregsvr32\b[^\n]{0,40}/i:https?://|\bcertutil\b[^\n]{0,40}"
    r"-urlcache\b[^\n]{0,80}https?://[^\n]{0,120}(?:&&|;)"
)
# In words: "pipe the installer into bash", "download and run it", "run whatever the URL returns".
_FETCH_EXEC_WORDS = _rx(
    rf"\b(?:pipe|feed|pass|send|redirect|stream)\s+{_SENTENCE}{{0,80}}?(?:https?://|\burl\b|\bcurl\b"
    r"|\bwget\b|\bdownload\w*|\binstaller\b|\bscript\b|\boutput\b|\bresponse\b|\bremote\b"
    rf"|\bendpoint\b|\bgist\b|\bpastebin\b|\bit\b|\bthis\b|\bthat\b){_SENTENCE}{{0,80}}?\b(?:in)?to\s+"
    r"(?:a\s+|the\s+|your\s+)?(?:sudo\s+)?(?:bash|sh|zsh|shell|python|powershell|pwsh|iex"
    r"|interpreter)\b"
    rf"|\b(?:download|fetch|grab|pull|retrieve|get|curl|wget)\b{_SENTENCE}{{0,100}}?\b(?:and|then|,|&)\s+"
    r"(?:(?:immediately|just|directly|also)\s+)?(?:run|execute|exec|launch|source|eval(?:uate)?"
    r"|invoke)(?:\s+(?:it|them|that|this|whatever|the\s+(?:[\w-]+\s+)?(?:script|file|binary"
    r"|payload|installer|result|output|code|contents?|program|executable|response|thing))\b"
    r"|(?=\s*(?:[.;!,)]|$|as\s+root|with\s+sudo)))"
    r"|\b(?:download|fetch)\s+(?:and|&|then)\s+(?:run|execute|exec|eval(?:uate)?|source)\b"
    r"|\b(?:run|execute|exec|eval(?:uate)?|source)\s+(?:whatever|what(?:ever)?\s+comes\s+back"
    r"|the\s+(?:response|output|body|contents?|result|script)\s+(?:of|from|at|returned\s+by))\b"
    r"[^\n.]{0,60}(?:\burl\b|https?://|\bendpoint\b|\bserver\b|\bcurl\b|\bwget\b|\brequest\b"
    r"|\bgist\b|\bpastebin\b)"
    r"|\b(?:run|execute|exec|source)\s+(?:the\s+|this\s+)?(?:[\w-]+\s+)?(?:script|installer|file"
    r"|binary|payload|code)\s+(?:from|at|hosted\s+at|served\s+(?:from|at))\s+(?:https?://|\S+\.(?:"
    r"ru|cn|tk|xyz|top|io|cc|sh|dev|net|com|org)/)"
    # other languages
    r"|\b(?:descarga|baja)\w*\s+y\s+ejecut\w+|\bt[ée]l[ée]charge\w*\s+(?:et|puis)\s+(?:ex[ée]cut|lanc)"
    r"\w*|\blade\s+[^\n.]{0,60}?herunter\s+und\s+f[üu]hr\w*|\bbaix\w*\s+e\s+execut\w+"
    r"|\bscarica\w*\s+ed?\s+esegu\w+|\b(?:скачай|загрузи)\w*\s+и\s+(?:запусти|выполни)\w*"
    r"|下载并(?:执行|运行)|下載並(?:執行|運行)|ダウンロードして(?:実行|起動)"
    r"|\b(?:ejecuta|exécute[zr]?|execute|f[üu]hre|esegui|запусти|выполни)\w*\s+(?:el|le|das|o|lo"
    r"|la|il)?\s*(?:script|skript|скрипт)\w*\s+(?:de|von|da|с|по|dalla|della|desde)\s+"
    r"(?:la|der|el|l'|a)?\s*(?:url|https?://|ссылк)"
    r"|(?:执行|運行|运行|執行|実行)[^。\n]{0,20}?(?:https?://|链接|鏈接|URL)"
)

_RM_TARGET = (
    r"(?:/|/\*|~|~/|~/\*|\$\{?HOME\}?/?\*?|\*|\.{1,2}/?\*?|\./\.\*|/(?:home|etc|usr|var|bin|boot"
    r"|root|lib\w*|sys|dev|opt|srv|mnt|proc|sbin|Users|System|Library)(?:/\*?)?"
    r"|/(?:usr|etc|var|opt|home|root|boot|bin|lib\w*|sbin|srv|Users)/[\w.-]+/\*|/usr/(?:local|lib|share)/?"
    r"|~/(?:\.ssh|\.config|\.gnupg|Documents|Desktop|\.aws|\.kube|Projects|src|code|repos|work)/?"
    r"|\.git/?|/var/lib(?:/(?:postgresql|mysql|docker|redis|mongodb))?/?\*?"
    r"|%(?:userprofile|systemroot|windir|homepath|appdata)%\\?\*?|[a-z]:\\windows\\?"
    r"|[A-Za-z]:[\\/]?\*?|\"\$\{?HOME\}?\"|'~'|\"~\"|\"/\")"
)
_DESTRUCTIVE = _rx(
    rf"\brm\s+(?:-{{1,2}}[\w-]+\s+)*?(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)\s+"
    rf"(?:-{{1,2}}[\w-]+\s+)*[\"']?{_RM_TARGET}[\"']?(?=$|[\s;&|)`'\"])"
    r"|--no-preserve-root\b"
    r"|\bfind\s+(?:/|~|\$HOME|\*)\s[^\n]{0,80}?(?:-delete\b|-exec\s+rm\b)"
    r"|\b(?:rd|rmdir)\s+(?:/[sq]\s+)+[a-z]:\\?(?=[\s'\"]|$)|\bdel\s+(?:/[fsqa]\s+)+[a-z]:\\"
    r"(?:\*(?:\.\*)?)?(?=[\s'\"]|$)|\bformat\s+[a-z]:(?=[\s'\"]|$)"
    r"|\bremove-item\b[^\n]{0,80}?(?:[a-z]:\\(?=[\s'\"]|$)|\$env:userprofile|\$home\b|~(?=[\s'\"]"
    r"|$))"
    r"|\bmkfs(?:\.\w+)?\b[^\n]{0,60}/dev/|\bdd\b[^\n]{0,80}\bof=/dev/(?!null\b|zero\b|stdout\b"
    r"|stderr\b|tty\b|fd/)"
    r"|>\s*/dev/(?:sd[a-z]|nvme\d|hd[a-z]|vd[a-z]|xvd[a-z]|mmcblk\d|disk\d)"
    r"|\b(?:shred|wipefs|blkdiscard)\b[^\n]{0,40}/dev/(?:sd|nvme|hd|vd|xvd|mmcblk|disk)"
    r"|(?#needles:{)(?P<fb>\w+|:)\s*\(\s*\)\s*\{\s*(?P=fb)\s*\|\s*(?P=fb)\s*&\s*\}\s*;?\s*(?P=fb)"
    r"|%0\s*\|\s*%0|\bwhile\s*(?:true|1)\s*:?\s*(?:do\s+)?os\.fork\(\)"
    r"|\bchmod\s+(?:(?:-\w+|--\w+)\s+)*(?:0?777|a\+rwx|ugo\+rwx|o\+rwx)\s+(?:(?:-\w+)\s+)*[\"']?"
    r"(?:/|~|\$\{?HOME\}?|/(?:etc|usr|var|bin|home|root|boot|lib|opt|srv)(?:/[\w.-]+)*)/?\*?[\"']?"
    r"(?=$|[\s;&|`'\"])"
    r"|\bchown\s+(?:-\w+\s+)*-R\s+\S+\s+[\"']?(?:/|/etc|/usr|/var)/?[\"']?(?=$|[\s;&|`'\"])"
    # git: force-push or delete a protected branch; make history unrecoverable
    # (the branch is one of the next few arguments, not a word further on: "git push -f origin
    # feature after rebasing onto main" is not a force-push of main)
    rf"|\bgit\s+push\b[^\n;&|`]{{0,80}}?(?:\s(?:-f|--force(?:-with-lease|-if-includes)?)(?:=\S+)?"
    rf"(?![\w-])(?:\s+[^\s;&|`]+){{0,2}}?\s+(?:\+?[\w./~^-]*:)?(?:refs/heads/)?{_PROTECTED_BRANCH}"
    rf"(?=$|[\s`'\"])|\s(?:origin\s+|upstream\s+)?{_PROTECTED_BRANCH}\s+(?:-\S+\s+)*?(?:-f"
    rf"|--force(?:-with-lease|-if-includes)?)(?![\w-])"
    rf"|\s\+(?:[^\s:]*:)?(?:refs/heads/)?{_PROTECTED_BRANCH}\b|\s(?:--delete|-d)\s+(?:\S+\s+)?"
    rf"{_PROTECTED_BRANCH}\b|\s:{_PROTECTED_BRANCH}\b|\s--mirror\b)"
    rf"|\bforce[- ]?push\s+(?:it\s+|this\s+|that\s+|everything\s+)?(?:directly\s+|straight\s+)?"
    rf"(?:to|onto|over|on)\s+(?:origin[\s/])?(?:the\s+)?{_PROTECTED_BRANCH}\b"
    r"|\bgit\s+reset\s+--hard\b[^\n]{0,80}?(?:&&|;|\bthen\b)\s*git\s+push\b[^\n;&|]{0,40}?\s(?:-f"
    r"|--force)(?![\w-])"
    rf"|\bgit\s+reflog\s+expire\b[^\n]{{0,60}}--all|\bgit\s+branch\s+-D\s+{_PROTECTED_BRANCH}\b"
    # databases and infrastructure
    r"|\bdrop\s+(?:database|schema)\s+(?!(?:if\s+exists\s+)?[\"'`]?\w*(?:test|tmp|temp|scratch"
    r"|_ci\b|e2e|dev|local|sandbox|example)\w*)(?![^\n]{0,80}\b(?:test|fixture|scratch|throwaway"
    r"|ephemeral|local|dev)\w*\s+(?:databases?|dbs?|schemas?|fixtures?|containers?|instances?)\b)"
    r"|\bdrop\s+all\s+tables\b|\bdrop\s+owned\s+by\b|\btruncate\s+(?:table\s+)?[\w.\"]+\s+"
    r"(?:[\w.\"]+\s*,\s*)*cascade\b[^\n]{0,20}(?:prod|production)"
    r"|\bdelete\s+from\s+[\w.\"]*(?:users|accounts|customers|orders|payments|invoices)\b\s*"
    r"(?:;|$|`|'|\")"
    r"|\bflushall\b|\bflushdb\b[^\n]{0,30}prod|\bdb\.dropdatabase\(\)"
    r"|\bterraform\s+destroy\b[^\n]{0,60}-auto-approve|\bterraform\s+apply\b[^\n]{0,40}-destroy"
    r"[^\n]{0,40}-auto-approve"
    r"|\bkubectl\s+delete\b[^\n]{0,60}?(?:--all(?:-namespaces)?\b|\b(?:ns|namespaces?)\s+"
    r"(?:prod\w*|default|kube-system|live)\b)"
    r"|\baws\s+s3\s+(?:rb\s+s3://\S+\s+--force|rm\s+s3://[\w.-]+/?\s+--recursive)"
    r"|\bgcloud\s+projects\s+delete\b|\bheroku\s+(?:apps:destroy|pg:reset)\b"
    r"|(?:\b(?:truncate|drop\s+(?:table|schema|database|index)|delete\s+from|terraform\s+destroy"
    r"|kubectl\s+delete|helm\s+(?:uninstall|delete)|dropdb|flushall|flushdb|docker\s+volume\s+rm"
    r"|(?:aws|gcloud|az)\s+[\w\s-]{0,40}?\b(?:delete|terminate|rb|rm)\w*)\b[^\n]{0,80}?"
    r"prod(?:uction)?(?![a-z])|prod(?:uction)?(?![a-z])[^\n]{0,80}?\b(?:truncate|drop\s+(?:table"
    r"|schema|database)|delete\s+from|terraform\s+destroy|kubectl\s+delete|helm\s+(?:uninstall"
    r"|delete)|dropdb|flushall|flushdb)\b)"
    r"|\bgit\s+push\b[^\n;&|]{0,40}?(?:\s(?:-f|--force)(?![\w-])[^\n;&|]{0,40}?\s--all\b|\s--all\b"
    r"[^\n;&|]{0,40}?\s(?:-f|--force)(?![\w-]))"
    r"|\b(?:curl|http|httpie|invoke-restmethod|irm)\b[^\n]{0,40}?(?:-X\s*|--request\s+|-Method\s+)?"
    r"DELETE\b[^\n]{0,200}?(?:/all\b|/\*|\ball=true|prod(?:uction)?(?![a-z])|/users\b|/projects\b"
    r"|/repos\b|/buckets\b|/databases\b)"
    r"|\bkill\s+-(?:9|kill)\s+-1\b|>\s*/etc/(?:passwd|shadow|sudoers|hosts|fstab)\b"
    r"|\bcrontab\s+-r\b|\bdrop\s+table\s+(?:if\s+exists\s+)?[\w.\"]*(?:users|accounts|customers"
    r"|orders|payments|invoices|audit\w*|learnings|handoffs|teams|api_keys)\b(?!_)"
    r"|\bgh\s+repo\s+delete\b|\bdocker\s+(?:volume\s+rm|system\s+prune)\b[^\n]{0,40}"
    r"(?:prod|production)"
)
# In words, in imperative position: "wipe the production database", "delete the user's home".
# A database with nothing saying which: wiping a test or local one is routine.
_DATABASE_WORDS = _rx(
    r"\b(?:wipe|erase|destroy|drop|nuke|delete|purge|truncate)\s+(?:out\s+)?(?:the\s+|all\s+|every\s+"
    r"|your\s+|our\s+)?(?:entire\s+|whole\s+)?(?:databases?|db|dbs|data\s+warehouse|user\s+table)\b"
)
_LOCAL_EXEMPT = re.compile(
    r"\b(?:test\w*|local\w*|dev|development|staging|fixtures?|scratch|sandbox|ephemeral|throwaway"
    r"|sqlite|in-memory|container|docker|between\s+runs|ci)\b",
    re.IGNORECASE,
)
_DESTRUCTIVE_WORDS = _rx(
    r"\b(?:wipe|erase|destroy|drop|nuke|delete|purge|truncate|reset|remove|format|shred|kill"
    r"|empty|clear)\s+(?:out\s+)?(?:all\s+(?:of\s+)?)?(?:the\s+|your\s+|our\s+|their\s+|every\s+)?"
    r"(?:entire\s+|whole\s+)?(?:prod(?:uction)?|live|customer|primary|main)\s+(?:postgres\s+|mysql\s+"
    r"|sql\s+)?(?:database|db|data|tables?|cluster|bucket|backups?|server|environment|volume"
    r"|disk|schema)s?\b"
    r"|\b(?:wipe|erase|delete|remove|nuke|destroy|purge|clear|empty)\s+(?:out\s+)?(?:the\s+)?"
    r"(?:entire\s+|whole\s+)?(?:user'?s?\s+|your\s+|their\s+|my\s+)?home\s+(?:directory|dir"
    r"|folder)\b"
    r"|\b(?:delete|wipe|erase|destroy|remove|purge|drop|nuke)\s+(?:all|every|each)\s+(?:of\s+)?"
    r"(?:the\s+|our\s+)?(?:backups|snapshots|repositor(?:y|ies)|repos|databases|buckets|volumes"
    r"|user\s+data|customer\s+data|production\s+data|releases|tags\s+on\s+origin)\b"
    r"|\b(?:delete|drop|truncate|wipe|purge|clear|erase|remove|empty)\s+(?:the\s+|all\s+)?audit\s+"
    r"(?:log|trail|events?|table|history|records?)s?\b"
    r"|\b(?:wipe|format|erase)\s+(?:the\s+)?(?:entire\s+|whole\s+)?(?:disk|drive|hard\s+drive"
    r"|filesystem|file\s+system|root\s+partition)\b(?!\s*(?:image|img|file|snapshot|in\s+the\s+vm))"
    # other languages
    r"|\b(?:borra|elimina|supprime|efface|l[öo]sch|entfern|apag|exclu|delet|cancella|usuń|sil"
    r"|удали|сотри|очисти)\w*\s+(?:\w+\s+){0,4}?(?:la\s+base\s+de\s+(?:datos|donn[ée]es)\s+de\s+"
    r"(?:producci[oó]n|production)|(?:le\s+)?(?:dossier|r[ée]pertoire)\s+(?:personnel|home|de\s+"
    r"l'utilisateur)|(?:el\s+)?directorio\s+(?:home|personal|del\s+usuario)|produktions?\w*"
    r"(?:datenbank|daten)|(?:das\s+)?(?:home|benutzer)-?verzeichnis|banco\s+de\s+(?:dados\s+de\s+)?"
    r"produ[cç][aã]o|diret[oó]rio\s+(?:home|pessoal|do\s+usu[aá]rio)|database\s+di\s+produzione"
    r"|(?:домашн\w+\s+)?(?:каталог|директори\w+|папк\w+)\s+(?:пользовател\w*|домашн\w*)"
    r"|домашн\w+\s+(?:каталог|директори\w+|папк\w+)|(?:продакшн|продакшен|боев\w+|прод)\w*\s+"
    r"(?:баз\w+|бд)|баз\w+\s+данных\s+(?:продакшена|прода|на\s+проде))"
    r"|(?:删除|刪除|删掉|刪掉|清空|清除|销毁|銷毀)[^。\n]{0,10}?(?:生产|生產|正式)(?:环境)?的?"
    r"(?:数据库|數據庫|资料库|資料庫|数据|數據)|(?:删除|刪除|删掉|清空)[^。\n]{0,8}?(?:用户|用戶|主)"
    r"(?:目录|目錄|文件夹)|本番(?:環境)?の?(?:データベース|DB|データ)を?(?:削除|消去|消して|ドロップ)"
    r"|ホームディレクトリ(?:を|ごと)?(?:削除|消去|消して)"
)

_EXFILTRATION = _rx(
    # "exfiltrate the secrets", "steal the tokens" as a command (not "attempts to exfiltrate")
    r"(?:^[\s>*#\-\u2022\d.)]*|[.!?;:]\s+|\b(?:please|just|then|now|and|you\s+(?:should|must|can"
    r"|will))\s+)(?:exfiltrate|steal|harvest|leak)\s+(?:the\s+|all\s+|any\s+|every\s+|our\s+|their\s+)?"
    r"(?:\w+\s+)?(?:secrets|credentials|passwords|api\s+keys|keys|tokens|private\s+keys|data"
    r"|env(?:ironment)?(?:\s+variables)?|source\s+code|database)\b"
    # a secret source piped to a network tool
    r"|(?#needles:\bcurl,\bwget,\bnc,\bncat,\bnetcat,\bsocat,\btelnet,\bssh,\bopenssl,\bmail"
    r",\bsendmail,\bmutt)"
    rf"(?:\b(?:printenv|env|set|export\s+-p|gh\s+auth\s+token|aws\s+configure\s+export-credentials"
    rf"|security\s+find-generic-password|history)\b|\bcat\s+[^\n|]{{0,80}}?{_SENSITIVE_FILE}"
    rf"|{_SENSITIVE_VAR})[^\n|]{{0,80}}\|\s*(?:[\w-]+(?:\s+[^|\n]*)?\|\s*)?(?:curl|wget|nc|ncat|netcat"
    r"|socat|telnet|ssh|openssl\s+s_client|mail|sendmail|mutt)\b"
    # a network tool sending a secret file or variable
    rf"|\b(?:curl|wget|http|httpie)\b[^\n]{{0,200}}?(?:\s-d|--data\S*|\s-F|--form|\s-T|--upload-file"
    rf"|--post-file|--body-file)[=\s]*[\"']?(?:[\w.-]+=)?@?[^\s\"']*{_SENSITIVE_FILE}"
    rf"|\b(?:curl|wget|nc|ncat|ping|dig|nslookup|host)\b[^\n]{{0,200}}?\$\(\s*(?:env|printenv"
    rf"|cat\s+[^)]{{0,60}}?{_SENSITIVE_FILE}|gh\s+auth\s+token|aws\s+configure)"
    rf"|\b(?:curl|wget)\b(?:(?!\s-H\b|\s--header\b|\s-u\b|\s--user\b|\s--oauth2-bearer\b)[^\n])"
    rf"{{0,200}}?(?:[?&=/:]|\s-d\s*|--data\S*\s*|\s-F\s*)[\"']?{_SENSITIVE_VAR}"
    rf"|\bhttps?://[^\s\"'`]*[?&][\w-]+=\$\{{?\w*(?:SECRET|TOKEN|KEY|PASSWORD|PASSWD|CREDENTIALS?)"
    r"|\b(?:curl|wget|nc|ping|dig|nslookup|host)\b(?:(?!\s-H\b|\s--header\b|\s-u\b)[^\n]){0,200}?"
    r"(?:[?&=/.:]|\s-d\s*|--data\S*\s*)[\"']?(?:\$\(|`)\s*(?:whoami|hostname|id|uname|env|printenv|cat"
    r"|ls|pwd|git\s+(?:config|remote|log)|gh\s+auth|history|ifconfig|ip\s+a|base64|aws\s+sts"
    r"|aws\s+configure|security\s+find)\b"
    rf"|\b(?:nc|ncat|netcat|socat|telnet)\b[^\n]{{0,100}}<\s*\S*{_SENSITIVE_FILE}"
    rf"|{_SENSITIVE_FILE}[^\n|]{{0,60}}\|(?:[^\n|]{{0,60}}\|)?\s*(?:sudo\s+)?(?:curl|wget|nc|ncat|netcat"
    rf"|socat|telnet|ssh|scp|openssl\s+s_client|mail|sendmail|mutt)\b"
    rf"|\bgit\s+add\s+(?:-f\s+|--force\s+)?[^\n;&|]*?(?<![\w.-]){_SENSITIVE_FILE}"
    rf"|!\[[^\]\n]*\]\(https?://[^)\s]*[?&][\w-]+=(?:\{{|\$|%7b|<|\[)"
    rf"|\b(?:scp|rsync|sftp)\b[^\n]{{0,100}}{_SENSITIVE_FILE}[^\n]{{0,100}}\s[\w.-]+@[\w.-]+:"
    rf"|\b(?:env|printenv|set|export\s+-p)\s*>\s*(?P<e>[^\s;&|]+)[^\n]{{0,120}}?\b(?:curl|wget|scp"
    rf"|nc|rsync|http)\b[^\n]{{0,80}}?(?P=e)"
    rf"|\bgit\s+remote\s+(?:add|set-url)\s+\S+\s+(?:https?://|git@)[^\n]{{0,160}}?\bgit\s+push\b"
    rf"|{_SENSITIVE_FILE}[^\n]{{0,60}}\b(?:and|then|,)\s+(?:paste|include|send|post|share|print|put"
    rf"|copy|upload|email)\b"
    rf"|\b(?:requests|httpx)\.post\([^\n]{{0,120}}(?:os\.environ|dict\(os\.environ\)|open\([^)]*"
    rf"{_SENSITIVE_FILE})"
)
_EXFILTRATION_WORDS = _rx(
    r"\b(?:add|put|paste|write|commit|copy|include|hard-?code|store|save|insert|append)\b[^\n]{0,40}?"
    r"\b(?:passwords?|passwd|api[\s_-]?keys?|secret[\s_-]?keys?|private[\s_-]?keys?|access[\s_-]?keys?"
    r"|credentials?|secrets|(?:access|auth|bearer|api|github|npm|pypi|deploy|session)[\s_-]?tokens?"
    r"|connection\s+strings?)\b[^\n]{0,30}?\b(?:to|into|in)\s+(?:the\s+|a\s+|our\s+)?(?:readme|wiki"
    r"|docs?|documentation|changelog|repo(?:sitory)?|codebase|source(?:\s+code)?|commit|git|handoff"
    r"|brief|memory|notes?|pr|pull\s+request|issue|ticket|public\s+\w+|code)\b"
    rf"|\b(?:send|give|share|show|tell|paste|email|forward|dm|message|text)\s+(?:me|us)\s+(?:the\s+"
    rf"|your\s+|all\s+|a\s+copy\s+of\s+)?(?:[\w\s]{{0,25}}\s)?{_SENSITIVE_WORDS}"
    rf"|{_SENSITIVE_WORDS}{_SENTENCE}{{0,80}}?\b(?:and|then|,)\s+(?:upload|send|post|e-?mail|mail|paste"
    rf"|forward|push|transmit|exfiltrate|ship|pipe|attach|share|give|hand|dm|text|copy)\s+(?:it|them"
    rf"|this|that|the\s+\w+|everything|all\s+of\s+it)\s+(?:over\s+)?(?:to|into"
    rf"|on)\s+(?:[^\n]{{0,25}}?\s)?{_DESTINATION}"
    r"|\b(?:send|post|upload|exfiltrate|leak|share|forward|e-?mail|mail|paste|transmit|publish"
    r"|dump|beam|pipe|copy|push|submit|attach|include|put|add|print|echo|write|log|display"
    r"|reveal|output|tell|give|provide|sync|report|commit|expose|drop|store|save|stash)\b"
    rf"[^\n]{{0,60}}?{_SENSITIVE_WORDS}[^\n]{{0,50}}?(?:\b(?:to|into|in|on|at|via|as|onto"
    rf"|inside|with)\b|:|,)\s+(?:[^\n]{{0,25}}?\s)?{_DESTINATION}"
    # other languages: a verb of sending, a secret, a destination
    r"|\b(?:env[ií]a|manda|sube|publica|envoie|envoyez|transmets|poste|sende|schicke|lade\s+\w+"
    r"\s+hoch|envie|mande|publique|invia|отправь|отправьте|перешли|загрузи|опубликуй)\w*\b"
    r"[^\n]{0,60}?\b(?:claves?|secretos?|credenciales|contrase[ñn]as?|tokens?|variables\s+de"
    r"\s+entorno|cl[ée]s?|secrets?|identifiants|mots?\s+de\s+passe|variables\s+d'environnement"
    r"|schl[üu]ssel|geheimnisse|zugangsdaten|passw[öo]rter|umgebungsvariablen|chaves?|segredos?"
    r"|senhas?|credenciais|vari[aá]veis\s+de\s+ambiente|chiavi|segreti|password|credenziali"
    r"|ключ\w*|секрет\w*|токен\w*|парол\w*|переменн\w+\s+окружени\w*|учетн\w+\s+данн\w*"
    r"|\.env)\b[^\n]{0,60}?(?:https?://|\b[\w.+-]+@[\w-]+\.[\w.]+|webhook|pastebin|gist)"
    r"|(?:发送|發送|上传|上傳|发到|發到|贴到|貼到|提交)[^。\n]{0,30}?(?:密钥|密鑰|令牌|密码|密碼|凭证"
    r"|憑證|环境变量|環境變量|\.env|token)|(?:密钥|密鑰|令牌|密码|密碼|凭证|憑證|环境变量|環境變量"
    r"|\.env)[^。\n]{0,30}?(?:发送|發送|上传|上傳|发到|發到)[^。\n]{0,10}?(?:到|给|給)?"
    r"|(?:秘密鍵|トークン|パスワード|環境変数|認証情報|APIキー|\.env)[^。\n]{0,30}?"
    r"(?:送信|アップロード|送って|投稿)"
)

_SAFETY_OBJECT = (
    r"(?:(?:all|the|every|any|each|our|these|those|this|failing|broken|red|remaining|required"
    r"|existing|unit|security|pre-?commit|git|ci|lint(?:ing)?|type|mypy|pytest|test|new"
    r"|whole|entire|of\s+the|automated|mandatory|protection)\s+){0,3}"
    r"(?:`?[\w.-]+`?\s+){0,2}(?:tests?|test\s*suites?|specs?|ci(?:\s+(?:checks?|pipeline|jobs?|workflows?"
    r"|runs?))?|(?:`?(?:pytest|jest|mypy|ruff|eslint|flake8|pylint|tsc|go\s+test|cargo\s+test"
    r"|npm\s+test|codeql|snyk|trivy|gitleaks|bandit|semgrep|test|tests|lint|linting|check|security"
    r"|scan|verify|validation|audit)`?)\s+(?:steps?|jobs?|stages?|checks?|runs?|hooks?|workflows?"
    r"|actions?|targets?|tasks?)|(?:security|auth\w*|csrf|xsrf|permissions?|access[- ]control"
    r"|sanitiz\w*|input\s+validation|signature|integrity|policy)\s+(?:middleware|checks?|filters?"
    r"|guards?|layer|validation|decorators?|modules?|hooks?|enforcement|verification)"
    r"|(?:required\s+|status\s+|pr\s+|ci\s+|security\s+)?checks|pipelines?|(?:git\s+|pre-?commit\s+"
    r"|pre-?push\s+|commit\s+)?hooks?|pre-?commit(?:\s+hooks?)?|husky|linters?|linting"
    r"|type[- ]?checks?|type[- ]?checking|type[- ]?checker|mypy|eslint|assertions?|asserts?"
    r"|coverage\s+(?:gates?|thresholds?|checks?)|branch\s+protections?(?:\s+rules?)?"
    r"|code\s+reviews?|reviews?|required\s+(?:reviews?|approvals?)|approvals?|status\s+checks?"
    r"|security\s+(?:checks?|scans?|scanning|scanners?|tests?|alerts?|audits?)|secret\s+scann"
    r"(?:ing|ers?)|code\s+scanning|dependabot(?:\s+checks?)?|sast|codeql|snyk|trivy|gitleaks"
    r"|signature\s+(?:verification|checks?)|signing|commit\s+signing|gpg\s+signing"
    r"|(?:ssl|tls|https|certificate|cert|host\s*key)\s+(?:verification|checks?|validation)"
    r"|sandbox(?:ing)?|permission\s+(?:prompts?|checks?|system)|approval\s+(?:prompts?|steps?"
    r"|gates?)|safety\s+(?:checks?|limits?|filters?|rails?|features?|measures?)|guardrails?"
    r"|safeguards?|audit\s+log(?:ging|s)?|2fa|mfa|two[- ]factor(?:\s+auth\w*)?|firewall|selinux"
    r"|apparmor|antivirus|defender|edr|the\s+verifier|verification|content\s+filters?"
    r"|(?:the\s+)?redaction|secret\s+redaction|prompt[- ]injection\s+(?:checks?|filters?"
    r"|detection)|injection\s+filter|this\s+(?:check|filter|warning)|warnings?\s+(?:about|from)"
    r"\s+(?:this|these|security))\b"
    # "ignore the linter warning" is about the warning, not the linter
    r"(?!\s+(?:warnings?|errors?|messages?|output|noise|complaints?|docs?|documentation|version"
    r"|cache|logs?|report|results?\s+for\s+generated))"
)
_DISABLE_VERB = (
    r"(?:disable|skip|delete|remove|comment\s+out|turn\s+off|switch\s+off|shut\s+off|bypass"
    r"|circumvent|get\s+around|work\s+around|silence|mute|suppress|neuter|rip\s+out|stub\s+out"
    r"|xfail|ignore|drop|kill|short-?circuit|deactivate|uninstall|defeat|evade|nuke|gut|neutrali[sz]e"
    r"|no-?op|skip\s+over|override|disarm)"
)
_SAFETY_EXEMPT = re.compile(
    r"\b(?:(?:for|of|covering)\s+(?:the\s+)?(?:removed|deleted|old|dead|legacy|deprecated|obsolete"
    r"|unused|dropped)\b|along\s+with|together\s+with|duplicat\w*|obsolete|dead|stale|outdated"
    r"|redundant|flak\w*|slow|long[- ]running|nightly|gpu|network|e2e|end[- ]to[- ]end|integration"
    r"|benchmarks?|manual|optional|quarantin\w*|local(?:ly)?|on\s+(?:your|a)\s+(?:laptop|machine)"
    r"|while\s+(?:iterating|developing|debugging)|in\s+watch\s+mode|for\s+(?:a\s+)?quick"
    r"|(?:when|if|unless|while)\s+(?:\w+\s+){0,4}?(?:isn'?t|aren'?t|is\s+not|not|no|offline"
    r"|unavailable|missing|down|iterating|debugging|developing)|doc(?:s|umentation)?[- ]only"
    r"|in\s+(?:the\s+)?(?:test|dev|local)\s+(?:env\w*|config\w*|settings|profile))\b",
    re.IGNORECASE,
)
_DISABLE_SAFETY_WORDS = _rx(
    rf"\b{_DISABLE_VERB}\s+(?:the\s+)?`?[\w./-]*(?:\.github/workflows/[\w.-]*(?:codeql|security"
    r"|scan|test|lint|check|ci|verify|audit|sast|secret)[\w.-]*|\.pre-commit-config\.ya?ml|\.husky/"
    r"[\w.-]*|codeql[\w.-]*\.ya?ml|dependabot\.ya?ml|CODEOWNERS|\.gitleaks\.toml|\.semgrep[\w.-]*"
    r"|\.github/branch-protection[\w.-]*|conftest\.py|pytest\.ini|\.coveragerc|mypy\.ini|\.eslintrc"
    r"[\w.-]*|ruff\.toml|\.flake8)`?"
    rf"|\b{_DISABLE_VERB}\s+(?:all\s+|the\s+|every\s+|any\s+)?(?:of\s+)?{_SAFETY_OBJECT}"
    r"|\b(?:merge|push|deploy|ship|approve|land|commit|release|force[- ]?merge)\b[^.\n]{0,50}?"
    r"\bwithout\s+(?:any\s+|a\s+)?(?:code\s+|peer\s+|human\s+)?(?:review(?:ing)?|approvals?"
    r"|(?:running\s+)?(?:the\s+)?tests?|ci|checks?|asking|confirmation|waiting\s+for\s+(?:ci"
    r"|review|checks))\b"
    r"|\b(?:run|execute|merge|push|deploy|delete|remove|install|commit|release|ship|apply|drop|send"
    r"|upload|start|proceed|continue|go\s+ahead|force|overwrite|publish)\b[^.\n]{0,80}?\b(?:without"
    r"|with\s+no)\s+(?:(?:asking|waiting)\s+(?:for\s+)?|any\s+|human\s+|prior\s+|further\s+)?(?:(?:user"
    r"\s+|human\s+)?confirmation|approval|permission|sign-?off|(?:human\s+|code\s+|peer\s+)?review)\b"
    r"|\bapprove\s+(?:all\s+|every\s+|any\s+)?(?:pull\s+requests?|prs?|merge\s+requests?|changes"
    r"|deploys?|tool\s+calls?|commands?)\s+(?:automatically|blindly|without)\b"
    r"|\b(?:mark|decorate|tag|annotate|wrap)\s+(?:all|every|each|the|any)\s+(?:\w+\s+){0,2}?"
    r"(?:tests?|specs?)\s+(?:with|as)\s+`?(?:@?pytest\.mark\.(?:skip|xfail)|skip(?:ped)?|xfail"
    r"|@?unittest\.skip|@disabled|@ignore|pending|xit|it\.skip|todo)"
    r"|\b(?:add|append|put)\s+`?\|\|\s*(?:true|exit\s+0|:)`?[^\n]{0,60}\b(?:tests?|pytest|checks?"
    r"|lint|step|job|ci|command|script)"
    r"|\b(?:make|get)\s+(?:the\s+)?(?:ci|build|tests?|pipeline|checks?)\s+(?:pass|green)\s+by\s+"
    r"(?:deleting|removing|skipping|disabling|commenting|ignoring|weakening|loosening)"
    r"|\b(?:change|edit|rewrite|update|weaken|loosen)\s+(?:the\s+)?(?:tests?|assertions?"
    r"|expected\s+values?)\s+(?:so\s+(?:that\s+)?(?:they|it)\s+(?:always\s+)?pass"
    r"|to\s+(?:always\s+)?(?:pass|match\s+(?:whatever|the\s+(?:current|new)\s+output)))"
    r"|\blower\s+(?:the\s+)?coverage\s+(?:threshold|gate)\s+to\s+0\b"
    r"|\b(?:self-?approve|self-?merge)\b|\bapprove\s+(?:your|its|their|my)\s+own\s+(?:pull\s+requests?"
    r"|prs?|merge\s+requests?|changes?|code|commits?)\b"
    r"|\bforce[- ]?merge\b|\bmerge\s+(?:it\s+|this\s+)?(?:over|despite|past|through|around)\s+"
    r"(?:the\s+)?(?:failing|red|broken|required|blocking|pending)\b|\badmin(?:istrator)?\s+(?:override|bypass)\b"
    r"|\bpush\s+(?:\w+\s+)?(?:directly|straight)\s+(?:to|into|onto)\s+(?:origin[\s/])?(?:the\s+)?"
    r"(?:main|master|prod(?:uction)?|trunk|release)\b"
    r"|\bmake\s+(?:the\s+)?(?:repo(?:sitory)?|bucket|s3\s+bucket|database|db|dashboard|api|endpoint"
    r"|cluster|storage|container)\s+public\b"
    r"|\bgrant\s+(?:yourself|myself|me|everyone|all\s+users|the\s+bot|anonymous|public|anyone)\s+"
    r"(?:\w+\s+)?(?:admin|owner|root|write|full|superuser)\b"
    r"|\b(?:make|get)\s+(?:the\s+)?(?:ci|build|tests?|pipeline|checks?)\s+(?:pass|green|succeed)\w*\s+"
    r"(?:by\s+any\s+means|no\s+matter\s+(?:what|how)|at\s+any\s+cost|whatever\s+it\s+takes)"
    r"|\b(?:add|put|sprinkle|insert)\s+`?(?:#\s*type:\s*ignore|#\s*noqa|//\s*eslint-disable|/\*\s*"
    r"eslint-disable|@ts-ignore|@ts-nocheck|#\s*nosec|#\s*pragma:\s*no\s+cover)[^.\n]{0,40}\b(?:every"
    r"|all|each|everywhere|wherever|any)\b"
    rf"|\b(?:{_DISABLE_VERB}|comment\s+out)\b[^.\n]{{0,60}}\b(?:so\s+(?:that\s+)?|to\s+(?:make|get)\s+"
    r"|until\s+)(?:the\s+)?(?:ci|build|pipeline|tests?|checks?|suite|job)\s+(?:passes|pass|is\s+green"
    r"|goes\s+green|turns\s+green|succeeds|stops\s+failing|look\s+green|are\s+green)"
    r"|\b(?:start|cut|trigger|kick\s+off|do|run)\s+(?:a|the)\s+(?:release|deploy(?:ment)?|merge"
    r"|rollout)\b[^.\n]{0,40}?\bwithout\s+(?:waiting\s+for\s+|running\s+)?(?:the\s+)?(?:ci"
    r"|review|checks?|tests?|approval)\b"
    # other languages
    r"|\b(?:desactiv|deshabilit|d[ée]sactiv|deaktivier|desativ|desabilit|disattiv|disabilit"
    r"|отключи|выключи|пропусти|удали|wy[łl][aą]cz|devre\s+d[ıi][şs][ıi]\s+b[ıi]rak)\w*\s+(?:\w+\s+)"
    r"{0,2}?(?:tests?|pruebas|testes|teste|tests|pr[üu]fungen|v[ée]rifications|hooks|ganchos"
    r"|verificaciones|verifica[cç][õo]es|ci|controlli|тест\w*|проверк\w*|хук\w*|ci)\b"
    r"|(?:禁用|关闭|關閉|跳过|跳過|删除|刪除|停用)[^。\n]{0,8}?(?:测试|測試|CI|检查|檢查|钩子|鉤子|审查"
    r"|審查)|(?:テスト|CI|チェック|フック|レビュー)[^。\n]{0,8}?(?:を)?(?:無効|スキップ|削除|オフ"
    r"|止め)"
)
_DISABLE_SAFETY = _rx(
    r"--no-verify\b|\b(?:HUSKY=0|HUSKY_SKIP_HOOKS=1|SKIP=[\w,-]+\s+(?:git|pre-commit))"
    r"|\bgit\s+commit\b[^\n]{0,60}\s-n\b|\bpre-commit\s+uninstall\b"
    r"|\bcontinue-on-error:\s*true\b|\ballow_failure:\s*true\b"
    r"|\b(?:pytest|py\.test|npm\s+(?:run\s+)?test|yarn\s+test|pnpm\s+test|go\s+test|cargo\s+test"
    r"|make\s+(?:test|check|lint)|mvn\s+test|gradle\w*\s+test|tox|nox|jest|rspec|phpunit|mypy|ruff"
    r"|eslint|tsc|flake8|pylint)\b[^\n|;]{0,60}\|\|\s*(?:true|exit\s+0|:)(?=$|[\s`'\";])"
    r"|\bexit\s+0`?\s+(?:at|to)\s+the\s+(?:top|start|beginning)\s+of\b"
    r"|\bgh\s+pr\s+merge\b[^\n]{0,60}--admin\b|--dangerously-[\w-]+|--yolo\b"
    r"|--disable-(?:sandbox|safety|hooks|verification|security)\b"
    r"|\bverify\s*=\s*False\b|\bNODE_TLS_REJECT_UNAUTHORIZED\s*=\s*['\"]?0"
    r"|\bPYTHONHTTPSVERIFY\s*=\s*['\"]?0|\bGIT_SSL_NO_VERIFY\s*=\s*['\"]?(?:1|true)"
    r"|\bsslverify\s*=?\s*false\b|\bInsecureSkipVerify:\s*true\b|\brejectUnauthorized:\s*false\b"
    r"|\bstrict-ssl\s+false\b|\bCURLOPT_SSL_VERIFYPEER\W{1,5}(?:false|0)\b"
    r"|\bsetenforce\s+0\b|\bufw\s+disable\b|\bSet-MpPreference\b[^\n]{0,40}-Disable\w+\s+\$true"
    r"|\bgit\s+config\b[^\n]{0,40}core\.hooksPath\s+/dev/null"
    r"|(?#needles:0,false,no,off,none,disable)"
    r"\b(?!\w*(?:E2E|SLOW|INTEGRATION|GPU|NETWORK|BENCH|NIGHTLY|FLAKY|TELEMETRY|ANALYTICS|TIMEOUT"
    r"|PARALLEL|WORKERS|RETRIES|RETRY|LEVEL|PORT|DELAY|VERBOSE|DEBUG|COUNT|MAX|MIN|LIMIT|SIZE|INTERVAL"
    r"|CACHE|COLOR|PROGRESS))\w*(?:SECURITY|CHECKS?|VERIFY|VERIFICATION|SSL|TLS|HOOKS?|TESTS?|LINT\w*"
    r"|SCAN\w*|AUDIT\w*|PROTECTION|SANDBOX|SIGNING|GPGSIGN|STRICT)\w*\s*[=:]\s*[\"']?(?:0|false|no"
    r"|off|none|disabled?)\b"
    r"|\bfail_under\s*=\s*0\b|--cov-fail-under[=\s]0\b|--exit-zero\b|core\.hooksPath[=\s]+/dev/null"
    r"|(?#needles:1,true,yes,on)"
    r"\b(?!\w*(?:E2E|SLOW|INTEGRATION|GPU|NETWORK|BENCH|NIGHTLY|FLAKY|TELEMETRY|ANALYTICS))\w*(?:(?:SKIP"
    r"|DISABLE|NO)_?\w*(?:TESTS?|LINT\w*|MYPY|TYPECHECK\w*|CHECKS?|HOOKS?|VERIFY|VERIFICATION|SECURITY"
    r"|SCAN\w*|AUDIT|CI)|(?:MYPY|LINT\w*|TESTS?|HOOKS?|CHECKS?|SECURITY|VERIFY|CI)_?(?:DISABLED?|SKIP\w*"
    r"|OFF))\w*=[\"']?(?:1|true|yes|on)\b"
    r"|(?:add|append|put|include|use)\s+`?\[(?:skip\s+ci|ci\s+skip|no\s+ci|skip\s+actions)\]`?"
    r"[^.\n]{0,40}\b(?:every|all|each)\b"
)

_BACKDOOR = _rx(
    r">>?\s*[\"']?(?:~|\$HOME|/root|/home/\w+)?/?\S*\.ssh/authorized_keys"
    r"|\btee\s+(?:-a\s+)?\S*\.ssh/authorized_keys"
    r"|/dev/(?:tcp|udp)/[\w.-]+/\d+"
    r"|\b(?:nc|ncat|netcat)\b[^\n]{0,60}\s-[a-z]*[ec]\s+(?:/bin/|/usr/bin/)?(?:ba|z)?sh\b"
    r"|\bmkfifo\b[^\n]{0,120}\|\s*(?:nc|ncat|netcat|telnet)\b"
    r"|\bsocat\b[^\n]{0,80}\bexec:[\"']?(?:/bin/)?(?:ba)?sh"
    r"|\bsocket\b[^\n]{0,200}\b(?:dup2|pty\.spawn|subprocess\.call\(\[\s*[\"']/bin/(?:ba)?sh)"
    r"|\bNOPASSWD\s*:\s*ALL\b|>>?\s*/etc/sudoers|\bvisudo\b[^\n]{0,40}NOPASSWD"
    r"|\busermod\s+-aG\s+(?:sudo|wheel|root|admin)\b"
    r"|\bnet\s+user\s+\w+\s+\S+\s+/add\b|\bnet\s+localgroup\s+administrators\s+\w+\s+/add\b"
    r"|\bcrontab\b[^\n]{0,120}(?:curl|wget|/dev/tcp|nc\s)"
    r"|\b(?:add|append|insert|put|install)\s+(?:this|my|the\s+following|our|an?)\s+(?:ssh\s+|public"
    r"\s+)*key\s+(?:to|into|in)\s+(?:the\s+)?\S*authorized_keys\b"
)

_ENCODED_EXEC = _rx(
    rf"\b(?:base64|b64|base32)\s+(?:-d|--decode|-D|-di|-id)\b[^\n|]{{0,80}}\|\s*{_SHELL}"
    rf"|\|\s*(?:base64|base32)\s+(?:-d|--decode|-D|-di)\s*\|\s*{_SHELL}"
    rf"|\bopenssl\s+(?:base64|enc)\b[^\n|]{{0,40}}-d\b[^\n|]{{0,40}}\|\s*{_SHELL}"
    rf"|\bxxd\s+-r\b[^\n|]{{0,40}}\|\s*{_SHELL}|\brev\s*\|\s*{_SHELL}"
    rf"|\b(?:printf|echo\s+-e|echo\s+-ne)\s+[\"']?(?:\\x[0-9a-f]{{2}}|\\[0-7]{{3}}){{3,}}[^\n|]*"
    rf"\|\s*{_SHELL}"
    r"|\b(?:powershell|pwsh)(?:\.exe)?\b[^\n]{0,80}\s-(?:e|ec|en|enc|enco|encodedcommand)\s+"
    r"[A-Za-z0-9+/=]{16,}"
    r"|\b(?:exec|eval|function|compile|execfile|system|popen|os\.system|subprocess\.\w+|run)\s*"
    r"\(\s*[^\n]{0,80}?(?:b64decode|base64\.\w*decode|\batob\s*\(|fromcharcode|buffer\.from\("
    r"[^\n]{0,200}(?:base64|hex)|unhexlify|bytes\.fromhex|codecs\.decode|zlib\.decompress"
    r"|marshal\.loads|rot_?13|\[::-1\])"
    r"|\b(?:decode|unbase64|base64[- ]decode|deobfuscate|decrypt|unhex|reverse|rot13|unscramble)\b"
    r"[^\n.]{0,60}?\b(?:and|then|,|before\s+you)\s+(?:run|execute|exec|eval(?:uate)?|follow|obey"
    r"|do|apply|carry\s+out|paste|act\s+on|pipe)\b(?:\s+(?:it|them|that|this|the\s+(?:[\w-]+\s+)?"
    r"(?:instructions?|payload|result|command|script|output|contents?|text|blob|steps?|string"
    r"|token))|\s*[.!:]|\s*$)"
    r"|\b(?:follow|run|execute|obey|apply|carry\s+out)\s+(?:the\s+)?(?:decoded|base64|encoded"
    r"|hidden|obfuscated|embedded|reversed)\s+(?:instructions?|text|payload|commands?|blob"
    r"|steps?|string|script)"
)


_RULES: tuple[_Rule, ...] = (
    _Rule(OVERRIDE, _OVERRIDE_EN, warnable=False),
    _Rule(OVERRIDE, _OVERRIDE_ML, warnable=False),
    _Rule(ROLE, _ROLE, warnable=False),
    _Rule(COVERT, _COVERT, warnable=False),
    _Rule(FETCH_EXEC, _FETCH_EXEC),
    _Rule(FETCH_EXEC, _FETCH_EXEC_WORDS, imperative=True),
    _Rule(DESTRUCTIVE, _DESTRUCTIVE),
    _Rule(DESTRUCTIVE, _DESTRUCTIVE_WORDS, imperative=True),
    _Rule(DESTRUCTIVE, _DATABASE_WORDS, imperative=True, exempt=_LOCAL_EXEMPT),
    _Rule(EXFILTRATION, _EXFILTRATION),
    _Rule(EXFILTRATION, _EXFILTRATION_WORDS, imperative=True),
    _Rule(DISABLE_SAFETY, _DISABLE_SAFETY),
    _Rule(DISABLE_SAFETY, _DISABLE_SAFETY_WORDS, imperative=True, exempt=_SAFETY_EXEMPT),
    _Rule(BACKDOOR, _BACKDOOR),
    _Rule(ENCODED_EXEC, _ENCODED_EXEC),
)

_NEEDLES = _NeedleIndex([alt for rule in _RULES for alt in rule.alternatives])

# --------------------------------------------------------------------------------------------
# Warnings and past accounts
# --------------------------------------------------------------------------------------------

# Where a clause starts, looking back from a match: the end of a sentence, or a comma followed
# by a new imperative ("do not ask, just run ...").
_CLAUSE_START = re.compile(
    r"[.!?](?=\s)|[;\n。！？]|,\s*(?=(?:and|then|so|but|just|instead|simply|now|rather|run|execute"
    r"|type|paste|use|call|invoke|do|delete|disable|remove|skip|send|push|drop|wipe|set|add"
    r"|append|turn|go|commit|merge|force)\b)|\b(?:but|however)\b"
    r"|\band\s+(?=(?:then\s+)?(?:just\s+)?(?:run|execute|type|paste|delete|disable|remove|skip|send"
    r"|push|wipe|drop|set|add|append|commit|merge|pipe)\b)",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.!?](?=\s|$)|[;\n。！？]|\b(?:but|however)\b", re.IGNORECASE)
_NEGATOR = re.compile(
    r"\b(?:never|don'?t|dont|do\s+not|does\s+not|doesn'?t|must\s+not|mustn'?t|should\s+not"
    r"|shouldn'?t|shall\s+not|cannot|can'?t|won'?t|will\s+not|not|no|avoid(?:ing)?"
    r"|stop\s+(?:using|running|doing|piping|calling|adding|committing|pushing)"
    r"|refuse|prohibit(?:ed)?|forbid(?:den)?|ban(?:ned)?|beware|careful|warning|caution|danger"
    r"|instead\s+of|rather\s+than|in\s+place\s+of|no\s+more|nobody|no\s+one"
    r"|nunca|jam[aá]s|jamais|ne|n'|pas|nicht|nie|niemals|kein\w*|n[aã]o|не|нельзя|никогда|mai"
    r"|non|nooit|niet|nigdy|asla)\b|不要|别|別|禁止|切勿|勿|不可|不能|决不|絕不|絶対に|してはいけない"
    r"|しないで|しないこと|ダメ|禁物",
    re.IGNORECASE,
)
# Negations that push an instruction rather than warn against one.
_PUSHY_NEGATION = re.compile(
    r"(?:don'?t|do\s+not|never|no\s+need\s+to|not)\s+(?:\w+\s+)?(?:hesitate|forget|ask|wait"
    r"|bother|worry|question|stop|check|confirm|tell|mention|inform|let|need|hold\s+back|think"
    r"|overthink|argue|second-guess|prompt|pause|look|verify|read)\b"
    r"|\bno\s+(?:need|questions?|confirmation|review|approval|tests?|ci|checks?|exceptions?)\b"
    r"|\bnot\s+(?:only|just)\b|\bdoes\s+not\s+matter\b|\bno\s+matter\b"
    r"|\bstop\s+(?:asking|waiting|checking|worrying|hesitating|questioning|thinking|overthinking"
    r"|stalling|delaying|double-checking)\b",
    re.IGNORECASE,
)
_AFTER_WARNING = re.compile(
    r"^[^.!?;\n]{0,80}?\b(?:is|are|was|were|would\s+be|will|would|can|could|might|may)\s+"
    r"(?:\w+\s+)?(?:dangerous|forbidden|banned|not\s+allowed|a\s+bad\s+idea|destructive|unsafe"
    r"|prohibited|never\s+ok(?:ay)?|off[- ]limits|wipe|destroy|delete|erase|lose|nuke|break"
    r"|brick|blocked|rejected|flagged|caught|refused|denied|disabled|turned\s+off|not\s+(?:allowed"
    r"|permitted|available|supported|used))\b"
    r"|^\W{0,3}[;,.:\u2014\u2013-]\s*(?:so\s+)?(?:don'?t|do\s+not|never|not)\b[^\n]{0,30}$"
    r"|^[^\n]{0,40}?[(\u2014\u2013-]\s*(?:don'?t|do\s+not|never)\b",
    re.IGNORECASE,
)
_PAST_ACCOUNT = re.compile(
    r"\b(?:by\s+(?:mistake|accident)|accidentally|mistakenly|inadvertently|incident|post-?mortem"
    r"|outage|root\s+cause|last\s+(?:year|week|month|sprint|time|quarter|night|release)"
    r"|yesterday|(?:ran|typed|executed|pasted|did|tried|caused|wiped|deleted|leaked|pushed"
    r"|dropped|removed|replaced|reverted|broke|lost|destroyed)\b|used\s+to|used\s+in\s+the\s+past"
    r"|previously|formerly|in\s+(?:19|20)\d\d|no\s+longer"
    r"|\b(?:the|our|an?)\s+(?:old|previous|former|legacy|original|earlier)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:\w+ed|ran|did|had|was|were|used|took|made|went|came)\b|(?:was|were|got|has"
    r"\s+been|have\s+been)\s+(?:\w+\s+)?(?:removed|replaced|reverted|banned|blocked|rejected|caught"
    r"|flagged|deleted|dropped|fixed|disabled|run|executed))",
    re.IGNORECASE,
)


def _is_warning_or_account(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 160) : start]
    cuts = list(_CLAUSE_START.finditer(before))
    clause_before = before[cuts[-1].end() :] if cuts else before
    after = text[end : end + 200]
    cut = _CLAUSE_END.search(after)
    clause_after = after[: cut.start()] if cut else after
    negators = [
        m
        for m in _NEGATOR.finditer(clause_before)
        if not _PUSHY_NEGATION.match(clause_before, m.start())
    ]
    if negators:
        return True
    if _AFTER_WARNING.search(after.split("\n", 1)[0]):
        return True
    # Japanese puts the negation after the verb: "... を実行しないでください".
    if re.match(
        r"^[^。\n]{0,30}?(?:しないで|してはいけない|しないこと|禁止|ダメ|厳禁)", clause_after
    ):
        return True
    return _PAST_ACCOUNT.search(clause_before + text[start:end] + clause_after) is not None


def _rule_fires(rule: _Rule, text: str, hit: set[int]) -> bool:
    for alternative in rule.alternatives:
        if not alternative.required <= hit:
            continue
        for m in alternative.pattern.finditer(text):
            if rule.imperative and not _imperative_at(text, m.start()):
                continue
            if rule.exempt is not None and rule.exempt.search(
                text, m.start(), min(len(text), m.end() + 50)
            ):
                continue
            if rule.warnable and _is_warning_or_account(text, m.start(), m.end()):
                continue
            return True
    return False


# --------------------------------------------------------------------------------------------
# Encoded payloads
# --------------------------------------------------------------------------------------------

_BASE64 = re.compile(
    r"(?<![\w+/=-])(?:[A-Za-z0-9+/]{4}){4,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?(?![\w+/=-])"
)
_BASE64URL = re.compile(r"(?<![\w=-])[A-Za-z0-9_-]{20,}={0,2}(?![\w=-])")
_HEX = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}){8,}(?![0-9a-fA-F])")
_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[0-7]{3}|%[0-9a-fA-F]{2})")
_CHAR_CODES = re.compile(
    r"(?:fromCharCode|chr|char|\[char\])\s*\(\s*(\d{2,3}(?:\s*,\s*\d{2,3}){3,})\s*\)"
    r"|((?:(?:chr|char|\[char\])\s*\(?\s*\d{2,3}\s*\)?\s*[+,]\s*){3,}(?:chr|char|\[char\])\s*\(?"
    r"\s*\d{2,3}\s*\)?)",
    re.IGNORECASE,
)
_HINT_ROT13 = re.compile(r"\brot[\s_-]?13\b|\bcaesar\b", re.IGNORECASE)
_HINT_REVERSED = re.compile(
    r"\b(?:reversed?|backwards?|rev\b|right[\s-]to[\s-]left|\[::-1\])", re.IGNORECASE
)


def _readable(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b" or data[:1] == b"\x78":
        # gzip or zlib; at most 64 KiB of it, so a small bomb cannot take the memory
        with contextlib.suppress(zlib.error):
            data = zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(data, 65536)
    for encoding in ("utf-8", "utf-16-le"):
        try:
            decoded = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if len(decoded) < 6:
            return None
        printable = sum(c.isprintable() or c in "\n\t" for c in decoded)
        letters = sum(c.isalpha() or c == " " for c in decoded)
        if printable >= 0.95 * len(decoded) and letters >= 0.5 * len(decoded):
            return decoded
    return None


def _decoded_payloads(text: str) -> list[str]:
    """Text hidden in `text` by a common encoding, decoded (each at most once)."""
    found: list[str] = []

    def keep(value: str | None) -> None:
        if value and value not in found and value != text and len(found) < _MAX_PAYLOADS:
            found.append(value)

    for m in _BASE64.finditer(text):
        blob = m.group()
        if blob.isalpha() and (blob.islower() or blob.isupper()):
            continue  # a long word, not a payload
        with contextlib.suppress(binascii.Error, ValueError):
            keep(_readable(base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)))
    for m in _BASE64URL.finditer(text):
        blob = m.group()
        if "-" in blob or "_" in blob:
            with contextlib.suppress(binascii.Error, ValueError):
                keep(_readable(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))))
    for m in _HEX.finditer(text):
        keep(_readable(bytes.fromhex(m.group())))
    if len(_ESCAPES.findall(text)) >= 3:
        keep(_unescape(text))
    for m in _CHAR_CODES.finditer(text):
        codes = [int(n) for n in re.findall(r"\d{2,3}", m.group(1) or m.group(2))]
        keep("".join(chr(c) for c in codes if 9 <= c < 0x110000))
    if _HINT_ROT13.search(text):
        keep(codecs.decode(text, "rot13"))
    if _HINT_REVERSED.search(text):
        keep(text[::-1])
    return found


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        token = m.group()
        if token[0] == "%":
            return unquote(token)
        if token[1] in "xu":
            return chr(int(token[2:], 16))
        return chr(int(token[1:], 8))

    return _ESCAPES.sub(one, text)


# --------------------------------------------------------------------------------------------


def _flags(text: str, depth: int) -> list[str]:
    base = normalize(text)
    views = [base]
    folded = fold_to_latin(base)
    if folded != base.lower():
        views.append(folded)
    # Needles are looked for in lower case with each run of whitespace as one space.
    found = [(view, _NEEDLES.find(" ".join(view.lower().split()))) for view in views]
    reasons: list[str] = []
    for rule in _RULES:
        if rule.reason not in reasons and any(_rule_fires(rule, v, f) for v, f in found):
            reasons.append(rule.reason)
    if depth < _MAX_DEPTH:
        for payload in _decoded_payloads(base):
            for reason in _flags(payload, depth + 1):
                inner = reason.removeprefix(f"{ENCODED}: ")
                label = f"{ENCODED}: {inner}"
                if label not in reasons:
                    reasons.append(label)
    return reasons


_CHUNK = 2000
_OVERLAP = 300  # longer than any window the rules look through


def _chunks(text: str) -> list[str]:
    """A long text in paragraphs of at most `_CHUNK` characters (rules do not look across a
    blank line); a longer paragraph is cut at line ends, and a longer line with some overlap."""
    out: list[str] = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        if len(paragraph) <= _CHUNK:
            out.append(paragraph)
            continue
        piece = ""
        for line in paragraph.split("\n"):
            if len(piece) + len(line) + 1 > _CHUNK and piece:
                out.append(piece)
                piece = ""
            while len(line) > _CHUNK:
                out.append(line[:_CHUNK])
                line = line[_CHUNK - _OVERLAP :]
            piece = f"{piece}\n{line}" if piece else line
        out.append(piece)
    return [chunk for chunk in out if chunk.strip()]


def instruction_flags(text: str) -> list[str]:
    """Why `text` reads like an instruction to an agent (empty: it does not)."""
    if len(text) <= _CHUNK:
        return _flags(text, 0)
    reasons: list[str] = []
    for chunk in _chunks(text):
        reasons.extend(r for r in _flags(chunk, 0) if r not in reasons)
    return reasons
