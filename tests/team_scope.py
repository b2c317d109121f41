"""Does a SQL statement name its team? A light reader of PostgreSQL statements for the check that
every statement touching a table distributed by team constrains `team_id` in its own text
(tests/test_shard_ready.py, docs/scaling.md): a distributed planner such as Citus sends a
statement to one shard only when each distributed table in it is restricted to one value of the
distribution column. Row-level security does not count: its policy compares with a setting,
which no planner routes on.

The rule, per query level (the statement, each parenthesised subquery and CTE body on its own):
every reference to a team-owned table (`FROM t`, `JOIN t a`, `UPDATE t`, `DELETE FROM t`,
`USING t`) must have its `team_id` equated with a bound value (a statement parameter, or in a
function body one of the function's arguments or variables), directly (`a.team_id = :team`) or
through other references of the same level (`p.team_id = l.team_id` with `l.team_id = :team`,
the equivalence a planner derives). Equating it with a column of a subquery, a CTE or an outer
level does not count: no planner carries a constant through those. An INSERT must list
`team_id` among its columns.

Not a SQL parser: string literals and comments are blanked, parentheses nested, and the table
references, `=` predicates and function calls read off the tokens. It is meant for the
service's own statements (SQLAlchemy's and hand-written ones); `check` raises on what it cannot
read rather than passing it."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<param>%\([A-Za-z_][A-Za-z0-9_]*\)s|%s|(?<![:\w]):[A-Za-z_][A-Za-z0-9_]*|\$\d+)
    |(?P<name>"[^"]+"(?:\."[^"]+")*|[A-Za-z_][A-Za-z0-9_$]*(?:\.(?:[A-Za-z_][A-Za-z0-9_$]*|\*))*)
    |(?P<number>\d+(?:\.\d+)?)
    |(?P<op>::|<>|!=|<=|>=|\|\||[=<>(),;*+\-/%@&|~#\[\]^.!?:])
    |(?P<space>\s+)
    """,
    re.VERBOSE,
)
_STRING = re.compile(r"'(?:[^']|'')*'")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_DOLLAR = re.compile(r"\$(\w*)\$.*?\$\1\$", re.DOTALL)

_STARTS_QUERY = {"select", "with", "values", "insert", "update", "delete", "table"}
# After a table's name, these end the reference (no alias follows).
_NOT_ALIAS = {
    "where", "join", "on", "set", "using", "left", "right", "inner", "full", "cross", "outer",
    "natural", "group", "order", "limit", "offset", "for", "window", "having", "union",
    "except", "intersect", "returning", "values", "default", "select", "tablesample", "lateral",
    "as", "with", "into", "from", "and", "or", "not", "fetch",
}  # fmt: skip
# Where a FROM list ends.
_END_OF_FROM = {
    "where", "group", "order", "limit", "offset", "for", "window", "having", "union",
    "except", "intersect", "returning", "on", "set", "fetch",
}  # fmt: skip


@dataclass
class Token:
    kind: str  # param, name, number, op, string, query (a subquery, not read here)
    text: str

    @property
    def low(self) -> str:
        return self.text.lower()


@dataclass
class Reference:
    table: str
    alias: str
    insert_columns: list[str] | None = None  # an INSERT's target: its column list


@dataclass
class Level:
    tokens: list[Token]
    references: list[Reference] = field(default_factory=list)


class Unreadable(ValueError):
    pass


def _tokens(sql: str) -> list[Token]:
    sql = _COMMENT.sub(" ", sql)
    sql = _DOLLAR.sub(" '' ", sql)
    sql = _STRING.sub(" '' ", sql)
    out: list[Token] = []
    pos = 0
    while pos < len(sql):
        if sql.startswith("''", pos):
            out.append(Token("string", "''"))
            pos += 2
            continue
        m = _TOKEN.match(sql, pos)
        if m is None:
            raise Unreadable(f"cannot read {sql[pos : pos + 30]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "space":
            out.append(Token(kind, m.group()))
    return out


def _nest(tokens: list[Token]) -> list[Token | list]:  # type: ignore[type-arg]
    """Parenthesised groups as nested lists (without their parentheses)."""
    stack: list[list] = [[]]  # type: ignore[type-arg]
    for t in tokens:
        if t.text == "(":
            stack.append([])
        elif t.text == ")":
            if len(stack) == 1:
                raise Unreadable("unbalanced parentheses")
            group = stack.pop()
            stack[-1].append(group)
        else:
            stack[-1].append(t)
    if len(stack) != 1:
        raise Unreadable("unbalanced parentheses")
    return stack[0]


def _is_query(group: list) -> bool:  # type: ignore[type-arg]
    first = group[0] if group else None
    return isinstance(first, Token) and first.low in _STARTS_QUERY


def _levels(tree: list, out: list[Level]) -> None:  # type: ignore[type-arg]
    """Flattens `tree` into one level: its expression groups inline (with their parentheses),
    each subquery replaced by one `query` token and read as a level of its own."""
    flat: list[Token] = []

    def walk(items: list) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, Token):
                flat.append(item)
            elif _is_query(item):
                flat.append(Token("query", "(...)"))
                _levels(item, out)
            else:
                flat.append(Token("op", "("))
                walk(item)
                flat.append(Token("op", ")"))

    walk(tree)
    out.append(Level(flat))


def _table_name(text: str) -> str:
    return text.split(".")[-1].strip('"').lower()


def _read_references(level: Level, team_tables: set[str]) -> None:
    toks = level.tokens
    i = 0
    in_from = False
    while i < len(toks):
        t = toks[i]
        low = t.low if t.kind == "name" else ""
        if low in {"from", "join", "update", "into", "using"} or (in_from and t.text == ","):
            if low in {"from", "join", "using"} or t.text == ",":
                in_from = True
            j = i + 1
            while j < len(toks) and toks[j].low in {"only", "lateral"}:
                j += 1
            if j < len(toks) and toks[j].kind == "name" and toks[j].low not in _NOT_ALIAS:
                name = toks[j]
                k = j + 1
                # After INTO, a parenthesis opens the column list, not a call's arguments.
                is_call = low != "into" and k < len(toks) and toks[k].text == "("
                if not is_call and _table_name(name.text) in team_tables:
                    if k < len(toks) and toks[k].low == "as":
                        k += 1
                    alias = _table_name(name.text)
                    if k < len(toks) and toks[k].kind == "name" and toks[k].low not in _NOT_ALIAS:
                        alias = toks[k].low
                        k += 1
                    columns = None
                    if low == "into":
                        columns = _insert_columns(toks, k)
                    level.references.append(Reference(_table_name(name.text), alias, columns))
            i = j
            if low == "into":
                in_from = False
            continue
        if low in _END_OF_FROM:
            in_from = False
        i += 1


def _insert_columns(toks: list[Token], k: int) -> list[str]:
    if k >= len(toks) or toks[k].text != "(":
        raise Unreadable("an INSERT without a column list")
    columns = []
    k += 1
    while k < len(toks) and toks[k].text != ")":
        if toks[k].kind == "name":
            columns.append(_table_name(toks[k].text))
        k += 1
    return columns


def _operand(toks: list[Token], i: int, step: int) -> tuple[str, str] | None:
    """The operand of `=` next to position i (step +1: right of it, -1: left): ('column',
    'alias.team_id' or 'team_id') or ('bound', text); None for anything else."""
    if step > 0:
        j = i + 1
        if j < len(toks) and toks[j].low == "cast" and toks[j + 1].text == "(":
            j += 2
        t = toks[j] if j < len(toks) else None
    else:
        j = i - 1
        while j >= 0 and toks[j].text == ")":
            j -= 1
        # `x::uuid` or `CAST(x AS uuid)` on the left: step over the type.
        if j >= 2 and (toks[j - 1].text == "::" or toks[j - 1].low == "as"):
            j -= 2
        t = toks[j] if j >= 0 else None
    if t is None:
        return None
    if t.kind == "param":
        return ("bound", t.text)
    if t.kind == "name":
        return ("name", t.low)
    return None


def _unconstrained(level: Level, bound_names: set[str]) -> list[Reference]:
    toks = level.tokens
    refs = level.references
    if not refs:
        return []
    parent = {r.alias: r.alias for r in refs}
    anchored: set[str] = set()

    def find(a: str) -> str:
        while parent[a] != a:
            a = parent[a]
        return a

    def owner(name: str) -> str | None:
        """The reference whose team_id `name` is: `alias.team_id`, or a bare `team_id` when
        one reference of the level has it."""
        parts = name.split(".")
        if parts[-1] != "team_id":
            return None
        if len(parts) == 1:
            return refs[0].alias if len(refs) == 1 else None
        return parts[-2] if parts[-2] in parent else None

    def is_bound(kind: str, text: str) -> bool:
        return kind == "bound" or (kind == "name" and text.split(".")[0] in bound_names)

    for i, t in enumerate(toks):
        if t.text != "=":
            continue
        left, right = _operand(toks, i, -1), _operand(toks, i, +1)
        if left is None or right is None:
            continue
        a = owner(left[1]) if left[0] == "name" else None
        b = owner(right[1]) if right[0] == "name" else None
        if a is not None and b is not None:
            parent[find(a)] = find(b)
        elif a is not None and is_bound(*right):
            anchored.add(a)
        elif b is not None and is_bound(*left):
            anchored.add(b)
    roots = {find(a) for a in anchored}
    missing = []
    for r in refs:
        if r.insert_columns is not None:
            if "team_id" not in r.insert_columns:
                missing.append(r)
        elif find(r.alias) not in roots:
            missing.append(r)
    return missing


def check(sql: str, team_tables: set[str], bound_names: frozenset[str] = frozenset()) -> list[str]:
    """The team-owned table references of `sql` whose team_id is not constrained (empty: the
    statement names its team everywhere). `bound_names`: identifiers that count as bound
    values, alone or as the qualifier of `x.team_id` (a function's arguments and variables;
    or, for a known exception, the CTEs and aliases a statement carries its team through)."""
    levels: list[Level] = []
    _levels(_nest(_tokens(sql)), levels)
    missing = []
    for level in levels:
        _read_references(level, team_tables)
        missing += [
            f"{r.table} {r.alias}" for r in _unconstrained(level, {n.lower() for n in bound_names})
        ]
    return missing


def tables(sql: str, team_tables: set[str]) -> set[str]:
    """The team-owned tables `sql` reads or writes."""
    levels: list[Level] = []
    _levels(_nest(_tokens(sql)), levels)
    found = set()
    for level in levels:
        _read_references(level, team_tables)
        found |= {r.table for r in level.references}
    return found


def calls(sql: str) -> set[str]:
    """The names of the functions `sql` calls (lower case, schema left off)."""
    toks = _tokens(sql)
    return {
        _table_name(t.text)
        for t, nxt in itertools.pairwise(toks)
        if t.kind == "name" and nxt.text == "("
    }


def plpgsql_statements(body: str) -> list[str]:
    """A function body's statements: split at `;`, with plpgsql's `RETURN QUERY` and the
    block's keywords left off (SQL function bodies come back whole)."""
    body = _COMMENT.sub(" ", body)
    out = []
    for part in body.split(";"):
        text = re.sub(r"(?is)^\s*(declare\b.*?\bbegin\b|begin\b|end\b\s*(if\b)?)", " ", part)
        text = re.sub(r"(?is)^\s*(return\s+query\b|if\b.*?\bthen\b|else\b)", " ", text).strip()
        if text:
            out.append(text)
    return out
