"""The data day on the Python side: the one "today" of a build, read from the one as-of mart.

The day is defined once, in dbt (models/intermediate/events/int_data_day.sql, published as
``marts.fct_data_day``): the UTC day of the newest receive time of a valid event, or, in a
replay (``lawn build --as-of D``, dbt var ``as_of_date``), the day D. Python never works it
out again: every command that needs "today" calls :func:`data_day` (docs/as_of.md)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb

DATA_DAY_TABLE = "marts.fct_data_day"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class DataDayError(ValueError):
    """No data day: the as-of mart is missing (no build yet) or empty, or an --as-of value
    is not a date. The message is one line."""


def data_day(con) -> dt.date:
    """The build's data day, from ``marts.fct_data_day``; DataDayError when there is none.
    ``con``: a DuckDB connection or a lawn.warehouse_io.Warehouse."""
    from lawn.warehouse_io import is_missing_table

    try:
        rows = con.execute(f"select data_day from {DATA_DAY_TABLE}").fetchall()
    except Exception as exc:
        if not is_missing_table(exc):
            raise
        raise DataDayError(f"{DATA_DAY_TABLE} does not exist: run `lawn build` first") from None
    if len(rows) != 1 or rows[0][0] is None:
        raise DataDayError(f"{DATA_DAY_TABLE} holds no data day ({len(rows)} rows): no valid event was built")
    return rows[0][0]


def data_start(con) -> dt.date | None:
    """The day of the oldest valid event (``data_start_date`` of the same mart): before it the
    data did not exist yet, so a period that begins earlier is not observed (the weekly
    report's baseline, a report's --as-of). None when the mart or the column is missing (a
    hand-written test warehouse) or holds no day."""
    try:
        rows = con.execute(f"select min(data_start_date) from {DATA_DAY_TABLE}").fetchall()
    except Exception:  # no such table or column: the start is unknown
        return None
    return rows[0][0] if rows else None


def data_day_of(db_path) -> dt.date | None:
    """The data day of the warehouse file (or of a lawn.warehouse_io target, e.g. a PostgreSQL
    login), or None when it has none yet (no file, no build, no valid event, or the warehouse
    cannot be opened): for records written after a failed run."""
    from lawn.warehouse_io import connect

    if isinstance(db_path, Path | str):
        if not Path(db_path).exists():
            return None
        try:
            with duckdb.connect(str(db_path), read_only=True) as con:
                return data_day(con)
        except (duckdb.Error, DataDayError):
            return None
    try:
        with connect(db_path, read_only=True) as con:
            return data_day(con)
    except Exception:  # any failure of the server: the record is written without the day
        return None


def parse_as_of(text: str, option: str = "--as-of") -> dt.date:
    """An --as-of value (YYYY-MM-DD, a real calendar day) as a date; DataDayError naming the
    option and the value otherwise."""
    value = text.strip()
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DataDayError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from None
