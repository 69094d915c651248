"""The column names of a raw CSV or Parquet file, checked before DuckDB reads its rows.

Columns are matched to the contract by name, trimmed and in any letter case, so a file must
name each column once: two names that differ only in letter case (`USER_ID`, `user_id`)
are refused, never resolved by a guess (DuckDB would read a Parquet file's second one as
`user_id_1`). A CSV column without a name (a trailing comma in the header: a spreadsheet's
empty last column) is refused, naming its position. Checks of a Parquet column's bytes
(a BLOB column that is not UTF-8 text) are here too: they run on an error path only.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parquet_names(connection: duckdb.DuckDBPyConnection, path: Path) -> list[str] | None:
    """The top-level column names of a Parquet file as written (DuckDB's reader renames a
    repeated one); None when its schema cannot be read (the read itself then says why)."""
    try:
        nodes = connection.execute(
            f"select name, coalesce(num_children, 0) from parquet_schema({_sql_string(str(path))})"
        ).fetchall()
    except duckdb.Error:
        return None
    if not nodes:
        return None
    names: list[str] = []
    index = 1
    for _ in range(int(nodes[0][1])):  # the root's children, each followed by its subtree
        if index >= len(nodes):
            break
        names.append(str(nodes[index][0]))
        pending = int(nodes[index][1])
        index += 1
        while pending and index < len(nodes):
            pending += int(nodes[index][1]) - 1
            index += 1
    return names


def name_problem(path: Path, names: list[str], where: str) -> str:
    """One error line if ``names`` (a CSV header, a Parquet file's columns, as written) has a
    column without a name or a name twice in any letter case; "" if not. ``where`` says what
    holds the names ("header", "Parquet schema")."""
    empty = [number for number, name in enumerate(names, start=1) if not name.strip()]
    if empty:
        plural = len(empty) > 1
        what = (
            f"column{'s' if plural else ''} {', '.join(map(str, empty))} of {len(names)} "
            f"{'have' if plural else 'has'} no name"
        )
        if where != "header":
            return f"{path}: {what}"
        return (
            f"{path}: line 1: {what} (a trailing comma in the header, or a spreadsheet's empty "
            "column?): delete the column or give it a name"
        )
    folded = [name.strip().lower() for name in names]
    repeated = sorted({name for name in names if folded.count(name.strip().lower()) > 1})
    if repeated:
        return f"{path}: {where} repeats a column name ({', '.join(repeated)})"
    return ""


def bad_blob_column(
    connection: duckdb.DuckDBPyConnection, path: Path, reader: str, columns: dict[str, str]
) -> str:
    """For a Parquet file whose landing failed: one line naming the first BLOB column (of
    ``columns``: contract column -> the file's name for it) holding bytes that are not UTF-8
    text, and its first such data row; "" if none does."""
    for column, name in columns.items():
        quoted = '"' + name.replace('"', '""') + '"'
        found = connection.execute(
            f"select n from (select row_number() over () as n, {quoted} as v from {reader}) "
            f"where v is not null and try(decode(v)) is null order by n limit 1"
        ).fetchone()
        if found:
            return (
                f"{path}: column '{column}' is binary (BLOB) and not UTF-8 text, first at data row "
                f"{found[0]}: write it as a string column"
            )
    return ""
