"""One adapter-aware layer for Python's reads and writes of the warehouse (DuckDB or PostgreSQL).

The nightly's Python steps (scoring, monitoring, bandits, the action export and its ledger, the
run ledger, the SLO check) talk to a :class:`Warehouse`, never to a driver:

- ``execute(sql, params)``: run one statement; the result has ``fetchall()`` and ``df()``;
- ``query(sql, params)``: a pandas DataFrame;
- ``stage(name, frame)``: a DataFrame as a relation the next statements of this connection can
  read (DuckDB: a registered frame; PostgreSQL: a temporary table);
- ``write_frame(relation, frame, mode)``: the frame's rows into a table, by column name
  (a landing table, lawn/landing.py: every defined column), appended or replacing its rows;
- ``transaction()``: a block that commits, or rolls back on any exception.

SQL is written once, with ``?`` parameters, in the subset both engines read. Where they differ
the per-engine variant lives here (:attr:`Warehouse.types`: column types for DDL).

:func:`connect` opens a warehouse from a *target*: a path (a DuckDB file, exactly as
``duckdb.connect(str(path))`` did before this layer, so the DuckDB behaviour is unchanged) or a
:class:`lawn.postgres.PgLogin` (PostgreSQL, from the same ``LAWN_PG_*`` variables the dbt
profile reads; the password is never printed or logged). A :class:`Warehouse` passed as the
target is used as it is (not closed)."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import math
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import duckdb
import numpy as np
import pandas as pd

from lawn.landing import DUCKDB_TYPES, POSTGRES_TYPES, landing_table, landing_tables
from lawn.warehouse import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_VARIABLE, table_exists

ENGINES = ("duckdb", "postgres")


@runtime_checkable
class Warehouse(Protocol):
    engine: str
    types: dict[str, str]  # logical type (lawn/landing.py) -> this engine's column type

    def execute(self, sql: str, params: Sequence | None = None) -> Any: ...

    def query(self, sql: str, params: Sequence | None = None) -> pd.DataFrame: ...

    def stage(self, name: str, frame: pd.DataFrame) -> None: ...

    def write_frame(self, relation: str, frame: pd.DataFrame, mode: str = "append") -> None: ...

    def transaction(self) -> contextlib.AbstractContextManager: ...

    def has_table(self, schema: str, table: str) -> bool: ...

    def close(self) -> None: ...


def is_missing_table(exc: BaseException) -> bool:
    """The error a statement raises on a table (or schema) that does not exist, on either engine."""
    if isinstance(exc, duckdb.CatalogException):
        return True
    try:
        from psycopg2 import errors
    except ImportError:  # pragma: no cover - psycopg2 comes with dbt-postgres
        return False
    return isinstance(exc, errors.UndefinedTable | errors.InvalidSchemaName)


def _columns(relation: str, frame: pd.DataFrame) -> list[str]:
    """The columns written: a landing table's defined ones (a frame lacking one fails), else
    the frame's own."""
    if relation in landing_tables():
        return landing_table(relation).column_names
    return [str(column) for column in frame.columns]


class DuckDBWarehouse:
    """A DuckDB connection; every call is the DuckDB call the code made before this layer."""

    engine = "duckdb"
    types = DUCKDB_TYPES

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: Sequence | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def query(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        return self.execute(sql, params).df()

    def stage(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(name, frame)

    def write_frame(self, relation: str, frame: pd.DataFrame, mode: str = "append") -> None:
        _check_mode(mode)
        name = f"_lawn_frame_{relation.replace('.', '_')}"
        self.con.register(name, frame)
        try:
            if mode == "replace":
                self.con.execute(f"delete from {relation}")
            columns = ", ".join(_columns(relation, frame))
            self.con.execute(f"insert into {relation} ({columns}) select {columns} from {name}")
        finally:
            self.con.unregister(name)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("begin transaction")
        try:
            yield
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

    def has_table(self, schema: str, table: str) -> bool:
        return table_exists(self, schema, table)

    def close(self) -> None:
        self.con.close()


def _check_mode(mode: str) -> None:
    if mode not in ("append", "replace"):
        raise ValueError(f"write mode {mode!r} is not append or replace")


_QUOTED_OR_MARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|%|\?")


def postgres_sql(sql: str) -> str:
    """``?`` parameters as psycopg2's ``%s`` (a literal ``%`` doubled); quoted text untouched."""

    def swap(match: re.Match) -> str:
        text = match.group(0)
        return {"?": "%s", "%": "%%"}.get(text, text)

    return _QUOTED_OR_MARK.sub(swap, sql)


def _py(value: object) -> object:
    """A cell as psycopg2 adapts it: NULL for None/NaN/NaT (DuckDB reads pandas' NaN as NULL),
    numpy scalars as Python ones, pandas timestamps as datetimes."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    data = [frame[column].tolist() if column in frame else None for column in columns]
    if any(values is None for values in data):
        missing = [column for column, values in zip(columns, data, strict=True) if values is None]
        raise KeyError(f"the frame lacks column(s) {', '.join(missing)}")
    return [tuple(_py(value) for value in row) for row in zip(*data, strict=True)]


def _postgres_type(series: pd.Series) -> str:
    """A column type for a staged frame's column, from its dtype or first non-null value."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    if pd.api.types.is_float_dtype(series):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    sample = next((value for value in series if _py(value) is not None), None)
    if isinstance(sample, bool | np.bool_):
        return "boolean"
    if isinstance(sample, dt.datetime):
        return "timestamp"
    if isinstance(sample, dt.date):
        return "date"
    if isinstance(sample, int | np.integer):
        return "bigint"
    if isinstance(sample, float | np.floating):
        return "double precision"
    return "text"


# PostgreSQL type oids whose values pandas should see as DuckDB's .df() shows them
_PG_DATE, _PG_TIMESTAMP, _PG_NUMERIC = 1082, 1114, 1700


class PostgresResult:
    """What ``execute`` returns on PostgreSQL: the rows (if any) and their column names."""

    def __init__(self, description, rows: list[tuple]) -> None:
        self.columns = [column.name for column in description] if description else []
        self.type_codes = [column.type_code for column in description] if description else []
        numeric = [i for i, code in enumerate(self.type_codes) if code == _PG_NUMERIC]
        if numeric:  # numeric -> float, as DuckDB's double
            rows = [
                tuple(
                    float(v) if i in numeric and isinstance(v, decimal.Decimal) else v
                    for i, v in enumerate(row)
                )
                for row in rows
            ]
        self.rows = rows

    def fetchall(self) -> list[tuple]:
        return list(self.rows)

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def df(self) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(self.rows, columns=self.columns)
        for column, code in zip(self.columns, self.type_codes, strict=True):
            if code in (_PG_DATE, _PG_TIMESTAMP):  # DuckDB's .df() gives datetime64 for both
                frame[column] = pd.to_datetime(frame[column])
            elif code == _PG_NUMERIC or (frame[column].dtype == object and _all_float(frame[column])):
                frame[column] = pd.to_numeric(frame[column]).astype(float)
        return frame


def _all_float(series: pd.Series) -> bool:
    values = [value for value in series if value is not None]
    return bool(values) and all(isinstance(value, float) for value in values)


class PostgresWarehouse:
    """A psycopg2 connection in autocommit mode (``transaction()`` opens an explicit block),
    acting as the login's default role (``transformer`` for lawn_dbt, scripts/postgres_ci.sh)."""

    engine = "postgres"
    types = POSTGRES_TYPES

    def __init__(self, connection) -> None:
        self.connection = connection
        self.connection.autocommit = True

    def execute(self, sql: str, params: Sequence | None = None) -> PostgresResult:
        with self.connection.cursor() as cursor:
            if params is None:
                cursor.execute(sql)
            else:
                cursor.execute(postgres_sql(sql), [_py(value) for value in params])
            rows = cursor.fetchall() if cursor.description else []
            return PostgresResult(cursor.description, rows)

    def query(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        return self.execute(sql, params).df()

    def _insert(self, relation: str, columns: list[str], frame: pd.DataFrame) -> None:
        from psycopg2.extras import execute_values

        rows = _rows(frame, columns)
        if not rows:
            return
        with self.connection.cursor() as cursor:
            execute_values(
                cursor, f"insert into {relation} ({', '.join(columns)}) values %s", rows, page_size=1000
            )

    def stage(self, name: str, frame: pd.DataFrame) -> None:
        body = ", ".join(f"{column} {_postgres_type(frame[column])}" for column in frame.columns)
        self.execute(f"drop table if exists pg_temp.{name}")
        self.execute(f"create temporary table {name} ({body})")
        self._insert(name, list(frame.columns), frame)

    def write_frame(self, relation: str, frame: pd.DataFrame, mode: str = "append") -> None:
        _check_mode(mode)
        if mode == "replace":
            self.execute(f"delete from {relation}")
        self._insert(relation, _columns(relation, frame), frame)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("begin")
        try:
            yield
            self.execute("commit")
        except BaseException:
            self.execute("rollback")
            raise

    def has_table(self, schema: str, table: str) -> bool:
        return table_exists(self, schema, table)

    def close(self) -> None:
        self.connection.close()


def describe(target: object) -> str:
    """A target in words, for logs and run records (never a password)."""
    if isinstance(target, Path | str):
        return str(target)
    if hasattr(target, "host") and hasattr(target, "database"):
        return f"postgres://{target.user}@{target.host}:{target.port}/{target.database}"
    return getattr(target, "engine", type(target).__name__)


def engine_of(target: object) -> str:
    if isinstance(target, Path | str):
        return "duckdb"
    return getattr(target, "engine", "postgres")


# DuckDB's memory for lawn's own connections: the variable and default dbt's connection uses
# (profiles.yml `memory_limit`); past it DuckDB spills to <database>.tmp instead of taking 80%
# of the machine (the nightly's scoring wrote 18M contribution rows at 10M events: 6 GB).
# The variable and its default: lawn/warehouse.py
def duckdb_memory_limit() -> str:
    """The DuckDB memory limit lawn runs under (LAWN_DUCKDB_MEMORY_LIMIT, else 4GB)."""
    return os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or DEFAULT_MEMORY_LIMIT


def open_duckdb(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to ``path`` under lawn's memory limit; a limit DuckDB cannot read
    is a one-line ValueError naming the variable."""
    con = duckdb.connect(str(path), read_only=read_only)
    limit = duckdb_memory_limit()
    try:
        con.execute(f"set memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error:
        con.close()
        raise ValueError(
            f"{MEMORY_LIMIT_VARIABLE}={limit!r} is not a DuckDB size (e.g. 4GB, 500MB)"
        ) from None
    return con


@contextlib.contextmanager
def connect(target: object, read_only: bool = False) -> Iterator[Warehouse]:
    """The warehouse behind ``target`` (a DuckDB path, a PgLogin, or an open Warehouse, which
    is yielded as it is and left open). ``read_only`` applies to DuckDB."""
    if isinstance(target, DuckDBWarehouse | PostgresWarehouse):
        yield target
        return
    if isinstance(target, Path | str):
        warehouse: Warehouse = DuckDBWarehouse(open_duckdb(target, read_only=read_only))
    elif hasattr(target, "connect"):
        warehouse = PostgresWarehouse(target.connect())
    else:
        raise TypeError(f"not a warehouse target: {type(target).__name__}")
    try:
        yield warehouse
    finally:
        warehouse.close()


# one writer at a time on a PostgreSQL warehouse: a session-level advisory lock, which the
# server releases when the holding connection ends (even when its process is killed)
WRITER_LOCK_KEY = 0x6C61776E  # "lawn"


@contextlib.contextmanager
def postgres_writer_lock(login: object, command: str = "", wait_seconds: float = 0.0) -> Iterator[str]:
    """Hold the writer lock of the PostgreSQL warehouse behind ``login`` (lawn/warehouse.py's
    ``writer_lock`` for a server); WarehouseError naming the holding backend after
    ``wait_seconds``. Yields "" (a dead holder's lock is gone with its connection)."""
    import time

    from lawn.warehouse import WarehouseError

    with connect(login) as wh:
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        while not wh.execute("select pg_try_advisory_lock(?)", [WRITER_LOCK_KEY]).fetchall()[0][0]:
            if time.monotonic() >= deadline:
                holder = wh.execute(
                    "select activity.pid, activity.application_name, activity.backend_start "
                    "from pg_locks as locks join pg_stat_activity as activity on locks.pid = activity.pid "
                    "where locks.locktype = 'advisory' and locks.objid = ? and locks.granted",
                    [WRITER_LOCK_KEY],
                ).fetchall()
                pid, name, since = holder[0] if holder else ("?", "?", None)
                who = f"backend pid {pid} ({name or 'no application name'})"
                who += f" since {since}" if since else ""
                raise WarehouseError(
                    f"{describe(login)} is locked by another lawn writer: {who}; "
                    f"try again when it has finished ({command or 'lawn'})"
                )
            time.sleep(0.5)
        try:
            yield ""
        finally:
            wh.execute("select pg_advisory_unlock(?)", [WRITER_LOCK_KEY])
