"""The raw deliveries and the load plan: which files deliver each table, and what a load
does with them.

A table is delivered as ``<raw_dir>/<table>.<ext>`` or as the files of a folder
``<raw_dir>/<table>/`` (`find_table_files`). ``ops.raw_landing_manifest`` keeps each landed
file's size, modification time and SHA-256 (`fingerprint`, `record_manifest`); `plan_table`
compares a table's files with it and lands only new files, or the whole table again when a
landed file changed or went, an erasure happened, or the table was changed outside lawn
(docs/landing_increments.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from lawn.contract import FILE_FORMATS, RawTable
from lawn.raw_reader import RawFileError, find_table_file
from lawn.warehouse import relation_exists

if TYPE_CHECKING:
    from lawn.raw_loader import LandedTable

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


def _folder_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, in subfolders too (a Hive-style export's
    ``dt=2026-11-22/part-0000.parquet``), in the order of their paths below it; names starting
    with ``.`` or ``_`` (an export's ``_SUCCESS`` marker, ``_temporary/``) are not data."""
    found = []
    for parent, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith((".", "_"))]
        found += [Path(parent) / name for name in names if not name.startswith((".", "_"))]
    return sorted((path for path in found if path.is_file()), key=lambda path: path.relative_to(folder).parts)


def find_table_files(raw_dir: Path, table: RawTable) -> list[Path]:
    """The files delivering ``table``: ``<table>.<ext>`` alone, or every file of the folder
    ``<table>/`` and its subfolders in path order (`_folder_files`: names starting with ``.``
    or ``_`` are not data). Both forms at once, or an unknown file type in the folder, is an
    error. A subfolder was skipped without a word before (a probe, 2026-12-07: half the rows
    of a two-part delivery lost)."""
    single = find_table_file(raw_dir, table)
    folder = raw_dir / table.name
    if not folder.is_dir():
        return [single] if single else []
    if single is not None:
        raise RawFileError(
            f"{folder}: table {table.name} is delivered both as {single.name} and as a folder: keep one"
        )
    files = _folder_files(folder)
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
    # landed again because rows it held changed or went (not an erasure, which every layer
    # applies): incremental models built on them are stale (lawn/rebuild_due.py)
    stale: bool = False


def scalar(connection: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    return connection.execute(sql, params or []).fetchall()[0][0]


def retention_deleted_since(connection: duckdb.DuckDBPyConnection, relation: str, since) -> int:
    """Rows `lawn retention` deleted from ``relation`` after ``since`` (ops.retention_audit)."""
    if since is None or not relation_exists(connection, "ops.retention_audit"):
        return 0
    found = scalar(
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
    if (
        not incremental
        or not relation_exists(connection, MANIFEST)
        or not relation_exists(connection, target)
    ):
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

    def again(note: str, stale: bool = True) -> Plan:
        return Plan("full", deliveries, deliveries, f"{note}: landing {what} again in full", stale)

    for name, (_, size, mtime_ns, sha256, *_rest) in landed.items():
        delivery = current.get(name)
        if delivery is None:
            return again(f"{raw_dir / name} was landed before and is gone")
        if delivery.sha256 != sha256:
            return again(f"{delivery.path} changed since it was landed")
        if (delivery.size, delivery.mtime_ns) != (size, mtime_ns):
            pass  # same bytes, touched or copied: still the file that was landed
    if relation_exists(connection, "ops.erasure_tombstones"):
        erased = scalar(
            connection, "select count(*) from ops.erasure_tombstones where erased_at > ?", [last_landed_at]
        )
        if erased:
            return again("an erasure happened since the last landing", stale=False)
    expected = int(table_rows) - retention_deleted_since(connection, target, last_landed_at)
    held = int(scalar(connection, f"select count(*) from {target}"))
    if held != expected:
        return again(f"{target} holds {held:,} rows where lawn left {expected:,} (changed outside lawn)")
    new = [delivery for delivery in deliveries if delivery.name not in landed]
    return Plan("append" if new else "unchanged", deliveries, new)


def record_manifest(
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
        table_rows = int(scalar(connection, f"select count(*) from {schema}.{name}"))
        for delivery, rows in zip(landed.new_files, landed.rows_per_file, strict=True):
            connection.execute(
                f"insert into {MANIFEST} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, delivery.name, delivery.size, delivery.mtime_ns, delivery.sha256, rows,
                 load_id, loaded_at, table_rows],
            )  # fmt: skip
        # the table's row count after this load: the next load's check (`plan_table`)
        connection.execute(f"update {MANIFEST} set table_rows = ? where table_name = ?", [table_rows, name])
