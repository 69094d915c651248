"""The reports on PostgreSQL: the tables they read, copied into a DuckDB file they then read.

The report code (lawn/report.py, lawn/reports/) is written once, in DuckDB's SQL, against
public marts. On PostgreSQL, :func:`mirror_postgres` copies exactly those relations
(:data:`REPORT_RELATIONS`) from the server into a fresh DuckDB file, column by column with
the server's types carried over (numeric(p, s) as DECIMAL(p, s), json and jsonb as text,
timestamps with a zone as UTC timestamps, NULL apart from the empty string), and the same
report code runs on that file. So a report built from PostgreSQL is the report of the same
rows on DuckDB; tests_py/test_postgres.py compares the two texts.

What is not in those relations is not in the mirror: the quarterly report's data dictionary
(`lawn catalog` on the warehouse) and its retention check (every mapped table, raw included)
say "not available" on PostgreSQL (lawn/reports/run.py)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from lawn.data_day import DATA_DAY_TABLE

# every relation the report code reads (tests_py/test_postgres.py scans the modules for
# `schema.name` tokens and checks that each one that is a relation of the warehouse is here)
REPORT_RELATIONS: tuple[str, ...] = (
    "audit.grant_log",
    "marts.dim_experiments",
    "marts.fct_action_exports",
    "marts.fct_activation",
    "marts.fct_automation_lift",
    "marts.fct_bandit_arms_daily",
    "marts.fct_bandit_assignments",
    "marts.fct_bandit_outcomes",
    "marts.fct_bandit_readout",
    DATA_DAY_TABLE,  # the data day: read by lawn.data_day only
    "marts.fct_data_quality_daily",
    "marts.fct_erasure_requests",
    "marts.fct_events",
    "marts.fct_experiment_readouts",
    "marts.fct_funnel",
    "marts.fct_growth_system_health",
    "marts.fct_instrumentation_qa_daily",
    "marts.fct_model_monitoring",
    "marts.fct_mrr",
    "marts.fct_mrr_movements",
    "marts.fct_next_best_actions",
    "marts.fct_retention_audit",
    "marts.fct_retention_cohorts",
    "marts.fct_slo_root_causes",
    "marts.fct_slo_status",
    "marts.fct_uplift_training_examples",
    "ops.nightly_runs",
    "registry.experiment_metrics",
)

CHUNK_ROWS = 50_000  # rows fetched per round trip (a server-side cursor: memory stays flat)

_SIMPLE_TYPES = {
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "character": "VARCHAR",
    "json": "VARCHAR",
    "jsonb": "VARCHAR",
    "uuid": "VARCHAR",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double precision": "DOUBLE",
    "real": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP",
    "time without time zone": "TIME",
    "interval": "INTERVAL",
}


class MirrorError(RuntimeError):
    """A column type the mirror cannot carry over (one line naming the column)."""


def duckdb_type(relation: str, column: str, data_type: str, precision: int | None, scale: int | None) -> str:
    """The DuckDB type of a PostgreSQL column (information_schema's data_type and numeric
    precision/scale). numeric without a precision is DOUBLE (DuckDB's own numeric is
    DECIMAL(18, 3), which would round it)."""
    if data_type == "numeric":
        if precision is not None and precision <= 38:
            return f"DECIMAL({precision}, {scale or 0})"
        return "DOUBLE"
    if data_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[data_type]
    raise MirrorError(f"{relation}.{column}: PostgreSQL type {data_type!r} has no DuckDB mirror")


def _select_list(columns: list[tuple[str, str]]) -> str:
    """The server-side select: text for json, UTC for a zoned timestamp, the rest as stored."""
    parts = []
    for name, data_type in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        if data_type in ("json", "jsonb", "uuid"):
            parts.append(f"{quoted}::text")
        elif data_type == "timestamp with time zone":
            parts.append(f"({quoted} at time zone 'UTC')")
        elif data_type == "interval":
            parts.append(f"extract(epoch from {quoted})")
        else:
            parts.append(quoted)
    return ", ".join(parts)


def _columns(cursor, schema: str, table: str) -> list[tuple[str, str, int | None, int | None]]:
    cursor.execute(
        "select column_name, data_type, numeric_precision, numeric_scale "
        "from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position",
        (schema, table),
    )
    return cursor.fetchall()


def _frame(rows: list[tuple], names: list[str], types: list[str]) -> pd.DataFrame:
    """The chunk as a frame whose columns keep their values: integers as nullable integers (a
    NULL among them made pandas turn the column into doubles: 2**53 + 1 lost its last digit),
    the rest as the Python objects the driver gave (Decimal, date, datetime, str, bool)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    data = {}
    for name, kind, values in zip(names, types, columns, strict=True):
        if kind in ("SMALLINT", "INTEGER", "BIGINT"):
            data[name] = pd.array(list(values), dtype="Int64")
        elif kind.startswith("DECIMAL"):  # as text, cast exactly (no sample picks a narrower type)
            data[name] = pd.Series([None if v is None else str(v) for v in values], dtype=object)
        elif kind in ("DOUBLE", "FLOAT"):  # numeric without a precision came as Decimal
            data[name] = pd.Series([None if v is None else float(v) for v in values], dtype=object)
        elif kind == "INTERVAL":  # seconds, as a DuckDB interval
            data[name] = pd.to_timedelta(pd.Series(values, dtype="float64"), unit="s")
        else:
            data[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data)


def _copy_relation(pg, target: duckdb.DuckDBPyConnection, relation: str) -> int | None:
    """Copy one relation; None when the server has no such relation (not built there)."""
    schema, table = relation.split(".")
    with pg.cursor() as cursor:
        columns = _columns(cursor, schema, table)
    if not columns:
        return None
    types = [duckdb_type(relation, name, kind, precision, scale) for name, kind, precision, scale in columns]
    names = [name for name, *_ in columns]
    body = ", ".join(f'"{name}" {kind}' for name, kind in zip(names, types, strict=True))
    target.execute(f"create schema if not exists {schema}")
    target.execute(f"create table {relation} ({body})")
    select = _select_list([(name, kind) for name, kind, *_ in columns])
    copied = 0
    with pg.cursor(name=f"lawn_mirror_{schema}_{table}") as cursor:  # server-side: streamed
        cursor.itersize = CHUNK_ROWS
        cursor.execute(f'select {select} from "{schema}"."{table}"')
        while rows := cursor.fetchmany(CHUNK_ROWS):
            frame = _frame(rows, names, types)
            target.register("lawn_mirror_chunk", frame)
            casts = ", ".join(f'cast("{name}" as {kind})' for name, kind in zip(names, types, strict=True))
            target.execute(f"insert into {relation} select {casts} from lawn_mirror_chunk")
            target.unregister("lawn_mirror_chunk")
            copied += len(rows)
    return copied


def mirror_postgres(
    login: object, path: Path, relations: tuple[str, ...] = REPORT_RELATIONS
) -> dict[str, int]:
    """Copy ``relations`` from the PostgreSQL warehouse of ``login`` (lawn.postgres.PgLogin)
    into a new DuckDB file at ``path`` (replaced if it exists), in one read-only transaction
    (every table as of one moment). Returns the rows copied per relation found."""
    path.unlink(missing_ok=True)
    copied: dict[str, int] = {}
    pg = login.connect()
    try:
        pg.set_session(readonly=True, isolation_level="REPEATABLE READ")
        with duckdb.connect(str(path)) as target:
            for relation in relations:
                rows = _copy_relation(pg, target, relation)
                if rows is not None:
                    copied[relation] = rows
            target.execute("checkpoint")
        pg.rollback()
    finally:
        pg.close()
    return copied


@contextlib.contextmanager
def mirrored(login: object, folder: Path | None = None) -> Iterator[Path]:
    """A DuckDB mirror of the report relations of ``login``'s warehouse for the duration of
    the block (a temporary file, removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="lawn-report-mirror-", dir=folder) as work:
        path = Path(work) / "report_mirror.duckdb"
        mirror_postgres(login, path)
        yield path
