"""Rewrite a DuckDB warehouse into a fresh file, so deleted rows leave no bytes behind.

DuckDB marks the blocks of deleted rows and dropped tables free but does not overwrite
them: after `lawn privacy erase` (or a retention purge) the erased values could still be read
from the database file with `strings lawn.duckdb`. `compact` copies every schema, table,
view, sequence and macro into a new file next to the warehouse (`COPY FROM DATABASE`),
checks that every table kept its rows, and swaps it in with one rename; the old file is gone.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lawn.paths import fsync_path


class CompactionError(RuntimeError):
    """The copy did not match the warehouse; the warehouse is left as it was."""


@dataclass(frozen=True)
class Compaction:
    bytes_before: int
    bytes_after: int
    tables: int
    seconds: float


def _table_rows(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], int]:
    names = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ?", [catalog]
    ).fetchall()
    return {
        (schema, table): int(
            con.execute(f'select count(*) from "{catalog}"."{schema}"."{table}"').fetchall()[0][0]
        )
        for schema, table in names
    }


def compact(db_path: Path) -> Compaction:
    """Copy ``db_path`` into a fresh file and replace it atomically (the caller holds the
    writer lock; nothing else may write meanwhile)."""
    clock = time.perf_counter()
    db_path = Path(db_path)
    with duckdb.connect(str(db_path)) as con:
        con.execute("checkpoint")  # fold any write-ahead log into the file first
    before = db_path.stat().st_size
    fresh = db_path.with_name(f".{db_path.stem}-compact-{uuid.uuid4().hex[:8]}.duckdb")
    try:
        with duckdb.connect(str(fresh)) as con:
            target = con.execute("select current_database()").fetchall()[0][0]
            escaped = str(db_path).replace("'", "''")
            con.execute(f"attach '{escaped}' as lawn_compact_source (read_only)")
            con.execute(f'copy from database lawn_compact_source to "{target}"')
            source_rows = _table_rows(con, "lawn_compact_source")
            copied_rows = _table_rows(con, target)
            if source_rows != copied_rows:
                differing = sorted(
                    f"{schema}.{table}"
                    for schema, table in set(source_rows) | set(copied_rows)
                    if source_rows.get((schema, table)) != copied_rows.get((schema, table))
                )
                raise CompactionError(f"compacting {db_path}: the copy differs in {', '.join(differing[:5])}")
            con.execute("detach lawn_compact_source")
            con.execute("checkpoint")
        fsync_path(fresh)
        os.replace(fresh, db_path)
        fsync_path(db_path.parent)
    finally:
        for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return Compaction(before, db_path.stat().st_size, len(source_rows), time.perf_counter() - clock)
