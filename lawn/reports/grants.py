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


# the server's direct grants (ACLs), whoever granted them, to any role but the object's owner
# and transformer (which builds everything): what a hand-made GRANT adds shows up here
_LIVE_GRANTS = """
select 'table', n.nspname, c.relname, '', a.privilege_type, coalesce(r.rolname, 'PUBLIC')
from pg_class as c
join pg_namespace as n on n.oid = c.relnamespace
cross join lateral aclexplode(c.relacl) as a
left join pg_roles as r on r.oid = a.grantee
where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'v', 'm', 'p', 'f')
    and a.grantee <> c.relowner and coalesce(r.rolname, 'PUBLIC') <> 'transformer'
union all
select 'column', n.nspname, c.relname, att.attname, a.privilege_type, coalesce(r.rolname, 'PUBLIC')
from pg_attribute as att
join pg_class as c on c.oid = att.attrelid
join pg_namespace as n on n.oid = c.relnamespace
cross join lateral aclexplode(att.attacl) as a
left join pg_roles as r on r.oid = a.grantee
where n.nspname = any(%(schemas)s) and att.attnum > 0 and not att.attisdropped
    and a.grantee <> c.relowner and coalesce(r.rolname, 'PUBLIC') <> 'transformer'
union all
select 'schema', n.nspname, '', '', a.privilege_type, coalesce(r.rolname, 'PUBLIC')
from pg_namespace as n
cross join lateral aclexplode(n.nspacl) as a
left join pg_roles as r on r.oid = a.grantee
where n.nspname = any(%(schemas)s) and a.privilege_type = 'USAGE'
    and a.grantee <> n.nspowner and coalesce(r.rolname, 'PUBLIC') <> 'transformer'
"""


def live_grants(connection, schemas: list[str]) -> pd.DataFrame:
    """The server's grants now on the objects and schemas of ``schemas`` (psycopg2)."""
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_GRANTS, {"schemas": list(schemas)})
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=GRANT_KEY)


def drift(log: pd.DataFrame, live: pd.DataFrame, at: dt.datetime) -> pd.DataFrame:
    """change ``on server`` (a grant the server holds that the log's grants in force at ``at``
    lack: made by hand) or ``missing`` (logged in force, not on the server: dropped by hand)."""
    logged = set(map(tuple, in_force(log, at)[GRANT_KEY].to_numpy()))
    held = set(map(tuple, live[GRANT_KEY].fillna("").astype(str).to_numpy()))
    rows = [("on server", *grant) for grant in held - logged] + [
        ("missing", *grant) for grant in logged - held
    ]
    frame = pd.DataFrame(rows, columns=["change", *GRANT_KEY])
    return frame.sort_values(["object_schema", "object_name", "object_column", "grantee"]).reset_index(
        drop=True
    )


def logged_schemas(log: pd.DataFrame) -> list[str]:
    """The schemas the grant log covers (every schema dbt builds on PostgreSQL)."""
    return sorted({str(s) for s in log["object_schema"].dropna() if str(s)})
