"""Land a folder of raw files in the warehouse's ``raw`` schema: one reader for gate and load.

Each table of the input contract (`lawn.contract`) is read from ``<raw_dir>/<table>.<ext>``
(CSV, Parquet or JSON Lines, optionally gzipped), or from the files of a folder
``<raw_dir>/<table>/`` (one file per delivery), with DuckDB, columns matched by name. A file
landed before is not read again: ``ops.raw_landing_manifest`` keeps each landed file's size,
modification time and SHA-256, and a load lands only new files (`plan_table`;
docs/landing_increments.md). Every
column is landed as text in a canonical form (typed timestamps as ISO 8601 UTC, nested JSON
as JSON text), so staging sees the same thing whatever the file carried. The raw-file gate
(`lawn.validate_raw`) checks exactly the rows this module lands, inside the same transaction:
if any table fails, nothing is landed and the previous raw tables stay as they were.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from lawn.contract import FILE_FORMATS, RAW_TABLES, RawColumn, RawTable

# a value longer than this is landed (and quarantined by staging), never a load failure
MAX_LINE_BYTES = 256 * 1024 * 1024
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class RawFileError(Exception):
    """A raw file that must not be loaded; the message is one line naming file and problem."""


@dataclass
class LandedTable:
    """What the loader landed for one contract table."""

    table: RawTable
    path: Path | None
    rows: int
    absent_columns: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
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
    # rows of raw_events withheld at landing (erasure tombstones, retention): lawn.privacy
    withheld: object = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def find_table_file(raw_dir: Path, table: RawTable) -> Path | None:
    """The file holding ``table`` in ``raw_dir``; two candidate files are an error."""
    found = [path for ext in FILE_FORMATS if (path := raw_dir / f"{table.name}{ext}").exists()]
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise RawFileError(f"{found[0]}: more than one file for table {table.name}: {names}")
    return found[0] if found else None


def file_format(path: Path) -> str:
    name = path.name
    for ext, kind in FILE_FORMATS.items():
        if name.endswith(ext):
            return kind
    raise RawFileError(f"{path}: unknown file type (expected one of {', '.join(FILE_FORMATS)})")


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _csv_header(path: Path) -> list[str]:
    try:
        with _open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise RawFileError(f"{path}: line 1: not UTF-8 text") from None
    except (OSError, EOFError, csv.Error) as exc:
        raise RawFileError(f"{path}: cannot be read ({exc})".splitlines()[0]) from None
    if not header:
        raise RawFileError(f"{path}: file is empty (not even a header row)")
    return [name.strip() for name in header]


def _duckdb_problem(path: Path, exc: Exception) -> str:
    """One line from a DuckDB read error, with the line number and never the row's contents."""
    text = str(exc)
    line = re.search(r"[Ll]ine:? (\d+)", text)
    reasons = [
        part.strip()
        for part in text.splitlines()[1:8]
        if part.strip() and not part.startswith("Original Line") and not part.startswith("Possible")
    ]
    reason = reasons[0] if reasons else text.splitlines()[0]
    reason = reason.split(". Possible")[0].rstrip(".")
    where = f"line {line.group(1)}: " if line else ""
    return f"{path}: {where}{reason}"


def _first_bad_json_line(path: Path) -> str:
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError:
                    return f"{path}: line {number}: not a JSON object (JSON Lines needs one object per line)"
                if not isinstance(value, dict):
                    return f"{path}: line {number}: not a JSON object (JSON Lines needs one object per line)"
    except UnicodeDecodeError:
        return f"{path}: not UTF-8 text"
    return ""


def _text_expression(column: RawColumn, source: str, source_type: str) -> str:
    """SQL turning ``source`` (of DuckDB type ``source_type``) into the column's canonical text."""
    upper = source_type.upper()
    if upper.startswith("TIMESTAMP") or upper == "DATETIME":
        if column.kind == "date":
            return f"strftime(cast({source} as date), '%Y-%m-%d')"
        return f"strftime({source}, '{ISO_FORMAT}')"
    if upper == "DATE":
        if column.kind == "timestamp":
            return f"strftime(cast({source} as timestamp), '{ISO_FORMAT}')"
        return f"strftime({source}, '%Y-%m-%d')"
    if upper.startswith(("STRUCT", "MAP")) or upper.endswith("[]") or upper == "JSON":
        return f"cast(to_json({source}) as varchar)"
    if upper == "BLOB":
        return f"decode({source})"
    return f"cast({source} as varchar)"


def _reader_sql(path: Path, kind: str, header: list[str] | None) -> str:
    literal = _sql_string(str(path))
    if kind == "csv":
        columns = "{" + ", ".join(f"{_sql_string(name)}: 'VARCHAR'" for name in header or []) + "}"
        return (
            f"read_csv({literal}, columns={columns}, header=true, delim=',', quote='\"', escape='\"', "
            f"auto_detect=false, strict_mode=true, null_padding=false, encoding='utf-8', "
            f"max_line_size={MAX_LINE_BYTES})"
        )
    if kind == "parquet":
        return f"read_parquet({literal})"
    return f"read_json_objects({literal}, format='newline_delimited', maximum_object_size={MAX_LINE_BYTES})"


def _select_for(
    connection: duckdb.DuckDBPyConnection, table: RawTable, path: Path
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The SELECT that reads ``path`` as ``table``'s text columns; absent and ignored columns."""
    kind = file_format(path)
    if kind == "jsonl":
        reader = _reader_sql(path, kind, None)
        probe = ", ".join(
            f"count(*) filter (where json_exists(json, {_sql_string('$.' + c.name)}))" for c in table.columns
        )
        try:
            counts = connection.execute(f"select {probe} from {reader}").fetchall()[0]
        except duckdb.Error as exc:
            raise RawFileError(_first_bad_json_line(path) or _duckdb_problem(path, exc)) from None
        present = {c.name for c, count in zip(table.columns, counts, strict=True) if count}
        parts = []
        for column in table.columns:
            if column.name in present:
                json_path = _sql_string("$." + column.name)
                parts.append(f"json_extract_string(json, {json_path}) as {column.name}")
            else:
                parts.append(f"cast(null as varchar) as {column.name}")
        absent = tuple(c.name for c in table.columns if c.name not in present)
        return f"select {', '.join(parts)} from {reader}", absent, ()
    header = _csv_header(path) if kind == "csv" else None
    reader = _reader_sql(path, kind, header)
    try:
        described = connection.execute(f"describe select * from {reader}").fetchall()
    except duckdb.Error as exc:
        raise RawFileError(_duckdb_problem(path, exc)) from None
    types = {name.strip().lower(): (name, dtype) for name, dtype, *_ in described}
    if kind == "csv" and len(types) != len(described):
        raise RawFileError(f"{path}: header repeats a column name ({', '.join(header or [])})")
    parts = []
    for column in table.columns:
        if column.name in types:
            name, dtype = types[column.name]
            parts.append(f"{_text_expression(column, _ident(name), dtype)} as {column.name}")
        else:
            parts.append(f"cast(null as varchar) as {column.name}")
    absent = tuple(c.name for c in table.columns if c.name not in types)
    ignored = tuple(types[k][0] for k in types if k not in table.column_names)
    return f"select {', '.join(parts)} from {reader}", absent, ignored


def _empty_select(table: RawTable) -> str:
    return "select " + ", ".join(f"cast(null as varchar) as {c.name}" for c in table.columns) + " where false"


# --- deliveries: one file per table, or a folder of files ----------------------------------

# what lawn knows of every raw file it landed (Python's own table: no dbt model reads it)
MANIFEST = "ops.raw_landing_manifest"
MANIFEST_COLUMNS = (
    "table_name varchar, file_name varchar, file_size bigint, mtime_ns bigint, sha256 varchar, "
    "rows_read bigint, load_id varchar, landed_at timestamp, table_rows bigint"
)
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Delivery:
    """One raw file and its fingerprint; ``name`` is its path relative to the raw folder."""

    path: Path
    name: str
    size: int
    mtime_ns: int
    sha256: str


def find_table_files(raw_dir: Path, table: RawTable) -> list[Path]:
    """The files delivering ``table``: ``<table>.<ext>`` alone, or every file of the folder
    ``<table>/`` in name order (names starting with ``.`` or ``_``, such as an export's
    ``_SUCCESS`` marker, are not data). Both forms at once, or an unknown file type in the
    folder, is an error."""
    single = find_table_file(raw_dir, table)
    folder = raw_dir / table.name
    if not folder.is_dir():
        return [single] if single else []
    if single is not None:
        raise RawFileError(
            f"{folder}: table {table.name} is delivered both as {single.name} and as a folder: keep one"
        )
    files = sorted(
        (path for path in folder.iterdir() if path.is_file() and not path.name.startswith((".", "_"))),
        key=lambda path: path.name,
    )
    for path in files:
        if not any(path.name.endswith(ext) for ext in FILE_FORMATS):
            raise RawFileError(
                f"{path}: unknown file type in the folder of {table.name} "
                f"(expected one of {', '.join(FILE_FORMATS)})"
            )
    return files


def fingerprint(raw_dir: Path, path: Path) -> Delivery:
    """Size, modification time and SHA-256 of a raw file (read once, in 1 MB pieces)."""
    digest = hashlib.sha256()
    try:
        stat = path.stat()
        with open(path, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise RawFileError(f"{path}: cannot be read ({exc.strerror})") from None
    return Delivery(
        path, path.relative_to(raw_dir).as_posix(), stat.st_size, stat.st_mtime_ns, digest.hexdigest()
    )


@dataclass
class Plan:
    """What this load does with one table: land it in full, append new files, or keep it."""

    mode: str  # "full", "append" or "unchanged"
    deliveries: list[Delivery]
    new: list[Delivery]
    note: str = ""  # why a table that was landed before is landed again in full (stderr)


def _exists(connection: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".", 1)
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def _scalar(connection: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    return connection.execute(sql, params or []).fetchall()[0][0]


def retention_deleted_since(connection: duckdb.DuckDBPyConnection, relation: str, since) -> int:
    """Rows `lawn retention` deleted from ``relation`` after ``since`` (ops.retention_audit)."""
    if since is None or not _exists(connection, "ops.retention_audit"):
        return 0
    found = _scalar(
        connection,
        "select coalesce(sum(rows_affected), 0) from ops.retention_audit "
        "where relation_name = ? and not is_dry_run and applied_at > ?",
        [relation, since],
    )
    return int(found or 0)


def plan_table(
    raw_dir: Path, table: RawTable, connection: duckdb.DuckDBPyConnection, schema: str, incremental: bool
) -> Plan:
    """Compare the table's files with what the manifest says was landed. Only new files are
    landed when every file landed before is still there with the same size, modification time
    and SHA-256, no erasure happened since, and the landed table holds the rows the manifest
    says (less what `lawn retention` deleted since); otherwise the whole table is landed again."""
    deliveries = [fingerprint(raw_dir, path) for path in find_table_files(raw_dir, table)]
    target = f"{schema}.{table.name}"
    if not incremental or not _exists(connection, MANIFEST) or not _exists(connection, target):
        return Plan("full", deliveries, deliveries)
    rows = connection.execute(
        f"select file_name, file_size, mtime_ns, sha256, landed_at, table_rows from {MANIFEST} "
        "where table_name = ? order by landed_at",
        [table.name],
    ).fetchall()
    if not rows:
        return Plan("full", deliveries, deliveries)
    landed = {row[0]: row for row in rows}
    last_landed_at, table_rows = rows[-1][4], rows[-1][5]
    current = {delivery.name: delivery for delivery in deliveries}
    what = f"raw.{table.name}"

    def again(note: str) -> Plan:
        return Plan("full", deliveries, deliveries, f"{note}: landing {what} again in full")

    for name, (_, size, mtime_ns, sha256, *_rest) in landed.items():
        delivery = current.get(name)
        if delivery is None:
            return again(f"{raw_dir / name} was landed before and is gone")
        if delivery.sha256 != sha256:
            return again(f"{delivery.path} changed since it was landed")
        if (delivery.size, delivery.mtime_ns) != (size, mtime_ns):
            pass  # same bytes, touched or copied: still the file that was landed
    if _exists(connection, "ops.erasure_tombstones"):
        erased = _scalar(
            connection, "select count(*) from ops.erasure_tombstones where erased_at > ?", [last_landed_at]
        )
        if erased:
            return again("an erasure happened since the last landing")
    expected = int(table_rows) - retention_deleted_since(connection, target, last_landed_at)
    held = int(_scalar(connection, f"select count(*) from {target}"))
    if held != expected:
        return again(f"{target} holds {held:,} rows where lawn left {expected:,} (changed outside lawn)")
    new = [delivery for delivery in deliveries if delivery.name not in landed]
    return Plan("append" if new else "unchanged", deliveries, new)


def land_raw_dir(
    raw_dir: Path,
    connection: duckdb.DuckDBPyConnection,
    check: Callable[[RawTable, Path, duckdb.DuckDBPyConnection, str], list[str]] | None = None,
    schema: str = "raw",
    incremental: bool = True,
    notes: Callable[[str], None] | None = None,
) -> LoadReport:
    """Read every contract table from ``raw_dir`` into ``<schema>.<table>`` in one transaction.

    ``check(table, path, connection, relation)`` runs on each landed file's rows and returns
    error lines; any error (or a missing required table/column) rolls everything back. With
    ``incremental`` a table whose files were all landed before (ops.raw_landing_manifest) is
    kept, and only its new files are landed and checked (`plan_table`); ``notes`` receives one
    line per table landed again in full although it was landed before."""
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
            report.tables.append(landed)
    except BaseException:
        connection.execute("rollback")
        raise
    if not report.errors:
        # erased persons stay erased, purged rows stay purged (lawn/privacy.py)
        from lawn.privacy import filter_landed

        events = next((landed for landed in report.tables if landed.table.name == "raw_events"), None)
        try:
            report.withheld = filter_landed(
                connection,
                schema,
                incoming=incoming_events,
                carry=events is not None and events.mode != "full",
                load=(load_id, loaded_at),
            )
            _record_manifest(connection, schema, report.tables, load_id, loaded_at)
        except RawFileError as exc:
            report.errors.append(str(exc))
    if report.errors:
        connection.execute("rollback")
    else:
        connection.execute("commit")
    return report


def _record_manifest(
    connection: duckdb.DuckDBPyConnection,
    schema: str,
    tables: list[LandedTable],
    load_id: str,
    loaded_at: dt.datetime,
) -> None:
    """Write what this load landed to the manifest (same transaction as the landing)."""
    connection.execute("create schema if not exists ops")
    connection.execute(f"create table if not exists {MANIFEST} ({MANIFEST_COLUMNS})")
    for landed in tables:
        if landed.mode == "unchanged":
            continue
        name = landed.table.name
        if landed.mode in ("full", "absent"):
            connection.execute(f"delete from {MANIFEST} where table_name = ?", [name])
        table_rows = int(_scalar(connection, f"select count(*) from {schema}.{name}"))
        for delivery, rows in zip(landed.new_files, landed.rows_per_file, strict=True):
            connection.execute(
                f"insert into {MANIFEST} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, delivery.name, delivery.size, delivery.mtime_ns, delivery.sha256, rows,
                 load_id, loaded_at, table_rows],
            )  # fmt: skip
        # the table's row count after this load: the next load's check (`plan_table`)
        connection.execute(f"update {MANIFEST} set table_rows = ? where table_name = ?", [table_rows, name])


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
        rows = int(_scalar(connection, f"select count(*) from {target}"))
        return LandedTable(table, paths[0] if len(paths) == 1 else None, 0, mode="unchanged",
                           files=paths, table_rows=rows)  # fmt: skip
    if not paths:
        if table.required:
            names = " / ".join(f"{table.name}{ext}" for ext in FILE_FORMATS if not ext.endswith(".gz"))
            missing = raw_dir / f"{table.name}.csv"
            raise RawFileError(
                f"{missing}: file not found (one of {names}, or a folder {table.name}/ of such files, "
                "is required)"
            )
        connection.execute(f"create or replace table {target} as {_empty_select(table)}")
        return LandedTable(table, None, 0, absent_columns=table.column_names, mode="absent")
    if plan.mode == "full" and len(paths) == 1 and paths[0].parent == raw_dir:
        # the single-file form: straight into the table, as ever
        absent, ignored = _land_file(table, paths[0], connection, target, check)
        rows = int(_scalar(connection, f"select count(*) from {target}"))
        return LandedTable(table, paths[0], rows, absent, ignored, mode="full", files=paths,
                           new_files=plan.new, rows_per_file=[rows], table_rows=rows)  # fmt: skip
    # each file checked alone, then gathered: in the table itself (full), in `incoming` (new
    # raw_events rows, screened by lawn.privacy.filter_landed before they are appended), or
    # appended to the table (other tables); a file after the first goes through `scratch`
    incoming = f"{schema}._lawn_incoming_{table.name}"
    scratch = f"{schema}._lawn_file_{table.name}"
    held_back = incoming if plan.mode == "append" and table.name == "raw_events" and schema == "raw" else None
    gather = target if plan.mode == "full" else held_back
    absent_all: set[str] | None = None
    ignored_all: set[str] = set()
    rows_per_file = []
    for number, delivery in enumerate(plan.new):
        relation = gather if number == 0 and gather is not None else scratch
        absent, ignored = _land_file(table, delivery.path, connection, relation, check)
        absent_all = set(absent) if absent_all is None else absent_all & set(absent)
        ignored_all |= set(ignored)
        if relation != target:  # rows gathered before this file: in the table, in `incoming`
            earlier = [name for name in (gather, target) if name is not None and name != relation]
            for column in (c.name for c in table.columns if c.unique):
                _check_unique_across(
                    connection, delivery.path, column, relation, earlier, raw_dir / table.name
                )
        rows_per_file.append(int(_scalar(connection, f"select count(*) from {relation}")))
        if relation == scratch:
            connection.execute(f"insert into {gather or target} select * from {scratch}")
            connection.execute(f"drop table {scratch}")
    new_rows = sum(rows_per_file)
    total = int(_scalar(connection, f"select count(*) from {target}")) + (new_rows if held_back else 0)
    return LandedTable(
        table, paths[0] if len(paths) == 1 else None, new_rows if plan.mode == "append" else total,
        tuple(c for c in table.column_names if c in (absent_all or set())), tuple(sorted(ignored_all)),
        mode=plan.mode, files=paths, new_files=plan.new, rows_per_file=rows_per_file, table_rows=total,
        incoming=held_back,
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


def _land_file(
    table: RawTable,
    path: Path,
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    check: Callable[[RawTable, Path, duckdb.DuckDBPyConnection, str], list[str]] | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Land one file into ``relation`` (created or replaced) and run the gate on its rows."""
    select, absent, ignored = _select_for(connection, table, path)
    missing = [name for name in absent if table.column(name).required]
    if missing:
        found = [c for c in table.column_names if c not in absent] + list(ignored)
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
        if file_format(path) == "jsonl":
            raise RawFileError(_first_bad_json_line(path) or _duckdb_problem(path, exc)) from None
        raise RawFileError(_duckdb_problem(path, exc)) from None
    if check is not None:
        problems = check(table, path, connection, relation)
        if problems:
            raise RawFileError(problems[0])
    return absent, ignored
