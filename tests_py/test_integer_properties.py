"""An integer property is JSON Schema's integer on every engine: a JSON number whose value is
whole (5, 5.0, 5e0, 1.5e2), never 5.5 (macros/portability/integer_property.sql). What a
double-typed export, pandas or a float-typed SDK sends (`"seats": 5.0`) was quarantined as
WRONG_TYPE before; the verdict and the value read downstream are checked here on DuckDB,
PostgreSQL and Spark against Python's own reading of the same JSON (json.loads), and end to
end through int_event_properties_checked against lawn.tracking_plan's restatement.

PostgreSQL and Spark follow the suite's rules: skipped locally without them, failing in CI."""

from __future__ import annotations

import json

import duckdb
import pytest

from lawn.tracking_plan import PropertySpec, _first_problem
from tests_py.scratch_dbt import render_expressions
from tests_py.test_portable_macros import _postgres_rows

# a property `a` of a properties object, as SDKs, spreadsheets and exports write it
LITERALS = [
    "5", "5.0", "5.00", "5e0", "1.5e2", "0.5e1", "-3.0", "-0.0", "5.5", "1e-1", "1e400",
    "2147483648", "2147483648.0", "9007199254740992.0", "9007199254740994.0",
    "12345678901234567890", '"5"', "true", "null", None,  # None: the key is absent
]  # fmt: skip
FORMS = {"duckdb": "duckdb__", "postgres": "default__", "spark": "spark__"}
TYPES = {
    "duckdb": {"int": "integer", "bigint": "bigint"},
    "postgres": {"int": "integer", "bigint": "bigint"},
    "spark": {"int": "int", "bigint": "bigint"},
}
RANGES = {"int": 2**31 - 1, "bigint": 2**63 - 1}


def _documents() -> list[tuple[str, str]]:
    return [(str(i), "{}" if lit is None else '{"a": ' + lit + "}") for i, lit in enumerate(LITERALS)]


def _expected(literal: str | None) -> tuple[bool, int | None, int | None]:
    """(is an integer, its value as int, as bigint) as Python reads the JSON."""
    value = None if literal is None else json.loads(literal)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return (False, None, None)
    if isinstance(value, float) and not (value.is_integer() and abs(value) <= 2**53):
        return (False, None, None)
    whole = int(value)
    return (True, *(whole if -bound - 1 <= whole <= bound else None for bound in RANGES.values()))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    parts = []
    for engine, p in FORMS.items():
        json_type = f"{p}json_value_type('j', \"'a'\")"
        text = f"{p}json_extract_scalar('j', \"'a'\")"
        parts.append(f"{{{{ {p}integer_property_check({json_type}, {text}) }}}} as {engine}_check")
        parts += [
            f"{{{{ {p}integer_property_value({text}, '{sql_type}') }}}} as {engine}_{kind}"
            for kind, sql_type in TYPES[engine].items()
        ]
    parts.append("{{ default__create_portable_objects() }} as postgres_objects")
    return render_expressions(parts, tmp_path_factory.mktemp("integer_properties"))


def _select(rendered: dict[str, str], engine: str) -> str:
    return (
        f"select k, coalesce({rendered[f'{engine}_check']}, false), "
        f"{rendered[f'{engine}_int']}, {rendered[f'{engine}_bigint']} from d order by cast(k as int)"
    )


def _check(rows: list[tuple]) -> None:
    assert len(rows) == len(LITERALS)
    wrong = []
    for key, is_integer, as_int, as_bigint in rows:
        literal = LITERALS[int(key)]
        expected = _expected(literal)
        # the value is read downstream only where the verdict is integer
        got = (bool(is_integer), as_int, as_bigint) if is_integer else (False, None, None)
        if got != expected:
            wrong.append((literal, got, expected))
    assert not wrong, wrong


def test_the_restatement_reads_json_schema_integers():
    assert _expected("5.0") == (True, 5, 5) and _expected("1.5e2") == (True, 150, 150)
    assert _expected("5.5")[0] is False and _expected('"5"')[0] is False
    assert _expected("2147483648.0") == (True, None, 2147483648)
    assert _expected("9007199254740994.0")[0] is False  # beyond 2^53 with a fraction: not decided


def test_duckdb_reads_integer_properties_as_json_schema(rendered):
    with duckdb.connect() as con:
        con.execute("create table d (k varchar, j varchar)")
        con.executemany("insert into d values (?, ?)", _documents())
        _check(con.execute(_select(rendered, "duckdb")).fetchall())


def test_postgres_reads_integer_properties_as_json_schema(rendered, pg_env):
    select, setup = _select(rendered, "postgres"), rendered["postgres_objects"]
    _check(_postgres_rows(pg_env, "d (k text, j text)", _documents(), select, setup))


def test_spark_reads_integer_properties_as_json_schema(rendered, spark):
    spark.createDataFrame(_documents(), "k string, j string").createOrReplaceTempView("d")
    _check([tuple(row) for row in spark.sql(_select(rendered, "spark")).collect()])


def test_the_plan_restatement_takes_whole_numbers_as_integers():
    """lawn.tracking_plan's rules (the tests' expectation for the quarantine) say the same."""
    spec = PropertySpec("seats", "integer", True, None, 0, 10000, None, "none")
    assert _first_problem(spec, 5.0) is None and _first_problem(spec, 150.0) is None
    assert _first_problem(spec, 5.5) == "WRONG_TYPE" and _first_problem(spec, "5") == "WRONG_TYPE"
    assert _first_problem(spec, 20000.0) == "OUT_OF_RANGE"
