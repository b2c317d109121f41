"""What a shell command is about, without running anything: the programs and subcommands it
runs (`terraform apply`, `manage.py migrate`, `scripts/deploy.sh`) and the identifiers it names
(module names, paths, flags with their values), the noise left out. Pure: the command-time
lookup (recall/command.py) searches past mistakes with these terms and speaks only when one of
them is literally in the mistake.

Noise, left out: environment assignments, wrappers (`sudo`, `env`, `time`, `npx`, `uv run`,
...), redirections, free text (commit messages, `echo` arguments), common flags, plain words,
and whole commands that only read or move around (`ls`, `cat`, `grep`, `cd`, `git status`,
...): they cannot do what a past mistake warns about."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

# Tokens that end one simple command and start the next.
_SEPARATORS = frozenset({"|", "||", "&&", ";", "&", ";;", "|&", "(", ")", "\n", "{", "}"})
_REDIRECT = re.compile(r"^\d*(?:>>?|<<?<?|>&|<&|&>>?|>\|)$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Programs that run the command after them (their own options skipped).
_WRAPPERS = frozenset(
    {
        "sudo", "doas", "env", "time", "nice", "nohup", "exec", "command", "builtin", "xargs",
        "timeout", "watch", "npx", "pnpx", "bunx", "strace", "caffeinate", "stdbuf", "ionice",
        "chronic", "dotenv", "op", "aws-vault", "with-contenv",
    }
)  # fmt: skip
# Options of a wrapper that take a value (`sudo -u deploy`, `timeout -s KILL 30`).
_WRAPPER_VALUE_OPTIONS = frozenset({"-u", "-g", "-n", "-s", "-k", "-C", "-p", "-U", "-E"})
# `<runner> <verb> CMD ...` runs CMD: `uv run`, `poetry run`, `bundle exec`, `pnpm exec`, ...
_RUNNERS = frozenset(
    {
        ("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run"),
        ("bundle", "exec"), ("pnpm", "exec"), ("pnpm", "dlx"), ("yarn", "dlx"), ("npm", "exec"),
        ("rye", "run"), ("conda", "run"), ("mise", "exec"), ("asdf", "exec"), ("direnv", "exec"),
        ("nix", "run"), ("cargo", "run"), ("go", "run"), ("docker", "exec"), ("kubectl", "exec"),
    }
)  # fmt: skip
_SHELLS = re.compile(r"^(?:bash|sh|zsh|dash|ksh|fish)$")
_INTERPRETERS = re.compile(r"^(?:python[\d.]*|py|node|deno|bun|ruby|perl|php|bash|sh|zsh|fish)$")
# Commands that only look, print or move around: nothing they do is a past mistake to repeat.
READ_ONLY = frozenset(
    {
        "ls", "ll", "la", "cat", "less", "more", "head", "tail", "grep", "egrep", "fgrep", "rg",
        "ag", "ack", "find", "fd", "locate", "wc", "file", "stat", "tree", "bat", "diff", "cmp",
        "echo", "printf", "pwd", "cd", "pushd", "popd", "dirs", "which", "whereis", "type",
        "man", "info", "help", "history", "clear", "true", "false", "sleep", "date", "cal",
        "whoami", "id", "groups", "hostname", "uname", "uptime", "export", "unset", "set",
        "source", ".", "alias", "jq", "yq", "sort", "uniq", "cut", "tr", "column", "nl", "tac",
        "rev", "fold", "fmt", "paste", "join", "comm", "awk", "du", "df", "free", "ps", "pgrep",
        "top", "htop", "btop", "lsof", "env", "printenv", "tee", "realpath", "readlink",
        "dirname", "basename", "md5sum", "sha256sum", "shasum", "base64", "xxd", "hexdump",
        "od", "strings", "open", "xdg-open", "code", "cursor", "vim", "vi", "nvim", "nano",
        "emacs", "micro", "hx", "subl", "mkdir", "touch", "test", "[", "[[", "read", "wait",
        "jobs", "fg", "bg", "exit", "ping", "dig", "nslookup", "host", "tldr", "glow", "zoxide",
        "z", "fzf", "ncdu", "seq", "yes", "bc", "expr", "tput", "stty", "locale", "lscpu",
        "nproc", "getconf", "ulimit", "umask", "trap", "shift", "local", "declare", "let",
    }
)  # fmt: skip
# `<program> <subcommand>` pairs that only read, whatever follows.
READ_ONLY_SUBCOMMANDS = {
    "git": frozenset(
        {
            "status", "log", "diff", "show", "branch", "blame", "shortlog", "describe",
            "rev-parse", "rev-list", "ls-files", "ls-tree", "ls-remote", "grep", "reflog",
            "remote", "config", "help", "version", "cat-file", "show-ref", "for-each-ref",
            "worktree", "stash", "fetch", "whatchanged", "name-rev", "merge-base", "count-objects",
            "check-ignore", "var", "cherry", "range-diff", "difftool", "bisect", "switch",
            "pull", "tag", "notes",
        }
    ),
    "kubectl": frozenset(
        {"get", "describe", "logs", "top", "explain", "version", "api-resources", "config",
         "cluster-info", "auth", "diff", "events", "port-forward", "wait"}
    ),
    "docker": frozenset(
        {"ps", "images", "logs", "inspect", "version", "info", "stats", "top", "history",
         "events", "search", "port", "diff", "context"}
    ),
    "helm": frozenset({"list", "ls", "status", "get", "history", "template", "lint", "show",
                       "search", "version", "repo", "dependency"}),
    "terraform": frozenset({"plan", "show", "validate", "fmt", "output", "version", "graph",
                            "providers", "console", "state list"}),
    "gh": frozenset({"pr", "issue", "repo", "run", "auth", "status", "browse", "api"}),
    "npm": frozenset({"ls", "list", "view", "info", "outdated", "search", "help", "root",
                      "bin", "prefix", "explain", "why", "doctor", "version", "-v"}),
    "pnpm": frozenset({"ls", "list", "outdated", "why", "view", "info", "root", "store"}),
    "cargo": frozenset({"tree", "metadata", "search", "doc", "check", "clippy", "fmt",
                        "version", "help"}),
    "go": frozenset({"env", "version", "list", "doc", "vet", "fmt"}),
    "pip": frozenset({"list", "show", "freeze", "check", "search", "help", "config"}),
    "brew": frozenset({"list", "info", "search", "doctor", "outdated", "deps", "leaves"}),
    "systemctl": frozenset({"status", "list-units", "is-active", "is-enabled", "cat", "show"}),
    "aws": frozenset({"sts"}),
}  # fmt: skip
# Flags every tool has, or nearly: they say nothing about what the command does.
COMMON_FLAGS = frozenset(
    {
        "--help", "--version", "--verbose", "--quiet", "--silent", "--color", "--colour",
        "--no-color", "--json", "--yes", "--all", "--debug", "--output", "--format", "--watch",
        "--dry-run", "--list", "--oneline", "--stat", "--cached", "--staged", "--global",
        "--save-dev", "--save", "--frozen-lockfile", "--release", "--tags", "--follow",
        "--recursive", "--interactive", "--tty", "--rm", "--detach", "--build", "--name",
        "--file", "--config", "--namespace", "--context", "--short", "--long", "--pretty",
        "--graph", "--decorate", "--no-pager", "--porcelain", "--check", "--fix", "--write",
        "--coverage", "--parallel", "--workspace", "--filter", "--cwd", "--prefix", "--target",
        "--manifest-path", "--features", "--offline", "--locked", "--lib", "--bin", "--tests",
        "--exact", "--nocapture", "--show-output", "--project", "--profile", "--region",
        "--max-count", "--since", "--until", "--author", "--limit", "--force-with-lease",
        "--ff-only", "--rebase", "--no-edit", "--amend", "--set-upstream", "--upstream",
        "--message", "--env", "--port", "--host", "--reload", "--open", "--mode", "--selector",
    }
)  # fmt: skip
# Flags whose value is free text or a secret: neither is an identifier of the work.
_FREE_TEXT_FLAGS = frozenset(
    {"-m", "--message", "-F", "--title", "--body", "-b", "--description", "--notes",
     "--password", "-p", "--token", "--secret", "--pass", "-a", "--comment", "--reason",
     "-e", "--expression", "--query", "-c", "-H", "--header", "--data", "--data-raw",
     "--user", "-u"}
)  # fmt: skip
_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_SUBCOMMAND = re.compile(r"^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)?$")
# A sed-style substitution (`s/a/b/g`): code, not a path.
_SUBSTITUTION = re.compile(r"^s([/|#,:]).*\1.*\1[a-zA-Z0-9]*$")
_SCRIPT = re.compile(r"(?:^\.{0,2}/|/)|\.(?:sh|bash|py|rb|js|ts|mjs|pl|ps1|exs?)$")
# An identifier: has a character words of prose do not (`/ . _ :` or an inner upper-case
# letter or a digit after a letter), or is a long flag. Plain words (`prod`, `main`) are not.
_DISTINCTIVE = re.compile(r"[/._:@]|[a-z][A-Z]|[A-Za-z]\d|[a-z]-[a-z]")
# Names every project has: they say nothing about this project's past (`rm -rf node_modules`).
CONVENTIONAL_NAMES = frozenset(
    {
        "node_modules", "dist", "build", "target", "vendor", ".venv", "venv", "__pycache__",
        ".git", ".env", "coverage", "out", "tmp", ".cache", ".next", ".nuxt", ".output",
        "package.json", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "Cargo.lock",
        "Cargo.toml", "go.mod", "go.sum", "requirements.txt", "pyproject.toml", "setup.py",
        "Makefile", "Dockerfile", "README.md", ".gitignore", "tsconfig.json", "mix.exs",
        "mix.lock", "Gemfile", "Gemfile.lock", "uv.lock", "poetry.lock", ".pytest_cache",
        ".mypy_cache", ".ruff_cache", "build.gradle", "build.gradle.kts", "CMakeLists.txt",
        "docker-compose.yml", "compose.yaml", "index.html", "index.js", "index.ts", "main.py",
        "app.py", "src", "lib", "test", "tests", "docs", "scripts", "bin", "logs", "log",
    }
)  # fmt: skip
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SHORT = 3
# A path's last part names the file only when it has this many characters or more.
_FILE_NAME = 6
_MAX_SEGMENTS = 20
_MAX_TERMS = 16


@dataclass(frozen=True)
class Segment:
    """One simple command: its program (a script's path, relative) and subcommands."""

    program: str
    subcommands: tuple[str, ...]
    identifiers: tuple[str, ...]

    @property
    def phrase(self) -> str:
        return " ".join((self.program, *self.subcommands[:1]))


@dataclass(frozen=True)
class CommandTerms:
    segments: tuple[Segment, ...]
    # "program subcommand" (or the script) of each command that may change something.
    phrases: tuple[str, ...]
    # Distinctive identifiers: paths, module names, flags and their values.
    identifiers: tuple[str, ...]
    # Every flag the command passes (`--upgrade`, `-rf`), without values.
    flags: frozenset[str] = frozenset()

    @property
    def terms(self) -> tuple[str, ...]:
        return self.phrases + self.identifiers

    @property
    def empty(self) -> bool:
        return not self.phrases and not self.identifiers

    def query(self) -> str:
        """The text the lookup searches with: each command as its program, subcommands and
        identifiers."""
        return " ; ".join(
            " ".join((s.program, *s.subcommands, *s.identifiers)) for s in self.segments
        )


def tokens(command: str) -> list[str]:
    """The command's words and operators, quotes removed; with unbalanced quotes, the words as
    whitespace and operators cut them (quote characters dropped)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # no closing quotation, or an escape at the end
        cleaned = re.sub(r"[\"'`\\]", " ", command)
        return re.findall(r"\|\||&&|[;&|()<>\n]|[^\s;&|()<>]+", cleaned)


def split_commands(words: list[str]) -> list[tuple[list[str], list[str]]]:
    """Simple commands between operators: each one's words (redirections left out) and the
    files it writes to (`> FILE`, `>> FILE`)."""
    commands: list[tuple[list[str], list[str]]] = [([], [])]
    redirect: str | None = None
    for word in words:
        if redirect is not None:
            if ">" in redirect and "&" not in redirect and not word.startswith("/dev/"):
                commands[-1][1].append(word)
            redirect = None
        elif word in _SEPARATORS:
            commands.append(([], []))
        elif _REDIRECT.match(word):
            redirect = word
        elif word.startswith(("$(", "`")):
            commands.append(([word.lstrip("$(`")], []))
        else:
            commands[-1][0].append(word)
    return [c for c in commands if c[0] or c[1]]


def _unwrap(words: list[str]) -> list[str]:
    """The command a wrapper runs: `sudo -u x FOO=1 npx prisma migrate` → `prisma migrate`."""
    i = 0
    while i < len(words):
        word = words[i]
        name = word.rsplit("/", 1)[-1]
        if _ASSIGNMENT.match(word):
            i += 1
        elif name in _WRAPPERS:
            i += 1
            while i < len(words) and (words[i].startswith("-") or _ASSIGNMENT.match(words[i])):
                i += 2 if words[i] in _WRAPPER_VALUE_OPTIONS else 1
            if name in {"timeout", "watch"} and i < len(words) and words[i][:1].isdigit():
                i += 1
        elif i + 1 < len(words) and (name, words[i + 1]) in _RUNNERS:
            i += 2
            while i < len(words) and words[i].startswith("-"):
                i += 1
        else:
            break
    return words[i:]


def _interpreted(words: list[str]) -> list[str]:
    """`python -m pytest -x` → `pytest -x`; `python manage.py migrate` → `manage.py migrate`;
    `bash ./scripts/deploy.sh` → `scripts/deploy.sh`."""
    if not words or not _INTERPRETERS.match(words[0].rsplit("/", 1)[-1]):
        return words
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        if rest[0] == "-m" and len(rest) > 1:
            return rest[1:]
        if rest[0] in {"-c", "-e"}:
            return []  # inline code: free text
        rest = rest[1:]
    return rest or words[:1]


def _program(word: str) -> str:
    if _SCRIPT.search(word) and "/" in word:
        return re.sub(r"^(?:\./)+", "", word)
    return word.rsplit("/", 1)[-1]


def _identifiers(word: str, value: str | None) -> list[str]:
    """The identifiers in one argument (a flag and its value, or a positional word)."""
    found: list[str] = []
    if word.startswith("-"):
        flag, _, inline = word.partition("=")
        value = inline or value
        if flag.startswith("--") and flag not in COMMON_FLAGS and len(flag) > _SHORT + 2:
            found.append(flag)
        elif flag[:2] in {"-D", "-P"} and len(flag) > _SHORT + 2:  # -DNAME=VALUE, -Pname=value
            found.append(flag[2:])
        if value is not None and flag not in _FREE_TEXT_FLAGS:
            found += _positional(value)
        return found
    return _positional(word)


def _positional(word: str) -> list[str]:
    word = word.strip("\"',;")
    if _SUBSTITUTION.match(word):
        return []
    if _URL.match(word):
        # A URL names its host and path, not its scheme (and never its credentials).
        if "@" in word.split("/", 3)[2]:
            return []
        word = _URL.sub("", word).split("?", 1)[0].rstrip("/")
        host = word.split("/", 1)[0]
        return list(dict.fromkeys([word, host])) if "." in host else [word]
    if len(word) < _SHORT or word.startswith(("$", "~")) or ("://" in word and "@" in word):
        return []
    if not _DISTINCTIVE.search(word) or word.strip("/") in CONVENTIONAL_NAMES:
        return []
    found = [word]
    if "/" in word.strip("/"):
        # A path: also its folder (`assets/levels`) and a file name long enough to name one
        # file (`settings.gradle.kts`, not `a.py`).
        path = re.sub(r"^(?:\./)+", "", word).rstrip("/")
        if not _DISTINCTIVE.search(path):
            return []  # `./build`: a plain word
        parts = path.split("/")
        found = [path]
        if len(parts) > 2:
            found.append("/".join(parts[:2]))
        name = parts[-1]
        if len(name) >= _FILE_NAME and _DISTINCTIVE.search(name) and name not in CONVENTIONAL_NAMES:
            found.append(name)
    return found


_PRINTERS = frozenset({"echo", "printf", "cat", "tee"})


def _content(text: str) -> list[str]:
    """The identifiers in text written to a file: each `key=value` line's key, and words."""
    found: list[str] = []
    for part in re.split(r"[\s\n]+", text):
        key = part.split("=", 1)[0]
        found += _positional(key) if key and not key.startswith("-") else []
    return found


def analyze_segment(words: list[str], writes: list[str] | None = None) -> Segment | None:
    """One simple command's program, subcommands and identifiers; None when it only reads.
    `writes`: the files its output is written to (`>`), which it changes whatever it is."""
    words = _interpreted(_unwrap(words))
    written = [ident for path in writes or () for ident in _positional(path)]
    if not words:
        return None
    program = _program(words[0])
    if program in READ_ONLY or program.startswith("-"):
        if not written:
            return None
        if program in _PRINTERS:
            # What is printed into a file is what the file will hold (`echo "k=v" >> f`).
            written += [i for word in words[1:] for i in _content(word)]
        return Segment(program, (), tuple(dict.fromkeys(written)))
    rest = words[1:]
    subcommands: list[str] = []
    while rest and len(subcommands) < 2 and _SUBCOMMAND.match(rest[0]) and "/" not in rest[0]:
        subcommands.append(rest[0])
        rest = rest[1:]
    if subcommands and subcommands[0] in READ_ONLY_SUBCOMMANDS.get(program, ()):
        return None
    identifiers: list[str] = []
    for extra in subcommands[1:]:
        identifiers += _positional(extra)
    for i, word in enumerate(rest):
        follows = rest[i + 1] if i + 1 < len(rest) and not rest[i + 1].startswith("-") else None
        if word.startswith("-") and "=" not in word:
            if word in _FREE_TEXT_FLAGS:
                continue
            value = follows if word.startswith("--") and follows and _is_value(follows) else None
            identifiers += _identifiers(word, value)
        elif i > 0 and rest[i - 1] in _FREE_TEXT_FLAGS:
            continue
        elif word.startswith("-"):
            identifiers += _identifiers(word, None)
        else:
            identifiers += _positional(word)
    if "/" in program:
        identifiers.insert(0, program)
    identifiers += written
    return Segment(program, tuple(subcommands), tuple(dict.fromkeys(identifiers)))


def _is_value(word: str) -> bool:
    return (bool(word) and not _WORD.match(word)) or word.isdigit()


def analyze(command: str) -> CommandTerms:
    """The terms of a whole command line: each simple command's phrase and identifiers."""
    segments: list[Segment] = []
    words = tokens(command)
    commands = split_commands(words)
    # `bash -c "CMD"`, `sh -c 'CMD'`: the quoted command is the one that runs.
    inner = [
        (words_[2], writes)
        for words_, writes in commands
        if len(words_) >= 3 and _SHELLS.match(words_[0].rsplit("/", 1)[-1]) and words_[1] == "-c"
    ]
    for text, _ in inner[:_MAX_SEGMENTS]:
        inner_words = tokens(text)
        words += inner_words
        commands += split_commands(inner_words)
    for words_, writes in commands[:_MAX_SEGMENTS]:
        segment = analyze_segment(words_, writes)
        if segment is not None:
            segments.append(segment)
    phrases: dict[str, None] = {}
    identifiers: dict[str, None] = {}
    for s in segments:
        if (s.subcommands or "/" in s.program or _DISTINCTIVE.search(s.program)) and (
            s.program not in READ_ONLY
        ):
            phrases[s.phrase] = None
        for ident in s.identifiers:
            identifiers[ident] = None
    phrase_list = list(phrases)[:_MAX_TERMS]
    return CommandTerms(
        tuple(segments),
        tuple(phrase_list),
        tuple(i for i in identifiers if i not in phrases)[: _MAX_TERMS - len(phrase_list)],
        frozenset(w.split("=", 1)[0] for w in words if w.startswith("-") and len(w) > 1),
    )
