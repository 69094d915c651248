"""Stored feature rows that outlive the events they were computed from.

``marts.fct_account_features_daily`` is incremental (docs/incremental_features.md): a build
only computes the new days, and the days an account's creation day or the event lookback
changed. Deleting valid events (erasure, retention) changes what a full refresh would compute
for the accounts of those events on any day (activity windows, the latest NPS answer and
MRR, milestones, an events-only account's creation day). Before such a delete, the account's
stored feature rows go; the next build finds the account without a row on its newest kept
day and recomputes all of its days from the remaining events."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from lawn.warehouse import relation_exists

VALID_EVENTS = "intermediate.int_events_valid"
# int_events_valid is a view over this table's valid rows (docs/full_build_cost.md): a delete
# from it deletes valid events, so the features of their accounts go first
VALID_EVENTS_TABLE = "intermediate.int_events_validated"
# (schema, table): the rows are deleted, never read for analysis (no exposure needed)
ACCOUNT_FEATURE_TABLES = (("marts", "fct_account_features_daily"),)


def forget_account_features(
    con: duckdb.DuckDBPyConnection, event_match: str, params: Sequence[object] = ()
) -> dict[str, int]:
    """Delete the stored feature rows of every account that a valid event matching the SQL
    predicate ``event_match`` (on ``intermediate.int_events_valid``, with ``params``) belongs
    to. Call it before deleting those events (from ``VALID_EVENTS_TABLE``: the view holds no
    rows of its own). Returns rows deleted per table."""
    deleted: dict[str, int] = {}
    if not relation_exists(con, VALID_EVENTS):
        return deleted
    accounts = f"select account_id from {VALID_EVENTS} where account_id is not null and ({event_match})"
    for schema, name in ACCOUNT_FEATURE_TABLES:
        table = f"{schema}.{name}"
        if not relation_exists(con, table):
            continue
        gone = con.execute(
            f"delete from {table} where account_id in ({accounts}) returning account_id", list(params)
        ).fetchall()
        if gone:
            deleted[table] = len(gone)
    return deleted
