"""`memory-service import --bulk`: a large export loaded through PostgreSQL's COPY, in a few large
transactions, resumable by running the same command again.

The file is the one `memory-service export` writes (portability.py) and every record gets the
same checks and the same hygiene as the all-or-nothing import: redaction, sanitizing, text made
safe for the text-search parser, instruction-like learnings flagged. What differs:

1. A first pass reads the whole file (JSON, header, record types, the `end` line and its
   counts) before anything is written: a file cut short or with a broken line imports nothing.
   It also collects the ids of the file's learnings (into a temporary table).
2. Projects and handoffs go in as the plain import inserts them (batched INSERTs). Learnings
   are streamed with `COPY` into a temporary staging table, CHUNK_ROWS at a time, then moved
   with one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` and committed: each chunk is one
   transaction, so an interruption (a killed process, a lost connection) loses at most the
   chunk in flight, and the same command run again skips every row whose id is already there.
3. Links between learnings (`canonical_id`, `superseded_by`, `newer_id`) are set once their
   target exists: at once when it is in the team or the chunk, or when a later chunk brings it.
   A run resumed after an interruption sets the links the interrupted one had not set yet.
4. Near-duplicate linking: when the team already holds learnings that are not in the file, each
   inserted canonical learning is matched against them as a write would be (duplicates.py: the
   same text, or the nearest by embedding at NEAR_DUPLICATE_SIMILARITY or more, same kind and
   visibility) in one statement per chunk, and linked to it with its occurrences. Into a new
   team (the usual bulk load) there is nothing to match and the file's own links are kept.
5. `rebuild_indexes`: the HNSW and full-text indexes of `learnings` are dropped before the load
   and built once after it. They are shared by every team, so this is for an offline load only
   (searches of other teams run without them meanwhile); a run interrupted in between leaves
   them missing, and the next bulk import, with or without the option, builds them.

Nothing here locks a table: COPY writes a temporary table of this connection, and the real
tables see ordinary inserts and updates of the team's own rows (ROW EXCLUSIVE), except the
index drop and build of `rebuild_indexes`.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.schema import DefaultClause
from tqdm import tqdm

from memory_service.ids import new_id
from memory_service.learnings.service import NEAR_DUPLICATE_SIMILARITY
from memory_service.models import Team
from memory_service.portability import (
    BATCH_SIZE,
    LEARNINGS,
    PLURAL,
    SELF_REFS,
    ImportReport,
    PortabilityError,
    RowImporter,
    audit_operation,
    bad_record,
    check_header,
    check_team_name,
    export_columns,
    read_body,
    read_records,
    summarise,
)
from memory_service.tenancy import act_as_system
from memory_service.vectors import hnsw_order

# Learnings per transaction: few enough commits to amortise them, small enough that a chunk's
# staging table (about 5 KB a learning) stays in memory and an interruption loses little.
CHUNK_ROWS = 50_000
# Rows per COPY statement into the staging table (the Python side's buffer).
COPY_ROWS = 2_000
# The indexes `rebuild_indexes` drops and builds: the two that cost most to insert into.
REBUILT_INDEXES = ("ix_learnings_embedding_hnsw", "ix_learnings_tsv")
_TEMP_TABLES = ("import_stage", "import_ids", "import_new", "import_refs")
# Memory for an index build (a session setting of the loading connection only). pgvector
# builds an HNSW graph in memory only while it fits in maintenance_work_mem, and much more
# slowly once it does not; the graph of a halfvec(384) learning takes ~1.1 KiB (measured at
# 20k), so the setting grows with the table, from 512 MB up to a cap that keeps an offline
# load from taking a small database server's memory.
BUILD_MEMORY_MIN_MB = 512
BUILD_MEMORY_MAX_MB = 2048
GRAPH_BYTES_PER_LEARNING = 1536  # ~1.1 KiB measured, with room for the build's own overhead


def build_memory_mb(learnings: int) -> int:
    """maintenance_work_mem (MB) for building the indexes of a table of `learnings` rows."""
    need = -(-max(learnings, 0) * GRAPH_BYTES_PER_LEARNING // 2**20)
    return min(max(need, BUILD_MEMORY_MIN_MB), BUILD_MEMORY_MAX_MB)


@dataclass
class Scan:
    """What the first pass found: the header, the counts, the ids of the file's learnings."""

    header: dict[str, Any]
    counts: dict[str, int]
    learning_ids: list[uuid.UUID]


def scan(path: Path) -> Scan:
    """Reads the whole file once, writing nothing: a broken line, a missing `end` line or counts
    that disagree stop the import before it starts."""
    counts = dict.fromkeys(PLURAL.values(), 0)
    ids: list[uuid.UUID] = []
    with path.open(encoding="utf-8") as source:
        records = read_records(source)
        first = next(records, None)
        if first is None:
            raise PortabilityError("the file is empty")
        check_header(*first)
        for number, kind, record in read_body(records, counts):
            if kind == "learning":
                try:
                    ids.append(uuid.UUID(record["id"]))
                except (KeyError, TypeError, ValueError, AttributeError):
                    raise bad_record(number, "learning.id: expected a UUID string") from None
    return Scan(first[1], counts, ids)


def _index_ddl(name: str) -> str:
    index = next(i for i in LEARNINGS.indexes if i.name == name)
    dialect: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect))


def _ref(column: str) -> str:
    """A link of a staged learning as inserted: its target as the team has it (a near-duplicate
    points at the canonical learning of its target's cluster), else the target if it is in
    the same chunk (the foreign key is checked at the end of the statement), else NULL and
    left to `_links` (a later chunk). Set here, not by an UPDATE after the insert: an UPDATE
    writes the row again, into every index (the HNSW graph too)."""
    stored = "coalesce(t.canonical_id, t.id)" if column == "canonical_id" else "t.id"
    return (
        f"coalesce((SELECT {stored} FROM learnings t "
        f"WHERE t.team_id = :team AND t.id = s.{column}), "
        f"(SELECT x.id FROM import_stage x WHERE x.id = s.{column} LIMIT 1))"
    )


class _Loader:
    def __init__(
        self,
        conn: AsyncConnection,
        session: AsyncSession,
        importer: RowImporter,
        chunk_rows: int,
        bar: Any,
        on_chunk: Callable[[], None] | None,
    ) -> None:
        self.on_chunk = on_chunk
        self.conn = conn
        self.session = session
        self.importer = importer
        self.report = importer.report
        self.chunk_rows = chunk_rows
        self.bar = bar
        self.names = [c.name for c in export_columns(LEARNINGS)]
        self.defaults: dict[str, Any] = {}
        self.staged = 0
        self.buffer: list[tuple[Any, ...]] = []
        # Does the team hold learnings that are not in the file (near-duplicates to look for)?
        self.outsiders = False

    @property
    def team_id(self) -> uuid.UUID:
        assert self.importer.team_id is not None
        return self.importer.team_id

    async def begin(self) -> None:
        await act_as_system(self.session)

    async def commit(self) -> None:
        await self.session.commit()
        await self.begin()
        if self.on_chunk is not None:
            self.on_chunk()

    async def _copy(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        raw = await self.conn.get_raw_connection()
        pg = raw.driver_connection
        assert pg is not None
        async with pg.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                await copy.write_row(row)

    async def prepare(self, ids: list[uuid.UUID]) -> None:
        """The temporary tables of this connection, the columns' defaults, the file's ids."""
        for sql in (
            # Left by an earlier import that failed on this (pooled) connection.
            f"DROP TABLE IF EXISTS {', '.join(_TEMP_TABLES)}",
            # The learnings' columns and defaults, none of their constraints or indexes.
            "CREATE TEMP TABLE import_stage (LIKE learnings INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS",
            "ALTER TABLE import_stage DROP COLUMN tsv, ADD COLUMN line integer",
            "CREATE INDEX ON import_stage (id)",
            "CREATE TEMP TABLE import_ids (id uuid)",
            "CREATE TEMP TABLE import_new (id uuid PRIMARY KEY) ON COMMIT DELETE ROWS",
            # Links whose target is not in the team yet: (learning, column, target, line).
            "CREATE TEMP TABLE import_refs (id uuid, col text, target uuid, line integer)",
        ):
            await self.session.execute(text(sql))
        for name in self.names:
            default = LEARNINGS.c[name].server_default
            if isinstance(default, DefaultClause):
                expression = getattr(default.arg, "text", default.arg)
                self.defaults[name] = await self.session.scalar(text(f"SELECT {expression}"))
        for start in range(0, len(ids), COPY_ROWS * 10):
            await self._copy(
                "COPY import_ids (id) FROM STDIN",
                [(i,) for i in ids[start : start + COPY_ROWS * 10]],
            )
        await self.session.execute(text("CREATE INDEX ON import_ids (id)"))
        await self.session.execute(text("ANALYZE import_ids"))

    async def find_outsiders(self) -> None:
        self.outsiders = bool(
            await self.session.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM learnings l WHERE l.team_id = :team "
                    "AND NOT EXISTS (SELECT 1 FROM import_ids x WHERE x.id = l.id))"
                ),
                {"team": self.team_id},
            )
        )

    # --- rows ---------------------------------------------------------------------------

    async def learning(self, record: dict[str, Any], line: int) -> None:
        values = self.importer.check("learning", record, line)
        file_project = values["project_id"]
        if file_project not in self.importer.projects:
            raise bad_record(line, f"learning refers to project {file_project}, not in the file")
        values["project_id"] = self.importer.projects[file_project]
        row: list[Any] = [self.team_id, line]
        for name in self.names:
            value: Any = values[name] if name in values else self.defaults.get(name)
            if name == "embedding":
                value = "[" + ",".join(map(repr, value)) + "]"
            elif name == "citations":
                value = Jsonb(value)
            row.append(value)
        self.buffer.append(tuple(row))
        if len(self.buffer) >= COPY_ROWS:
            await self._flush_buffer()
        if self.staged + len(self.buffer) >= self.chunk_rows:
            await self.end_chunk()

    async def _flush_buffer(self) -> None:
        if not self.buffer:
            return
        columns = ", ".join(["team_id", "line", *self.names])
        await self._copy(f"COPY import_stage ({columns}) FROM STDIN", self.buffer)
        self.staged += len(self.buffer)
        self.bar.update(len(self.buffer))
        self.buffer = []

    async def end_chunk(self) -> None:
        """Moves the staged learnings into the team and commits."""
        await self._flush_buffer()
        inserted = await self._merge() if self.staged else 0
        await self.commit()
        self.staged = 0
        if inserted:
            await self.analyze()

    async def analyze(self) -> None:
        """Fresh statistics of `learnings.team_id`: with a team the statistics do not know
        yet (just loaded, not yet seen by autovacuum), the planner counts one row for it and may
        look links up through any index that starts with team_id, reading the whole team for
        every staged row (minutes instead of a second for 10k rows). Cheap: one column, a
        sample; it takes no lock that blocks reads or writes."""
        await self.session.execute(text("ANALYZE learnings (team_id)"))
        await self.commit()

    async def _merge(self) -> int:
        """Moves the staged learnings into the team; how many were new."""
        team = {"team": self.team_id}
        missing = (
            await self.session.execute(
                text(
                    "SELECT s.line, s.handoff_id FROM import_stage s WHERE NOT EXISTS "
                    "(SELECT 1 FROM handoffs h WHERE h.team_id = :team AND h.id = s.handoff_id) "
                    "ORDER BY s.line LIMIT 1"
                ),
                team,
            )
        ).first()
        if missing is not None:
            raise bad_record(
                missing.line,
                f"learning refers to handoff {missing.handoff_id}, which is neither earlier in "
                "the file nor in the team",
            )
        columns = ", ".join(self.names)
        values = ", ".join(_ref(n) if n in SELF_REFS else f"s.{n}" for n in self.names)
        await self.session.execute(text("ANALYZE import_stage"))
        first, last = (
            await self.session.execute(text("SELECT min(line), max(line) FROM import_stage"))
        ).one()
        try:
            inserted = await self.session.scalar(
                text(
                    f"WITH ins AS (INSERT INTO learnings (team_id, {columns}) "
                    f"SELECT :team, {values} FROM import_stage s ORDER BY s.line "
                    "ON CONFLICT DO NOTHING RETURNING id), "
                    "kept AS (INSERT INTO import_new (id) SELECT id FROM ins RETURNING 1) "
                    "SELECT count(*) FROM kept"
                ),
                team,
            )
        except DBAPIError as exc:
            raise PortabilityError(
                f"lines {first}-{last}: the database refused a record: {exc.orig}"
            ) from None
        count = int(inserted or 0)
        self.importer._count("learning", inserted=count, present=self.staged - count)
        await self._links()
        if self.outsiders and count:
            await self._near_duplicates()
        return count

    async def _links(self) -> None:
        """The file's links the insert could not set (their target comes in a later chunk), and
        those of rows already in the team that have none yet (an interrupted run's): set now if
        the target is in the team, else kept for a later chunk."""
        team = {"team": self.team_id}
        await self.session.execute(
            text(
                "INSERT INTO import_refs (id, col, target, line) "
                + " UNION ALL ".join(
                    f"SELECT s.id, '{col}', s.{col}, s.line FROM import_stage s "
                    "JOIN learnings l ON l.team_id = :team AND l.id = s.id "
                    f"WHERE s.{col} IS NOT NULL AND l.{col} IS NULL"
                    for col in SELF_REFS
                )
            ),
            team,
        )
        pending = await self.session.scalar(text("SELECT count(*) FROM import_refs"))
        if not pending:
            return
        await self.session.execute(text("ANALYZE import_refs"))
        for col in SELF_REFS:
            # A near-duplicate points at its cluster's canonical learning (which may itself
            # have been linked to one the team already had).
            target = "coalesce(t.canonical_id, t.id)" if col == "canonical_id" else "t.id"
            await self.session.execute(
                text(
                    f"UPDATE learnings l SET {col} = {target} FROM import_refs r "
                    "JOIN learnings t ON t.team_id = :team AND t.id = r.target "
                    f"WHERE r.col = '{col}' AND l.team_id = :team AND l.id = r.id "
                    f"AND l.{col} IS NULL AND {target} <> l.id"
                ),
                team,
            )
        await self.session.execute(
            text(
                "DELETE FROM import_refs r USING learnings t "
                "WHERE t.team_id = :team AND t.id = r.target"
            ),
            team,
        )

    async def _near_duplicates(self) -> None:
        """The chunk's new canonical learnings that repeat one the team had before (not from
        the file) are linked to it, as a write links a repeated learning."""
        await self.session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        same = (
            "l.team_id = :team AND l.kind = i.kind AND l.canonical_id IS NULL "
            "AND l.visibility = i.visibility AND (i.visibility = 'team' OR "
            "l.project_id = i.project_id) "
            "AND NOT EXISTS (SELECT 1 FROM import_ids x WHERE x.id = l.id)"
        )
        rows = (
            await self.session.execute(
                text(
                    f"""
                    SELECT i.id,
                           (SELECT l.id FROM learnings l
                             WHERE {same} AND l.content_hash = i.content_hash LIMIT 1) AS exact,
                           nn.id AS near, nn.sim
                      FROM import_new n
                      JOIN learnings i ON i.team_id = :team AND i.id = n.id
                      LEFT JOIN LATERAL (
                           SELECT l.id, 1 - (l.embedding <=> i.embedding) AS sim
                             FROM learnings l WHERE {same}
                            ORDER BY {hnsw_order("l.embedding", "i.embedding")} LIMIT 1) nn
                        ON TRUE
                     WHERE i.canonical_id IS NULL
                       AND NOT EXISTS (SELECT 1 FROM import_stage s
                                        WHERE s.id = n.id AND s.canonical_id IS NOT NULL)
                    """
                ),
                {"team": self.team_id},
            )
        ).all()
        links = sorted(
            (r.id, r.exact or r.near)
            for r in rows
            if r.exact is not None or (r.near is not None and r.sim >= NEAR_DUPLICATE_SIMILARITY)
        )
        if not links:
            return
        params = {
            "team": self.team_id,
            "ids": [i for i, _ in links],
            "targets": [t for _, t in links],
        }
        pairs = "unnest(CAST(:ids AS uuid[]), CAST(:targets AS uuid[])) AS v(id, target)"
        # Canonical rows locked in id order, as the write path does (no deadlock with it).
        await self.session.execute(
            text(
                "SELECT 1 FROM learnings WHERE team_id = :team "
                "AND id = ANY(CAST(:targets AS uuid[])) ORDER BY id FOR UPDATE"
            ),
            params,
        )
        for sql in (
            # The stored learning counts the imported one's whole cluster ...
            "UPDATE learnings e SET occurrences = e.occurrences + g.n FROM ("
            f"SELECT v.target, sum(c.occurrences) AS n FROM {pairs} "
            "JOIN learnings c ON c.team_id = :team AND c.id = v.id GROUP BY v.target) g "
            "WHERE e.team_id = :team AND e.id = g.target",
            # ... whose near-duplicates now point at it ...
            f"UPDATE learnings d SET canonical_id = v.target FROM {pairs} "
            "WHERE d.team_id = :team AND d.canonical_id = v.id",
            # ... and so does the imported learning, now one of its copies.
            f"UPDATE learnings c SET canonical_id = v.target, occurrences = 1 FROM {pairs} "
            "WHERE c.team_id = :team AND c.id = v.id",
        ):
            await self.session.execute(text(sql), params)
        self.report.linked += len(links)

    async def unresolved(self) -> list[str]:
        rows = (
            await self.session.execute(
                text("SELECT col, count(*) AS n, min(line) AS line FROM import_refs GROUP BY col")
            )
        ).all()
        return [
            f"{r.n} learning(s) keep no {r.col}: the learning it names is neither in the file "
            f"nor in the team (first on line {r.line})"
            for r in rows
        ]


async def drop_indexes(session: AsyncSession) -> None:
    for name in REBUILT_INDEXES:
        await session.execute(text(f"DROP INDEX IF EXISTS {name}"))


async def build_missing_indexes(session: AsyncSession) -> list[str]:
    """Builds the REBUILT_INDEXES that do not exist (dropped by this or an interrupted run)."""
    built = []
    # The planner's row estimate (ANALYZE after each chunk keeps it current), not a count.
    estimate = await session.scalar(
        text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'learnings'::regclass")
    )
    memory = build_memory_mb(int(estimate or 0))
    for name in REBUILT_INDEXES:
        exists = await session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
        if not exists:
            await session.execute(text(f"SET LOCAL maintenance_work_mem = '{memory}MB'"))
            await session.execute(text(_index_ddl(name)))
            built.append(name)
    return built


async def import_bulk(
    engine: AsyncEngine,
    path: Path,
    *,
    team: str | None = None,
    embedding_model: str,
    chunk_rows: int = CHUNK_ROWS,
    rebuild_indexes: bool = False,
    progress: bool = False,
    on_chunk: Callable[[], None] | None = None,
) -> ImportReport:
    """Loads the export at `path` into `team` (default: the file's), creating the team if
    needed; see the module's docstring. `on_chunk` is called after each commit."""
    try:
        scanned = scan(path)
    except PortabilityError as exc:
        message = str(exc)
        if "nothing was imported" not in message:
            message += "; nothing was imported"
        raise PortabilityError(message) from None
    report = ImportReport(team=team or scanned.header["team"])
    check_team_name(report.team)
    total = sum(scanned.counts.values())
    bar: Any = tqdm(total=total, unit="record", disable=not progress, file=sys.stderr)
    try:
        async with engine.connect() as conn:
            session = AsyncSession(bind=conn, expire_on_commit=False)
            try:
                await _load(
                    session,
                    conn,
                    path,
                    report,
                    embedding_model,
                    scanned,
                    bar,
                    on_chunk,
                    chunk_rows,
                    rebuild_indexes,
                )
            except PortabilityError as exc:
                raise PortabilityError(
                    f"{exc}; the chunks committed before it stay: fix the file and run the "
                    "same command again to resume"
                ) from None
            finally:
                await session.close()
    finally:
        bar.close()
    summarise(report, embedding_model)
    return report


async def _load(
    session: AsyncSession,
    conn: AsyncConnection,
    path: Path,
    report: ImportReport,
    embedding_model: str,
    scanned: Scan,
    bar: Any,
    on_chunk: Callable[[], None] | None,
    chunk_rows: int,
    rebuild_indexes: bool,
) -> None:
    importer = RowImporter(session, report, embedding_model)
    loader = _Loader(conn, session, importer, chunk_rows, bar, on_chunk)
    await loader.begin()
    team_id = await session.scalar(select(Team.id).where(Team.name == report.team))
    if team_id is None:
        team_id = new_id()
        session.add(Team(id=team_id, name=report.team))
        await session.flush()
        report.team_created = True
    importer.team_id = team_id
    await loader.prepare(scanned.learning_ids)
    await loader.find_outsiders()
    await loader.commit()
    await loader.analyze()
    if rebuild_indexes:
        await drop_indexes(session)
        await loader.commit()
    rows = 0
    with path.open(encoding="utf-8") as source:
        records = read_records(source)
        next(records)  # the header, checked by the scan
        for number, record in records:
            kind = record["type"]
            if kind == "end":
                break
            if kind == "learning":
                if importer.pending:
                    await importer.flush()
                await loader.learning(record, number)
                continue
            if kind != importer.pending_kind or len(importer.pending) >= BATCH_SIZE:
                await importer.flush()
            importer.record(kind, record, number)
            bar.update(1)
            rows += 1
            if rows % chunk_rows == 0:
                await importer.flush()
                await loader.commit()
        await importer.flush()
        await loader.end_chunk()
    report.warnings.extend(await loader.unresolved())
    report.indexes_built = await build_missing_indexes(session)
    if any(report.inserted.values()):
        await audit_operation(
            session, team_id, "team.import", {"inserted": report.inserted, "bulk": True}
        )
    await session.commit()
