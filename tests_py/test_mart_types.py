"""Column types of the public marts that travel across engines and into pandas.

A DuckDB `sum` of integers is a HUGEINT (int128): PostgreSQL and Spark have no such type
(their sum of integers is a bigint), and pandas reads it as a float, so a count printed in the
nightly report read `2.000` on DuckDB and `2` on PostgreSQL (a probe, 2026-12-08:
`fct_bandit_readout.holdout_units`). Every count a mart shows is a BIGINT."""

from __future__ import annotations

import duckdb


def test_no_public_column_is_a_hugeint(built_small):
    with duckdb.connect(str(built_small), read_only=True) as con:
        found = con.execute(
            "select table_schema || '.' || table_name || '.' || column_name from information_schema.columns "
            "where data_type = 'HUGEINT' and table_schema in ('marts', 'pii', 'ml', 'ops', 'audit') "
            "order by 1"
        ).fetchall()
        checked = con.execute(
            "select count(*) from information_schema.columns where table_schema = 'marts'"
        ).fetchone()[0]
    assert checked > 500  # the marts were built
    assert [name for (name,) in found] == []
