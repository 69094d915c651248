"""regexp_like_known_patterns (macros/quality): the tracking plan's patterns written as literals,
so DuckDB compiles each once per query instead of once per row, with the verdicts of the
per-row regexp_like and of Python's `re` on hand-written values, including a pattern added
after the model was compiled (the fallback branch), quotes and backslashes in a pattern, and
nulls."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests_py.conftest import run_dbt

KNOWN = ["^/", r"^\d{4}-\d{2}-\d{2}$", r"^it's [a-z]+\.$", r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"]
ADDED_LATER = r"^[A-Z]{3}$"  # not in the relation when the macro was compiled
CASES = [
    ("path_ok", "/pricing", "^/"),
    ("path_bad", "pricing", "^/"),
    ("date_ok", "2026-11-30", KNOWN[1]),
    ("date_bad", "2026-11-30T10:00", KNOWN[1]),
    ("quote_ok", "it's fine.", KNOWN[2]),
    ("quote_bad", "it is fine.", KNOWN[2]),
    ("email_ok", " ana@example.com ", KNOWN[3]),
    ("email_bad", "ana@@example", KNOWN[3]),
    ("later_ok", "EUR", ADDED_LATER),
    ("later_bad", "eur", ADDED_LATER),
    ("null_value", None, "^/"),
    ("null_pattern", "/x", None),
]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("known_patterns")
    db_path = work / "lawn.duckdb"
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("create table main.plan_patterns (pattern varchar)")
        connection.executemany("insert into main.plan_patterns values (?)", [[p] for p in [*KNOWN, None]])
    sql = (
        "{% set plan = api.Relation.create(database=target.database, schema='main', "
        "identifier='plan_patterns') %}"
        "select case_id, {{ regexp_like_known_patterns('value_text', 'pattern', plan) }} as fast, "
        "{{ regexp_like('value_text', 'pattern') }} as per_row from cases"
    )
    result = run_dbt(["compile", "--quiet", "--inline", sql], db_path, work)
    return result.stdout.strip()


def test_each_known_pattern_is_a_literal_branch(compiled):
    branches = re.findall(r"when pattern = ('(?:[^']|'')*')", compiled)
    assert sorted(b[1:-1].replace("''", "'") for b in branches) == sorted(KNOWN)
    assert ADDED_LATER not in compiled  # it can only be judged by the fallback
    assert compiled.count("regexp_matches(value_text, pattern)") == 2  # fallback + per-row column


def test_verdicts_equal_the_per_row_check_and_python(compiled):
    with duckdb.connect() as connection:
        connection.execute("create table cases (case_id varchar, value_text varchar, pattern varchar)")
        connection.executemany("insert into cases values (?, ?, ?)", CASES)
        verdicts = {row[0]: row[1:] for row in connection.execute(compiled).fetchall()}
    for case_id, value, pattern in CASES:
        fast, per_row = verdicts[case_id]
        expected = None if value is None or pattern is None else re.search(pattern, value) is not None
        assert fast == per_row == expected, (case_id, fast, per_row, expected)
    assert [case for case, (fast, _) in verdicts.items() if fast is False] == [
        "path_bad", "date_bad", "quote_bad", "email_bad", "later_bad",
    ]  # fmt: skip


def test_without_the_relation_only_the_per_row_check_is_written(tmp_path):
    """compile/docs on a warehouse not built yet (and a unit test) get the plain check, which
    must still be valid SQL (a CASE with no branch is not)."""
    sql = (
        "{% set plan = api.Relation.create(database=target.database, schema='main', "
        "identifier='no_such_table') %}"
        "select {{ regexp_like_known_patterns('value_text', 'pattern', plan) }} as fast from rows_in"
    )
    compiled = run_dbt(["compile", "--quiet", "--inline", sql], tmp_path / "lawn.duckdb", tmp_path).stdout
    assert "case" not in compiled.lower()
    with duckdb.connect() as connection:
        connection.execute("create table rows_in (value_text varchar, pattern varchar)")
        connection.execute("insert into rows_in values ('/a', '^/'), ('a', '^/')")
        assert [row[0] for row in connection.execute(compiled.strip()).fetchall()] == [True, False]
