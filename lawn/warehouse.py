"""Small shared helpers for reading and writing the DuckDB warehouse from Python."""

from __future__ import annotations

import duckdb

# the newest day of the feature mart: the data day a run works on
LATEST_DAY_SQL = "select max(feature_date) from marts.fct_account_features_daily"


class MissingTableError(ValueError):
    """A table Python writes to does not exist yet (no build has run)."""


def require_landing_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """The landing tables are created by the dbt on-run-start hook (create_landing_tables)."""
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0][0]
    if not found:
        raise MissingTableError(f"{schema}.{table} does not exist: run `lawn build` first (it creates it)")
