"""What a report reads: one read-only connection, the as-of date and the period start.
Every query gets ``$as_of`` (and ``$start``) and must filter its mart to data on or before
``$as_of``; events are also cut at their receipt (``received_at < $as_of + 1 day``) so that a
late delivery of an old day does not change a report already written. SLO evaluations
(``{slo_status}``) are those whose windows were complete by the end of the data as of that
day: a row dated ``$as_of`` measures outcomes that happen after it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from lawn.warehouse import table_exists

# the events a report may count: occurred and received on or before the as-of date
EVENTS_AS_OF = """(
    select * from marts.fct_events
    where occurred_date <= $as_of and received_at < cast($as_of as date) + interval 1 day
)"""

# the SLO evaluations a build as of that day has: the windows complete by its end of the data
# (int_data_day: the newest event time of the valid events received by then)
SLO_STATUS_AS_OF = f"""(
    select * from marts.fct_slo_status
    where complete_on_date <= (select max(occurred_date) from {EVENTS_AS_OF} as received)
)"""


@dataclass
class Reader:
    con: duckdb.DuckDBPyConnection
    as_of: dt.date
    start: dt.date
    model_store: Path
    manifest: Path
    folder: Path  # the report's dated folder (snapshots of what is not in the warehouse)
    engine: str = "duckdb"  # postgres: ``con`` is a mirror of the report relations (reports/mirror.py)

    def df(self, sql: str, **params: object) -> pd.DataFrame:
        sql = sql.replace("{events}", EVENTS_AS_OF).replace("{slo_status}", SLO_STATUS_AS_OF)
        names = {"as_of": self.as_of, "start": self.start, **params}
        used = {k: v for k, v in names.items() if f"${k}" in sql}
        return self.con.execute(sql, used).df()

    def has_table(self, schema: str, table: str) -> bool:
        return table_exists(self.con, schema, table)

    def days_before(self, days: int) -> dt.date:
        return self.as_of - dt.timedelta(days=days)
