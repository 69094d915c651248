"""Grants in force and their diff between two times, from the rows of PostgreSQL's
``audit.grant_log`` (macros/governance/apply_governance_grants.sql writes them at every dbt
run on PostgreSQL; DuckDB has no roles and no grant log).

The grants in force at time T, from the rows logged before T: for each table, the table and
column grants of the latest run that built it (its latest ``built`` row: after a partial
run, an object not rebuilt keeps the grants of the run that last built it); for schemas, the
USAGE rows of the latest run that logged schema rows (every run logs them all). The same
rule tests_py/test_postgres.py checks against the server's privileges."""

from __future__ import annotations

import datetime as dt

import pandas as pd

GRANT_KEY = ["object_type", "object_schema", "object_name", "object_column", "privilege", "grantee"]
LOG_COLUMNS = ["invocation_id", "granted_at", *GRANT_KEY]


class GrantLogError(ValueError):
    """The grant log cannot be used (one line)."""


def _normalised(log: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in LOG_COLUMNS if c not in log.columns]
    if missing:
        raise GrantLogError(f"audit.grant_log rows lack column(s) {', '.join(missing)}")
    frame = log[LOG_COLUMNS].copy()
    for column in GRANT_KEY:
        frame[column] = frame[column].fillna("").astype(str)
    frame["granted_at"] = pd.to_datetime(frame["granted_at"])
    return frame


def in_force(log: pd.DataFrame, at: dt.datetime) -> pd.DataFrame:
    """The grants in force at ``at`` (rows logged strictly before it), one row per grant."""
    frame = _normalised(log)
    frame = frame[frame["granted_at"] < pd.Timestamp(at)]
    built = frame[frame["object_type"] == "built"].sort_values(["granted_at", "invocation_id"])
    latest_build = built.groupby(["object_schema", "object_name"], as_index=False).last()[
        ["object_schema", "object_name", "invocation_id"]
    ]
    objects = frame[frame["object_type"].isin(["table", "column"])].merge(
        latest_build, on=["object_schema", "object_name", "invocation_id"], how="inner"
    )
    schema_rows = frame[frame["object_type"] == "schema"].sort_values(["granted_at", "invocation_id"])
    if len(schema_rows):
        latest_run = schema_rows["invocation_id"].iloc[-1]
        schema_rows = schema_rows[schema_rows["invocation_id"] == latest_run]
    found = pd.concat([objects[GRANT_KEY], schema_rows[GRANT_KEY]]).drop_duplicates()
    return found.sort_values(GRANT_KEY).reset_index(drop=True)


def diff(log: pd.DataFrame, before: dt.datetime, after: dt.datetime) -> pd.DataFrame:
    """change (granted / revoked) + the grant, for grants in force at ``after`` and not at
    ``before`` or the reverse."""
    old = set(map(tuple, in_force(log, before)[GRANT_KEY].to_numpy()))
    new = set(map(tuple, in_force(log, after)[GRANT_KEY].to_numpy()))
    rows = [("granted", *grant) for grant in new - old] + [("revoked", *grant) for grant in old - new]
    frame = pd.DataFrame(rows, columns=["change", *GRANT_KEY])
    return frame.sort_values(
        ["object_schema", "object_name", "object_column", "grantee", "change"]
    ).reset_index(drop=True)


def quarter_bounds(start: dt.date, as_of: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The quarter's grants diff compares the end of day ``start`` (what the previous
    quarter's report saw: operational records of data day D are dated D + 1) with the end of
    day ``as_of + 1``."""
    return (
        dt.datetime.combine(start + dt.timedelta(days=1), dt.time()),
        dt.datetime.combine(as_of + dt.timedelta(days=2), dt.time()),
    )


def read_grant_log(connection) -> pd.DataFrame:
    """Every row of audit.grant_log from a PostgreSQL connection (psycopg2)."""
    with connection.cursor() as cursor:
        cursor.execute(f"select {', '.join(LOG_COLUMNS)} from audit.grant_log")
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=LOG_COLUMNS)
