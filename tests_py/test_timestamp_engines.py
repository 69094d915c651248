"""The staging timestamp parser (macros/portability/parse_iso_timestamp_utc.sql) decides the
same on DuckDB, PostgreSQL and Spark, and as tests_py/expectations.py's Python restatement,
for what exports send: offsets of every form, no offset (UTC), no seconds, a date alone,
and values that name no instant (a day the month lacks, hour 24, 'T10:00Z', '2026-3-1').

The unit tests of the staging models run on DuckDB only (their fixtures are DuckDB-typed), so
each engine's dispatched SQL is rendered by dbt and run here on a table of hand-written
values. PostgreSQL and Spark follow the suite's rules: skipped locally without them, failing
in CI."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from lawn import dbt_runner
from tests_py.expectations import parse_utc

VALUES = [
    "2026-03-01T10:00:05Z",
    "2026-03-01T10:00:05.123+0530",
    "2026-03-01 23:30:00.5-05",
    "2026-03-02 04:31:00.123456+00",
    "2026-03-01T10:00:05+05:30",
    "2026-03-01T05:00:00.123456789-05:00",  # nanoseconds (Go's RFC 3339): cut, not rounded
    "2026-03-01T23:59:59.9999999",  # rounded, it would be the next day
    "2026-03-01T10:00:05",  # no offset: UTC (refused where an offset is required)
    "2026-03-01 10:00",  # no seconds
    "2026-03-01T10:00",
    "2026-03-01",  # a date alone: its midnight
    "2026-03-01T10:00Z",  # hh:mm before a zone: Spark's cast refuses it, so every engine does
    "2026-03-01T10:00+02:00",
    "2026-02-30",  # a day the month lacks
    "2026-02-30T10:00:00Z",
    "2026-03-01T24:00:00",  # hour 24
    "2026-3-1",  # not ISO 8601
    "03/01/2026",
    "yesterday",
    "",
]
# the three dispatched forms, with and without require_offset
MACROS = {"duckdb": "duckdb__", "postgres": "default__", "spark": "spark__"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    """Each engine's expression over a column ``x``, as dbt renders the macro (one compile)."""
    work = tmp_path_factory.mktemp("timestamp_engines")
    parts = [
        f"{{{{ {prefix}parse_iso_timestamp_utc('x', {flag}) }}}} as {engine}_{name}"
        for engine, prefix in MACROS.items()
        for name, flag in (("any", "false"), ("offset", "true"))
    ]
    done = dbt_runner.run_dbt(
        ["compile", "--inline", "select " + " ||| ".join(parts)],
        work / "w.duckdb",
        target_path=work / "target",
        log_path=work / "logs",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    compiled = done.stdout[done.stdout.index("select ") + len("select ") :]
    expressions = {}
    for chunk in compiled.split("|||"):
        expression, alias = re.match(r"(?s)\s*(.*)\s+as\s+(\w+)\s*$", chunk.strip()).groups()
        expressions[alias] = expression
    assert set(expressions) == {f"{e}_{n}" for e in MACROS for n in ("any", "offset")}
    return expressions


def _expected() -> list[tuple[str, dt.datetime | None, dt.datetime | None]]:
    return [(value, parse_utc(value), parse_utc(value, require_offset=True)) for value in VALUES]


def _plain(moment: object) -> dt.datetime | None:
    if moment is None:
        return None
    assert isinstance(moment, dt.datetime), moment
    return moment.replace(tzinfo=None)


def test_the_python_restatement_reads_the_forms_as_documented():
    # independent of the SQL: the contract's reading (docs/bring_your_own_data.md) by hand
    got = {value: (any_, offset) for value, any_, offset in _expected()}
    assert got["2026-03-01"] == (dt.datetime(2026, 3, 1), None)
    assert got["2026-03-01 10:00"] == (dt.datetime(2026, 3, 1, 10), None)
    assert got["2026-03-01 23:30:00.5-05"] == (dt.datetime(2026, 3, 2, 4, 30, 0, 500000),) * 2
    assert got["2026-03-01T10:00Z"] == (None, None)
    assert got["2026-03-01T05:00:00.123456789-05:00"] == (dt.datetime(2026, 3, 1, 10, 0, 0, 123456),) * 2
    assert got["2026-03-01T23:59:59.9999999"] == (dt.datetime(2026, 3, 1, 23, 59, 59, 999999), None)
    assert got["2026-02-30"] == got["2026-03-01T24:00:00"] == (None, None)


def test_duckdb_parses_as_the_restatement(rendered):
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'America/New_York'")  # the session's zone must not matter
        con.execute("create table t (x varchar)")
        con.executemany("insert into t values (?)", [[v] for v in VALUES])
        rows = con.execute(
            f"select x, {rendered['duckdb_any']}, {rendered['duckdb_offset']} from t"
        ).fetchall()
    assert sorted((x, _plain(a), _plain(b)) for x, a, b in rows) == sorted(_expected())


def test_postgres_parses_as_the_restatement(rendered, pg_env):
    from tests_py.pg_harness import connect

    connection = connect(pg_env, "dbt")
    try:
        with connection.cursor() as cursor:
            cursor.execute("set time zone 'America/New_York'")
            cursor.execute("create temporary table t (x text)")
            cursor.executemany("insert into t values (%s)", [(v,) for v in VALUES])
            cursor.execute(f"select x, {rendered['postgres_any']}, {rendered['postgres_offset']} from t")
            rows = cursor.fetchall()
    finally:
        connection.rollback()
        connection.close()
    assert sorted((x, _plain(a), _plain(b)) for x, a, b in rows) == sorted(_expected())


def test_spark_parses_as_the_restatement(rendered, spark_ready, tmp_path: Path):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("lawn-timestamp-engines")
        .config("spark.sql.session.timeZone", "UTC")  # as profiles.yml sets it
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={tmp_path}")
        .getOrCreate()
    )
    try:
        spark.createDataFrame([(v,) for v in VALUES], "x string").createOrReplaceTempView("t")
        # as text: Spark would hand timestamps to Python in the driver's local zone
        rows = spark.sql(
            f"select x, cast({rendered['spark_any']} as string) as a, "
            f"cast({rendered['spark_offset']} as string) as b from t"
        ).collect()
    finally:
        spark.stop()
    read = [(r.x, *(None if v is None else dt.datetime.fromisoformat(v) for v in (r.a, r.b))) for r in rows]
    assert sorted(read) == sorted(_expected())
