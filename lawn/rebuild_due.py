"""A full rebuild owed to the event models after the raw events were landed again in full.

The event models are incremental on ``received_at``: a run reads only the raw rows of the
lookback window (docs/events.md). When a file landed before changed in place, went away (a
corrected export, a switched ``--raw-dir``) or the landed table was changed outside lawn, the
loader lands ``raw.raw_events`` again in full (lawn/raw_deliveries.py); the rows that changed are
mostly older than the window, so an incremental build would keep the old rows in every mart and
pass. The landing therefore records the debt here, in the same transaction as the rows, and the
next build of everything (`lawn build`, the nightly's build step, Dagster's build asset) runs
with ``--full-refresh`` and clears it only once it succeeded: a crash in between leaves the debt
for the re-run. An erasure also lands the table again, but is applied to every layer by
lawn/privacy.py, so it owes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from lawn.warehouse import relation_exists

TABLE = "ops.raw_rebuild_due"
COLUMNS = "reason varchar, noted_at timestamp"


def note(connection: duckdb.DuckDBPyConnection, reason: str) -> None:
    """Record that the event models owe a full rebuild (inside the landing's transaction)."""
    connection.execute("create schema if not exists ops")
    connection.execute(f"create table if not exists {TABLE} ({COLUMNS})")
    connection.execute(
        f"insert into {TABLE} values (?, ?)", [reason, dt.datetime.now(dt.UTC).replace(tzinfo=None)]
    )


def reasons(db_path: Path) -> list[str]:
    """Why a full rebuild is owed, oldest first ([] when none is, or no warehouse yet)."""
    if not Path(db_path).exists():
        return []
    with duckdb.connect(str(db_path)) as connection:
        if not relation_exists(connection, TABLE):
            return []
        rows = connection.execute(f"select reason from {TABLE} order by noted_at").fetchall()
    return [str(row[0]) for row in rows]


def clear(db_path: Path) -> None:
    """The owed rebuild was made: a build of every model with --full-refresh succeeded."""
    if not Path(db_path).exists():
        return
    with duckdb.connect(str(db_path)) as connection:
        if relation_exists(connection, TABLE):
            connection.execute(f"delete from {TABLE}")


def announcement(owed: list[str]) -> str:
    """The one line a build prints when it pays the debt."""
    return (
        f"note: {owed[-1]}; dbt rebuilds every model (--full-refresh) so that no mart keeps rows "
        "the raw files no longer hold (lawn/rebuild_due.py)"
    )
