"""`memory-service export` / `import`: one team's projects, handoffs and learnings as JSON Lines.

The file is a header line, one line per project, per handoff and per learning, and an `end`
line with the counts:

    {"type": "header", "format": "memory-service-export", "version": 1, "team": "...",
     "embedding_model": "all-MiniLM-L6-v2", "exported_at": "..."}
    {"type": "project", "id": "...", "slug": "github.com/org/repo", "created_at": "..."}
    {"type": "handoff", "id": "...", "project_id": "...", "body": "...", "status": "read", ...}
    {"type": "learning", "id": "...", "handoff_id": "...", "embedding": [0.01, ...], ...}
    {"type": "end", "counts": {"projects": 1, "handoffs": 2, "learnings": 9}}

Every column of a row is written except `team_id` (the importer decides the team) and columns
the database computes (`tsv`); ids, timestamps, delivery state, idempotency keys, the embedding
and the name of the model that made it travel as they are. The `end` line lets an import tell
a complete file from one cut short (a full disk, a killed export), which would otherwise load
as a smaller but valid-looking team.

Both directions stream: the export reads through a server-side cursor, the import inserts in
batches, so neither holds a team in memory. API keys and audit events are not exported: keys
are credentials of the source server, and the audit trail belongs to where things happened.
Both leave a line in the team's audit trail (`team.export`, `team.import`; by no key).

A file is data from elsewhere (edited by hand, or written by another tool), so the text it
stores gets the write path's hygiene (hygiene/clean.py): escape sequences and control characters
removed and secrets redacted in bodies, header fields, front matter and learnings, learning text
made safe for the text-search parser, content hashes following what changed, recipients checked
as worktree names, instruction-like learnings flagged. An export of this service comes back
unchanged; the report counts what was redacted.

An import runs in one transaction (all or nothing) and inserts with `ON CONFLICT DO NOTHING`
on the ids, so loading the same file twice changes nothing. Rows already in the target team
are left exactly as they are. Embeddings are never recomputed: when they were made with
another model than the configured one, `memory-service reembed` brings them in line.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Column, Table, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import DefaultClause

from memory_service.audit.service import OPERATOR, record
from memory_service.db import session_factory
from memory_service.handoffs import service as handoff_service
from memory_service.handoffs.service import META_FIELDS, content_hash
from memory_service.hygiene.clean import clean_field, clean_text, redaction_warning
from memory_service.hygiene.poison import instruction_flags
from memory_service.hygiene.textsearch import for_text_search
from memory_service.ids import new_id
from memory_service.learnings.service import text_hash
from memory_service.models import (
    HANDOFF_STATUSES,
    LEARNING_KINDS,
    VISIBILITIES,
    Base,
    Team,
)
from memory_service.names import check_project_slug, check_worktree
from memory_service.tenancy import act_as_system

FORMAT = "memory-service-export"
FORMAT_VERSION = 1
# Rows per INSERT on import and per fetch on export: large enough to amortise round trips,
# small enough that a batch of learnings (about 5 KB each as JSON) stays a few MB.
BATCH_SIZE = 500
_TEAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

PROJECTS = Base.metadata.tables["projects"]
HANDOFFS = Base.metadata.tables["handoffs"]
LEARNINGS = Base.metadata.tables["learnings"]
_TABLES: dict[str, Table] = {"project": PROJECTS, "handoff": HANDOFFS, "learning": LEARNINGS}
PLURAL = {"project": "projects", "handoff": "handoffs", "learning": "learnings"}
# Learning columns that point at another learning of the team.
SELF_REFS = ("canonical_id", "superseded_by", "newer_id")
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("handoff", "status"): HANDOFF_STATUSES,
    ("handoff", "visibility"): VISIBILITIES,
    ("learning", "kind"): LEARNING_KINDS,
    ("learning", "visibility"): VISIBILITIES,
}
# Text a write would have cleaned (hygiene/clean.py) besides handoff bodies and learning texts:
# a file edited by hand or written by another tool may hold escape sequences and secrets.
_TEXTS: dict[str, tuple[str, ...]] = {
    "handoff": ("claimed_by", "claim_branch", "claim_head"),
    "learning": ("section", "flag_reason"),
}
# JSON whose strings a write takes from the cleaned body (or writes itself).
_JSON = ("front_matter", "files", "commands", "warnings")


class PortabilityError(Exception):
    """An export or import that cannot go ahead; the message says why (and on which line)."""


def export_columns(table: Table) -> list[Column[Any]]:
    """The columns a file carries: all but the team and what the database computes."""
    return [c for c in table.columns if c.name != "team_id" and c.computed is None]


# --- export ---------------------------------------------------------------------------------


@dataclass
class ExportReport:
    team: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PLURAL.values(), 0))


def to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):  # a vector read back as a numpy array
        return value.tolist()
    return value


def export_line(record: dict[str, Any]) -> str:
    # ASCII-only JSON: the file means the same whatever the locale of the shell redirecting it.
    return json.dumps(record, separators=(",", ":")) + "\n"


async def export_team(
    engine: AsyncEngine, team: str, out: IO[str], *, embedding_model: str
) -> ExportReport:
    """Writes team `team` to `out`. One REPEATABLE READ snapshot: handoffs written while the
    export runs are either wholly in it (with all their learnings) or not at all."""
    report = ExportReport(team=team)
    async with session_factory(engine)() as session, session.begin():
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        await act_as_system(session)
        team_id = await session.scalar(select(Team.id).where(Team.name == team))
        if team_id is None:
            raise PortabilityError(f"no team named {team!r}")
        out.write(
            export_line(
                {
                    "type": "header",
                    "format": FORMAT,
                    "version": FORMAT_VERSION,
                    "team": team,
                    "embedding_model": embedding_model,
                    "exported_at": datetime.now(UTC).isoformat(),
                }
            )
        )
        learnings = LEARNINGS.c
        passes: list[tuple[str, Table, list[ColumnElement[bool]]]] = [
            ("project", PROJECTS, []),
            ("handoff", HANDOFFS, []),
            # Canonical learnings before their near-duplicates, so a reader that inserts line
            # by line never meets a link to a row it has not seen.
            ("learning", LEARNINGS, [learnings.canonical_id.is_(None)]),
            ("learning", LEARNINGS, [learnings.canonical_id.is_not(None)]),
        ]
        for kind, table, where in passes:
            columns = export_columns(table)
            query = (
                select(*columns)
                .where(table.c.team_id == team_id, *where)
                # The primary key's order: an index scan, no sort of the whole team.
                .order_by(table.c.team_id, table.c.id)
                .execution_options(yield_per=BATCH_SIZE)
            )
            rows = await session.stream(query)
            async for row in rows:
                record = {"type": kind}
                record.update((c.name, to_json(v)) for c, v in zip(columns, row, strict=True))
                out.write(export_line(record))
                report.counts[PLURAL[kind]] += 1
        out.write(export_line({"type": "end", "counts": report.counts}))
    # Reading a whole team is worth a line in its audit trail; written after the read-only
    # snapshot, by no key (an operator on the server's host).
    async with session_factory(engine)() as session, session.begin():
        await act_as_system(session)
        await audit_operation(session, team_id, "team.export", report.counts)
    return report


async def audit_operation(
    session: AsyncSession, team_id: uuid.UUID, action: str, details: dict[str, Any]
) -> None:
    await record(
        session, OPERATOR, action, target=("team", team_id), details=details, team_id=team_id
    )


# --- import ---------------------------------------------------------------------------------


@dataclass
class ImportReport:
    team: str
    team_created: bool = False
    # Rows of the file that were inserted, and those the team already had (same id).
    inserted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PLURAL.values(), 0))
    present: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PLURAL.values(), 0))
    # Instruction-like learnings the file did not flag, flagged on the way in.
    flagged: int = 0
    # Learnings whose embedding was made by another model than the configured one.
    other_model: dict[str, int] = field(default_factory=dict)
    # Secrets the file held, redacted on the way in (kind -> replacements).
    redactions: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # The bulk import's (bulkload.py): learnings linked as near-duplicates of ones the team
    # already had, and the indexes it built.
    linked: int = 0
    indexes_built: list[str] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    values: dict[str, Any]


def bad_record(line: int, message: str) -> PortabilityError:
    return PortabilityError(f"line {line}: {message}")


def _convert(kind: str, column: Column[Any], value: Any, line: int) -> Any:
    """A JSON value as the column's Python type, or a clear error."""
    name = f"{kind}.{column.name}"
    if value is None:
        if not column.nullable:
            raise bad_record(line, f"{name} must not be null")
        return None
    col_type = column.type
    try:
        if isinstance(col_type, sqltypes.Uuid):
            if not isinstance(value, str):
                raise TypeError("expected a UUID string")
            return uuid.UUID(value)
        if isinstance(col_type, sqltypes.DateTime):
            if not isinstance(value, str):
                raise TypeError("expected an ISO 8601 timestamp")
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if isinstance(col_type, sqltypes.Boolean):
            if not isinstance(value, bool):
                raise TypeError("expected true or false")
            return value
        if isinstance(col_type, sqltypes.Integer):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError("expected an integer")
            return value
        if isinstance(col_type, sqltypes.Text | sqltypes.String):
            if not isinstance(value, str):
                raise TypeError("expected a string")
            if "\x00" in value:
                raise ValueError("contains a NUL character")
            return value
        if isinstance(col_type, sqltypes.ARRAY):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TypeError("expected a list of strings")
            return value
        dim = getattr(col_type, "dim", None)
        if dim is not None:  # pgvector's VECTOR(dim)
            # Exact types (a bool is an int to isinstance); map() keeps the loops in C, which
            # a bulk import of many thousand vectors notices.
            if (
                not isinstance(value, list)
                or len(value) != dim
                or not set(map(type, value)) <= {int, float}
            ):
                raise TypeError(f"expected a list of {dim} finite numbers")
            floats = list(map(float, value))
            if not all(map(math.isfinite, floats)):
                raise TypeError(f"expected a list of {dim} finite numbers")
            return floats
    except (TypeError, ValueError) as exc:
        raise bad_record(line, f"{name}: {exc}") from None
    return value  # JSONB: any JSON value


class RowImporter:
    def __init__(self, session: AsyncSession, report: ImportReport, embedding_model: str) -> None:
        self.session = session
        self.report = report
        self.embedding_model = embedding_model
        self.team_id: uuid.UUID | None = None
        # The file's project ids -> the target team's (a slug the team already has keeps its
        # own id).
        self.projects: dict[uuid.UUID, uuid.UUID] = {}
        # (id, column, target) of the inserted learnings' links to other learnings (SELF_REFS):
        # set once every row is in.
        self.links: list[tuple[uuid.UUID, str, uuid.UUID]] = []
        self.unknown: set[str] = set()
        self.pending: list[_Row] = []
        self.pending_kind = ""

    def record(self, kind: str, data: dict[str, Any], line: int) -> None:
        self.pending.append(_Row(line, self.check(kind, data, line)))
        self.pending_kind = kind

    def check(self, kind: str, data: dict[str, Any], line: int) -> dict[str, Any]:
        """The record's values as the table stores them: converted, checked and cleaned (the
        write path's hygiene), or a clear error naming the line."""
        table = _TABLES[kind]
        columns = {c.name: c for c in export_columns(table)}
        values: dict[str, Any] = {}
        for key, raw in data.items():
            if key == "type":
                continue
            column = columns.get(key)
            if column is None:
                # A column this version does not have (a newer export): dropped, said once.
                if f"{kind}.{key}" not in self.unknown:
                    self.unknown.add(f"{kind}.{key}")
                    self.report.warnings.append(
                        f"ignored field {kind}.{key}: this server's schema has no such column"
                    )
                continue
            values[key] = _convert(kind, column, raw, line)
            allowed = _CHOICES.get((kind, key))
            if allowed is not None and values[key] not in allowed:
                raise bad_record(line, f"{kind}.{key} must be one of {', '.join(allowed)}")
        for name, column in columns.items():
            if name not in values and not column.nullable and column.server_default is None:
                raise bad_record(line, f"{kind} record lacks `{name}`")
        if kind == "project":
            try:
                check_project_slug(values["slug"])
            except ValueError as exc:
                raise bad_record(line, f"project.slug: {exc}") from None
        if kind == "handoff":
            self._clean_handoff(values, line)
        if kind == "learning":
            if "citations" in values:
                try:
                    values["citations"] = handoff_service.check_citations(values["citations"])
                except ValueError as exc:
                    raise bad_record(line, f"learning.citations: {exc}") from None
            cleaned = self._clean_learning(values)
            # A file is data from elsewhere: an instruction-like learning is flagged here as it
            # would have been on a write, whatever the file says.
            flags = instruction_flags(cleaned)
            if flags and not values.get("flagged"):
                values["flagged"], values["flag_reason"] = True, "; ".join(flags)
                self.report.flagged += 1
            model = values["embedding_model"]
            if model != self.embedding_model:
                self.report.other_model[model] = self.report.other_model.get(model, 0) + 1
        return values

    def _clean_handoff(self, values: dict[str, Any], line: int) -> None:
        """The handoff's text as a write stores it; its content hash follows its body."""
        counts = self.report.redactions
        try:
            # A name is refused, never cleaned: cleaned, it would name another inbox.
            check_worktree(values["recipient"])
        except ValueError as exc:
            raise bad_record(line, f"handoff.recipient: {exc}") from None
        body = clean_text(values["body"], counts)
        if not body.strip():
            raise bad_record(line, "handoff.body is empty once control characters are removed")
        if body != values["body"]:
            values["body"], values["content_hash"] = body, content_hash(body)
        for name in META_FIELDS:
            if name in values:
                values[name] = clean_field(values[name], counts)
        self._clean_texts("handoff", values)
        for name in _JSON:
            if name in values:
                values[name] = _clean_json(values[name], counts)

    def _clean_learning(self, values: dict[str, Any]) -> str:
        """The learning's text as a write stores it (cleaned, then neutralised for the
        text-search parser), its content hash following it; returns the cleaned text, which
        the instruction detector reads."""
        cleaned = clean_text(values["text"], self.report.redactions)
        stored = for_text_search(cleaned)
        if stored != values["text"]:
            values["text"], values["content_hash"] = stored, text_hash(stored)
        self._clean_texts("learning", values)
        return cleaned

    def _clean_texts(self, kind: str, values: dict[str, Any]) -> None:
        for name in _TEXTS[kind]:
            if isinstance(values.get(name), str):
                values[name] = clean_text(values[name], self.report.redactions)

    async def flush(self) -> None:
        rows, kind = self.pending, self.pending_kind
        self.pending = []
        if not rows:
            return
        assert self.team_id is not None
        if kind == "project":
            await self._projects(rows)
            return
        for row in rows:
            file_project = row.values["project_id"]
            if file_project not in self.projects:
                raise bad_record(
                    row.line, f"{kind} refers to project {file_project}, not in the file"
                )
            row.values["project_id"] = self.projects[file_project]
        if kind == "handoff":
            await self._handoffs(rows)
        else:
            await self._learnings(rows)

    async def _projects(self, rows: list[_Row]) -> None:
        for row in rows:
            created = await self.session.scalar(
                insert(PROJECTS)
                .values(team_id=self.team_id, **row.values)
                .on_conflict_do_nothing()
                .returning(PROJECTS.c.id)
            )
            target = created or await self.session.scalar(
                select(PROJECTS.c.id).where(
                    PROJECTS.c.team_id == self.team_id, PROJECTS.c.slug == row.values["slug"]
                )
            )
            if target is None:
                raise bad_record(
                    row.line, f"project id {row.values['id']} is taken by another project"
                )
            self.projects[row.values["id"]] = target
            self._count("project", inserted=int(created is not None), present=int(created is None))

    async def _insert(self, table: Table, rows: list[_Row]) -> set[uuid.UUID]:
        """Inserts the rows, skipping ids the team already has; returns the inserted ids."""
        names = [c.name for c in export_columns(table)]
        values = []
        for row in rows:
            item: dict[str, Any] = {"team_id": self.team_id}
            for name in names:
                if name in row.values:
                    item[name] = row.values[name]
                else:  # left out of the file: the column's default, as a fresh write gets
                    default = table.c[name].server_default
                    item[name] = (
                        default.arg
                        if isinstance(default, DefaultClause) and not isinstance(default.arg, str)
                        else None
                    )
            values.append(item)
        try:
            inserted = await self.session.scalars(
                insert(table).values(values).on_conflict_do_nothing().returning(table.c.id)
            )
            return set(inserted)
        except DBAPIError as exc:
            first, last = rows[0].line, rows[-1].line
            raise PortabilityError(
                f"lines {first}-{last}: the database refused a record: {exc.orig}"
            ) from None

    async def _existing(self, table: Table, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        found = await self.session.scalars(
            select(table.c.id).where(table.c.team_id == self.team_id, table.c.id.in_(ids))
        )
        return set(found)

    async def _handoffs(self, rows: list[_Row]) -> None:
        inserted = await self._insert(HANDOFFS, rows)
        skipped = [row for row in rows if row.values["id"] not in inserted]
        present = await self._existing(HANDOFFS, [row.values["id"] for row in skipped])
        for row in skipped:
            if row.values["id"] not in present:
                # Not there by id, so another unique key refused it: the Idempotency-Key.
                raise bad_record(
                    row.line,
                    f"handoff {row.values['id']}: its Idempotency-Key is already used by "
                    f"another handoff of team {self.report.team!r}",
                )
        self._count("handoff", inserted=len(inserted), present=len(skipped))

    async def _learnings(self, rows: list[_Row]) -> None:
        handoffs = await self._existing(HANDOFFS, list({r.values["handoff_id"] for r in rows}))
        for row in rows:
            if row.values["handoff_id"] not in handoffs:
                raise bad_record(
                    row.line,
                    f"learning refers to handoff {row.values['handoff_id']}, which is neither "
                    "earlier in the file nor in the team",
                )
        refs = {r.values["id"]: {c: r.values.get(c) for c in SELF_REFS} for r in rows}
        for row in rows:
            # Linked at the end: the learning a row points at may come later in the file (a
            # near-duplicate is exported after every canonical learning).
            for column in SELF_REFS:
                row.values[column] = None
        inserted = await self._insert(LEARNINGS, rows)
        for learning_id in inserted:
            for column, target in refs[learning_id].items():
                if target is not None:
                    self.links.append((learning_id, column, target))
        self._count("learning", inserted=len(inserted), present=len(rows) - len(inserted))

    async def link_duplicates(self) -> None:
        """Sets the links between the inserted learnings (near-duplicates, supersession)."""
        for column in SELF_REFS:
            links = [(i, t) for i, c, t in self.links if c == column]
            if links:
                await self._link(column, links)

    async def _link(self, column: str, links: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        targets = list({t for _, t in links})
        found = await self._existing(LEARNINGS, targets)
        missing = [str(t) for t in targets if t not in found]
        if missing:
            what = "are near-duplicates of" if column == "canonical_id" else f"name in {column}"
            raise PortabilityError(
                f"{len(missing)} learning(s) {what} learnings neither in the "
                f"file nor in the team (e.g. {', '.join(missing[:3])})"
            )
        await self.session.execute(
            text(
                f"UPDATE learnings l SET {column} = v.target FROM "  # noqa: S608 (a SELF_REFS name)
                "unnest(CAST(:ids AS uuid[]), CAST(:targets AS uuid[])) AS v(id, target) "
                "WHERE l.team_id = :team AND l.id = v.id"
            ),
            {"ids": [i for i, _ in links], "targets": [t for _, t in links], "team": self.team_id},
        )

    def _count(self, kind: str, *, inserted: int, present: int) -> None:
        self.report.inserted[PLURAL[kind]] += inserted
        self.report.present[PLURAL[kind]] += present


def _clean_json(value: Any, counts: dict[str, int]) -> Any:
    """`value` with every string in it (keys too) cleaned."""
    if isinstance(value, str):
        return clean_text(value, counts)
    if isinstance(value, list):
        return [_clean_json(item, counts) for item in value]
    if isinstance(value, dict):
        return {clean_text(k, counts): _clean_json(v, counts) for k, v in value.items()}
    return value


def read_body(
    records: Iterable[tuple[int, dict[str, Any]]], counts: dict[str, int]
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The records after the header as (line, type, record), checked as they pass: no unknown
    type, nothing after the `end` line; `counts` (zeros per table) counts them. Once exhausted,
    the `end` line was there and its counts are the file's, else a PortabilityError: a file cut
    short would otherwise load as a smaller but valid-looking team."""
    ended: dict[str, Any] | None = None
    for number, entry in records:
        kind = entry["type"]
        if ended is not None:
            raise bad_record(number, "a record after the `end` line")
        if kind == "end":
            ended = entry
            continue
        if kind not in _TABLES:
            raise bad_record(number, f"unknown record type {kind!r}")
        counts[PLURAL[kind]] += 1
        yield number, kind, entry
    if ended is None:
        raise PortabilityError(
            "the file ends without its `end` line: it was cut short (nothing was imported)"
        )
    if ended.get("counts") != counts:
        raise PortabilityError(
            f"the `end` line counts {ended.get('counts')}, the file holds {counts}: "
            "records are missing (nothing was imported)"
        )


def read_records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise bad_record(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            raise bad_record(number, 'expected a JSON object with a "type"')
        yield number, record


def check_header(number: int, record: dict[str, Any]) -> None:
    if record.get("type") != "header" or record.get("format") != FORMAT:
        raise bad_record(number, f"not a {FORMAT} file: the first line must be its header")
    if record.get("version") != FORMAT_VERSION:
        raise bad_record(
            number,
            f"export format version {record.get('version')!r}; this server reads version "
            f"{FORMAT_VERSION}",
        )
    if not isinstance(record.get("team"), str) or not record["team"]:
        raise bad_record(number, "the header names no team")


def check_team_name(name: str) -> None:
    if not _TEAM_NAME.fullmatch(name):
        # The rule of POST /v1/admin/teams: a team created here must be one the API could make.
        raise PortabilityError(
            f"team name {name!r}: 1-100 letters, digits, `.`, `_` or `-`, starting with "
            "a letter or digit"
        )


async def import_lines(
    engine: AsyncEngine,
    lines: Iterable[str],
    *,
    team: str | None = None,
    embedding_model: str,
) -> ImportReport:
    """Loads an export into `team` (default: the team named in its header), creating the team
    if needed. One transaction: on any error nothing is stored and `PortabilityError` says
    which line was wrong."""
    records = read_records(lines)
    first = next(records, None)
    if first is None:
        raise PortabilityError("the file is empty")
    check_header(*first)
    report = ImportReport(team=team or first[1]["team"])
    check_team_name(report.team)
    counts = dict.fromkeys(PLURAL.values(), 0)
    async with session_factory(engine)() as session, session.begin():
        await act_as_system(session)
        importer = RowImporter(session, report, embedding_model)
        team_id = await session.scalar(select(Team.id).where(Team.name == report.team))
        if team_id is None:
            team_id = new_id()
            session.add(Team(id=team_id, name=report.team))
            await session.flush()
            report.team_created = True
        importer.team_id = team_id
        for number, kind, record in read_body(records, counts):
            if kind != importer.pending_kind or len(importer.pending) >= BATCH_SIZE:
                await importer.flush()
            importer.record(kind, record, number)
        await importer.flush()
        await importer.link_duplicates()
        if any(report.inserted.values()):
            # Only an import that wrote something: loading a file twice leaves no trace.
            await audit_operation(session, team_id, "team.import", {"inserted": report.inserted})
    summarise(report, embedding_model)
    return report


def summarise(report: ImportReport, embedding_model: str) -> None:
    """The report's warnings about what the file held (both importers)."""
    if report.redactions:
        report.warnings.append(redaction_warning(report.redactions))
    if report.flagged:
        report.warnings.append(
            f"{report.flagged} learning(s) read like instructions to an agent and were flagged "
            "on import (the file did not flag them)"
        )
    if report.other_model:
        models = ", ".join(f"{m} ({n})" for m, n in sorted(report.other_model.items()))
        report.warnings.append(
            f"{sum(report.other_model.values())} learning(s) carry embeddings of another model "
            f"than the configured {embedding_model}: {models}. They were kept as they are; "
            "search compares them with the wrong model until you run `memory-service reembed`"
        )
