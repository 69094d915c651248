"""Land a folder of raw files in the warehouse's ``raw`` schema: one reader for gate and load.

Each table of the input contract (`lawn.contract`) is read from ``<raw_dir>/<table>.<ext>``
(CSV, Parquet or JSON Lines, optionally gzipped), or from the files of a folder
``<raw_dir>/<table>/`` (one file per delivery), with DuckDB, columns matched by name. A file
landed before is not read again: ``ops.raw_landing_manifest`` keeps each landed file's size,
modification time and SHA-256, and a load lands only new files
(`lawn.raw_deliveries.plan_table`; docs/landing_increments.md). Every column is landed as
text in a canonical form (typed timestamps as ISO 8601 text, nested JSON as JSON text), so
staging sees the same thing whatever the file carried. The raw-file gate
(`lawn.validate_raw`) checks exactly the rows this module lands, inside the same transaction:
if any table fails, nothing is landed and the previous raw tables stay as they were.

Reading a file: `lawn.raw_reader`; the deliveries, the manifest and the load plan:
`lawn.raw_deliveries`; this module lands the planned files, one transaction for all tables.
"""

from __future__ import annotations

import datetime as dt
import gzip
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from lawn import rebuild_due
from lawn.contract import FILE_FORMATS, RAW_TABLES, RawTable
from lawn.raw_deliveries import Plan, plan_table, record_manifest, scalar
from lawn.raw_problems import duckdb_problem, first_bad_json_line
from lawn.raw_reader import (
    RawFileError,
    blob_problem,
    empty_select,
    file_format,
    gzip_problem,
    has_non_object_line,
    readable_source,
    select_for,
)
from lawn.raw_warnings import landing_warnings, unread_file_warnings, unread_files


@dataclass
class LandedTable:
    """What the loader landed for one contract table."""

    table: RawTable
    path: Path | None
    rows: int
    absent_columns: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    # one line per file read in an encoding lawn guessed (Windows-1252), naming the file
    warnings: tuple[str, ...] = ()
    # "full", "append" (new files only), "unchanged" (nothing landed) or "absent" (no file: empty)
    mode: str = "full"
    files: list[Path] = field(default_factory=list)  # every file of the table
    new_files: list = field(default_factory=list)  # the Deliveries this load landed
    rows_per_file: list[int] = field(default_factory=list)  # rows read from each of them
    table_rows: int = 0  # rows in the table after this load (before the privacy filter)
    incoming: str | None = None  # new raw_events rows awaiting the privacy filter


@dataclass
class LoadReport:
    tables: list[LandedTable] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # rows of raw_events withheld at landing (erasure tombstones, retention): lawn.privacy_landing
    withheld: object = None

    @property
    def ok(self) -> bool:
        return not self.errors


def land_raw_dir(
    raw_dir: Path,
    connection: duckdb.DuckDBPyConnection,
    check: Callable[[RawTable, Path, duckdb.DuckDBPyConnection, str], list[str]] | None = None,
    schema: str = "raw",
    incremental: bool = True,
    notes: Callable[[str], None] | None = None,
    before_reading: Callable[[], None] | None = None,
) -> LoadReport:
    """Read every contract table from ``raw_dir`` into ``<schema>.<table>`` in one transaction.

    ``check(table, path, connection, relation)`` runs on each landed file's rows and returns
    error lines; any error (or a missing required table/column) rolls everything back. With
    ``incremental`` a table whose files were all landed before (ops.raw_landing_manifest) is
    kept, and only its new files are landed and checked (`plan_table`); ``notes`` receives one
    line per table landed again in full although it was landed before; ``before_reading`` is
    called before each table that has files to read (not for a table kept as it was)."""
    report = LoadReport()
    if not raw_dir.is_dir():
        what = (
            "not a folder (give the folder that holds the raw files)"
            if raw_dir.exists()
            else "no such folder"
        )
        report.errors.append(f"{raw_dir}: {what}")
        return report
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("begin transaction")
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    load_id = f"load-{loaded_at:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}"
    incoming_events = None
    try:
        connection.execute(f"create schema if not exists {schema}")
        for table in RAW_TABLES.values():
            try:
                plan = plan_table(raw_dir, table, connection, schema, incremental)
                if plan.note and notes is not None:
                    notes(plan.note)
                if plan.stale and table.name == "raw_events":
                    rebuild_due.note(connection, plan.note)
                if before_reading is not None and plan.mode != "unchanged" and plan.new:
                    before_reading()
                landed = _land_table(raw_dir, table, connection, schema, check, plan)
            except RawFileError as exc:
                report.errors.append(str(exc))
                # the load is lost anyway; a fresh transaction lets the other files be checked
                connection.execute("rollback")
                connection.execute("begin transaction")
                connection.execute(f"create schema if not exists {schema}")
                continue
            if landed.incoming:
                incoming_events = landed.incoming
            if table.name == "raw_events":  # the folder's files that are not read, said once
                landed.warnings += tuple(unread_file_warnings(raw_dir))
            report.tables.append(landed)
    except BaseException:
        connection.execute("rollback")
        raise
    if not report.errors:
        # erased persons stay erased, purged rows stay purged (lawn/privacy_landing.py)
        from lawn.privacy_landing import filter_landed

        events = next((landed for landed in report.tables if landed.table.name == "raw_events"), None)
        try:
            report.withheld = filter_landed(
                connection,
                schema,
                incoming=incoming_events,
                carry=events is not None and events.mode != "full",
                load=(load_id, loaded_at),
            )
            record_manifest(connection, schema, report.tables, load_id, loaded_at)
        except RawFileError as exc:
            report.errors.append(str(exc))
    if report.errors:
        connection.execute("rollback")
    else:
        connection.execute("commit")
    return report


def _land_table(
    raw_dir: Path,
    table: RawTable,
    connection: duckdb.DuckDBPyConnection,
    schema: str,
    check: Callable[[RawTable, Path, duckdb.DuckDBPyConnection, str], list[str]] | None,
    plan: Plan,
) -> LandedTable:
    target = f"{schema}.{table.name}"
    paths = [delivery.path for delivery in plan.deliveries]
    if plan.mode == "unchanged":
        rows = int(scalar(connection, f"select count(*) from {target}"))
        return LandedTable(table, paths[0] if len(paths) == 1 else None, 0, mode="unchanged",
                           files=paths, table_rows=rows)  # fmt: skip
    if not paths:
        if table.required:
            names = " / ".join(f"{table.name}{ext}" for ext in FILE_FORMATS if not ext.endswith(".gz"))
            missing = raw_dir / f"{table.name}.csv"
            # a file of the folder that is probably this table under another name
            hints = [unread.line for unread in unread_files(raw_dir) if unread.table == table.name]
            raise RawFileError(
                f"{missing}: file not found (one of {names}, or a folder {table.name}/ of such files, "
                "is required)" + "".join(f"; {hint}" for hint in hints)
            )
        connection.execute(f"create or replace table {target} as {empty_select(table)}")
        return LandedTable(table, None, 0, absent_columns=table.column_names, mode="absent")
    if plan.mode == "full" and len(paths) == 1 and paths[0].parent == raw_dir:
        # the single-file form: straight into the table, as ever
        absent, ignored, warning = _land_file(table, paths[0], connection, target, check)
        rows = int(scalar(connection, f"select count(*) from {target}"))
        warnings = tuple([warning] if warning else []) + landing_warnings(table, paths[0], connection, target)
        return LandedTable(table, paths[0], rows, absent, ignored, warnings, mode="full", files=paths,
                           new_files=plan.new, rows_per_file=[rows], table_rows=rows)  # fmt: skip
    # each file checked alone, then gathered: in the table itself (full), in `incoming` (new
    # raw_events rows, screened by lawn.privacy_landing.filter_landed before they are appended), or
    # appended to the table (other tables); a file after the first goes through `scratch`
    incoming = f"{schema}._lawn_incoming_{table.name}"
    scratch = f"{schema}._lawn_file_{table.name}"
    held_back = incoming if plan.mode == "append" and table.name == "raw_events" and schema == "raw" else None
    gather = target if plan.mode == "full" else held_back
    absent_all: set[str] | None = None
    ignored_all: set[str] = set()
    warnings: list[str] = []
    rows_per_file = []
    for number, delivery in enumerate(plan.new):
        relation = gather if number == 0 and gather is not None else scratch
        absent, ignored, warning = _land_file(table, delivery.path, connection, relation, check)
        warnings += [warning] if warning else []
        warnings += landing_warnings(table, delivery.path, connection, relation)
        absent_all = set(absent) if absent_all is None else absent_all & set(absent)
        ignored_all |= set(ignored)
        if relation != target:  # rows gathered before this file: in the table, in `incoming`
            earlier = [name for name in (gather, target) if name is not None and name != relation]
            for column in (c.name for c in table.columns if c.unique):
                _check_unique_across(
                    connection, delivery.path, column, relation, earlier, raw_dir / table.name
                )
        rows_per_file.append(int(scalar(connection, f"select count(*) from {relation}")))
        if relation == scratch:
            connection.execute(f"insert into {gather or target} select * from {scratch}")
            connection.execute(f"drop table {scratch}")
    new_rows = sum(rows_per_file)
    total = int(scalar(connection, f"select count(*) from {target}")) + (new_rows if held_back else 0)
    return LandedTable(
        table, paths[0] if len(paths) == 1 else None, new_rows if plan.mode == "append" else total,
        tuple(c for c in table.column_names if c in (absent_all or set())), tuple(sorted(ignored_all)),
        tuple(warnings), mode=plan.mode, files=paths, new_files=plan.new, rows_per_file=rows_per_file,
        table_rows=total, incoming=held_back,
    )  # fmt: skip


def _check_unique_across(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    column: str,
    scratch: str,
    earlier: list[str],
    folder: Path,
) -> None:
    """A unique column stays unique across the files of a folder (each file was checked alone)."""
    for relation in earlier:
        found = connection.execute(
            f"select {column} from {scratch} where nullif(trim({column}), '') in "
            f"(select trim({column}) from {relation}) limit 1"
        ).fetchall()
        if found:
            raise RawFileError(
                f"{path}: column '{column}' repeats a value another file of {folder} already holds, "
                f"e.g. {str(found[0][0])[:40]!r}"
            )


def _is_blank(source: Path) -> bool:
    """Whether a JSON Lines file holds nothing but white space (gzip read through)."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rb") as handle:
        while chunk := handle.read(1 << 16):
            if chunk.strip():
                return False
    return True


def _land_file(
    table: RawTable,
    path: Path,
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    check: Callable[[RawTable, Path, duckdb.DuckDBPyConnection, str], list[str]] | None,
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Land one file into ``relation`` (created or replaced) and run the gate on its rows; its
    absent and ignored columns, and a warning line if it was read as Windows-1252."""
    with readable_source(path) as readable:
        absent, ignored = _land_read_file(table, path, readable.path, connection, relation, check)
    return absent, ignored, readable.warning


def _land_read_file(
    table: RawTable,
    path: Path,
    source: Path,
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    check: Callable[[RawTable, Path, duckdb.DuckDBPyConnection, str], list[str]] | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`_land_file` for ``path``, DuckDB reading ``source`` (the file or its UTF-8 copy)."""
    select, absent, ignored = select_for(connection, table, path, source)
    missing = [name for name in absent if table.column(name).required]
    jsonl = file_format(path) == "jsonl"
    if (
        missing
        and jsonl
        and has_non_object_line(connection, source)
        and (problem := first_bad_json_line(path, source))
    ):
        # a JSON array or a line that is not an object: its keys were never seen
        raise RawFileError(problem)
    if missing:
        found = [c for c in table.column_names if c not in absent] + list(ignored)
        if not found and jsonl and _is_blank(source):
            # a zero-byte delivery: said as the CSV case says it, not as missing columns
            raise RawFileError(f"{path}: file is empty (no rows)")
        hint = ""
        if len(found) == 1 and any(sep in found[0] for sep in (";", "\t", "|")):
            hint = (
                "; the header looks separated by something else than commas: lawn reads comma-separated CSV"
            )
        raise RawFileError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
            f"(found: {', '.join(found) or 'none'}){hint}"
        )
    try:
        connection.execute(f"create or replace table {relation} as {select}")
    except duckdb.Error as exc:
        if jsonl:
            raise RawFileError(
                first_bad_json_line(path, source) or duckdb_problem(path, exc, source)
            ) from None
        raise RawFileError(
            blob_problem(connection, table, path) or duckdb_problem(path, exc, source)
        ) from None
    if check is not None:
        problems = check(table, path, connection, relation)
        if problems:
            # a JSON Lines line that is not an object lands as a row of nulls: name the line; a
            # corrupt gzip stream may inflate to rows that parse: name the file's problem
            non_object = (
                jsonl and has_non_object_line(connection, source) and first_bad_json_line(path, source)
            )
            raise RawFileError(non_object or gzip_problem(path) or problems[0])
    return absent, ignored
