"""ordered_text_list (macros/portability/ordered_text_list.sql) gives the same text on
DuckDB, PostgreSQL and Spark as Python's sort of hand-written groups: ordered by the text
itself (match profiles' day and device lists) and by keys (validation's severity, then
code). `dbt.listagg` dropped its ORDER BY on Spark, so arrival order decided there.

The groups hold what a list meets in practice: nulls among the texts, a group of nulls only,
a single item, repeated items, mixed case and an underscore (a locale collation sorts `B`
after `a` and skips `_`; bytewise, as Python compares code points, they do not), accents,
an empty text, tied keys and null keys. Rows arrive in an order unlike the sorted one.

PostgreSQL and Spark follow the suite's rules: skipped locally without them, failing in CI."""

from __future__ import annotations

import duckdb
import pytest

from lawn import dbt_runner
from tests_py.scratch_dbt import render_expressions
from tests_py.test_portable_macros import _postgres_rows

# (group, text, key): the key is an integer rank, as validation's severity
ROWS = [
    ("mixed", "b", 2),
    ("mixed", "B", 1),
    ("mixed", "a_c", 2),
    ("mixed", None, 1),
    ("mixed", "ab", 2),
    ("mixed", "É", None),
    ("mixed", "e", 1),
    ("mixed", "", 3),
    ("mixed", "Z", None),
    ("nulls", None, 1),
    ("nulls", None, None),
    ("single", "2026-07-29", 1),
    ("repeated", "d41d", 1),
    ("repeated", "0a9f", 2),
    ("repeated", "d41d", 1),
    ("repeated", "0a9f", 1),
    ("dates", "2026-07-30", 1),
    ("dates", "2026-07-03", 1),
    ("dates", "2025-12-31", 1),
]
FORMS = {"duckdb": "duckdb__", "postgres": "postgres__", "spark": "spark__"}


def _expected() -> dict[str, tuple[str | None, str | None]]:
    """Per group: the texts by themselves, and by (key nulls last, text); None when none."""
    out = {}
    for group in dict.fromkeys(g for g, _, _ in ROWS):
        items = [(text, key) for g, text, key in ROWS if g == group and text is not None]
        by_text = sorted(text for text, _ in items)
        by_key = [text for text, _ in sorted(items, key=lambda i: (i[1] is None, i[1] or 0, i[0]))]
        out[group] = ("|".join(by_text) if items else None, "|".join(by_key) if items else None)
    return out


def test_the_expectation_is_bytewise_and_keyed():
    expected = _expected()
    # uppercase before lowercase, '_' between 'Z' and 'a' ('a_c' before 'ab'), accents last,
    # the empty text first
    assert expected["mixed"][0] == "|B|Z|a_c|ab|b|e|É"
    # severity 1, then 2, then 3, then the null keys (by text)
    assert expected["mixed"][1] == "B|e|a_c|ab|b||Z|É"
    assert expected["nulls"] == (None, None)
    assert expected["repeated"] == ("0a9f|0a9f|d41d|d41d", "0a9f|d41d|d41d|0a9f")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    """Each engine's two forms over columns (x, k), as dbt renders them (one compile)."""
    work = tmp_path_factory.mktemp("ordered_text_list")
    parts = []
    for engine, prefix in FORMS.items():
        parts.append(f"""{{{{ {prefix}ordered_text_list('x', "'|'", none) }}}} as {engine}_by_text""")
        parts.append(f"""{{{{ {prefix}ordered_text_list('x', "'|'", ['k', 'x']) }}}} as {engine}_by_key""")
    expressions = render_expressions(parts, work)
    assert set(expressions) == {f"{e}_{f}" for e in FORMS for f in ("by_text", "by_key")}
    return expressions


def _select(rendered: dict[str, str], engine: str, table: str) -> str:
    return (
        f"select g, {rendered[engine + '_by_text']} as by_text, {rendered[engine + '_by_key']} as by_key "
        f"from {table} group by g"
    )


def _check(rows: list[tuple]) -> None:
    got = {g: (by_text, by_key) for g, by_text, by_key in rows}
    assert got == _expected()


def test_duckdb_lists_as_python_sorts(rendered):
    # the text-ordered form is the sorted list, not the ordered aggregate
    assert "list_sort" in rendered["duckdb_by_text"] and "list_sort" not in rendered["duckdb_by_key"]
    with duckdb.connect() as con:
        con.execute("create table t (g varchar, x varchar, k integer)")
        con.executemany("insert into t values (?, ?, ?)", ROWS)
        _check(con.execute(_select(rendered, "duckdb", "t")).fetchall())


def test_the_sorted_list_equals_duckdbs_ordered_aggregate(rendered):
    """The replaced form, string_agg(x order by x), gives the same text as the sorted list."""
    with duckdb.connect() as con:
        con.execute("create table t (g varchar, x varchar, k integer)")
        con.executemany("insert into t values (?, ?, ?)", ROWS)
        rows = con.execute(
            f"select g, string_agg(x, '|' order by x), {rendered['duckdb_by_text']} from t group by g"
        ).fetchall()
    assert [(g, old) for g, old, _ in rows] == [(g, new) for g, _, new in rows]


def test_postgres_lists_as_python_sorts(rendered, pg_env):
    # a database locale other than C must not change the order of the texts themselves
    assert 'collate "C"' in rendered["postgres_by_text"]
    _check(_postgres_rows(pg_env, "t (g text, x text, k integer)", ROWS, _select(rendered, "postgres", "t")))


def test_spark_lists_as_python_sorts(rendered, spark):
    # many partitions, so arrival order is not the rows' order
    frame = spark.createDataFrame(ROWS, "g string, x string, k int").repartition(7)
    frame.createOrReplaceTempView("t")
    _check([tuple(row) for row in spark.sql(_select(rendered, "spark", "t")).collect()])


def test_an_order_given_as_text_is_refused(tmp_path):
    done = dbt_runner.run_dbt(
        ["compile", "--inline", """select {{ ordered_text_list('x', "'|'", 'x') }}"""],
        tmp_path / "w.duckdb",
        target_path=tmp_path / "target",
        log_path=tmp_path / "logs",
    )
    assert done.returncode != 0
    assert "ordered_text_list: order_by must be a non-empty list of SQL expressions" in done.stdout
