"""The report's data day (as-of date), the period each cadence covers and when it is due."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

CADENCES = ("daily", "weekly", "monthly", "quarterly")
# the period a cadence's report covers ends on the as-of date and starts this long before
PERIODS = {
    "daily": pd.DateOffset(days=1),
    "weekly": pd.DateOffset(days=7),
    "monthly": pd.DateOffset(months=1),
    "quarterly": pd.DateOffset(months=3),
}


class ReportInputError(ValueError):
    """Bad input to a report (cadence, date, warehouse): the message is one line."""


def default_as_of(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The data day a report defaults to: the newest feature day, as the nightly's data day.
    The one place to swap for lawn/data_day.py's ``data_day(con)`` when it lands."""
    try:
        value = con.execute("select max(feature_date) from marts.fct_account_features_daily").fetchall()[0][0]
    except duckdb.CatalogException as exc:
        raise ReportInputError(
            "the warehouse has no marts.fct_account_features_daily: run a build first"
        ) from exc
    if value is None:
        raise ReportInputError(
            "the warehouse has no data day yet (marts.fct_account_features_daily is empty)"
        )
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def parse_cadence(text: str) -> str:
    if text not in CADENCES:
        raise ReportInputError(f"--cadence must be one of {', '.join(CADENCES)}; got {text!r}")
    return text


def parse_as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ReportInputError(f"--as-of must be a date YYYY-MM-DD; got {text!r}") from None


def period_start(cadence: str, as_of: dt.date) -> dt.date:
    """First day of the period a cadence covers (the period ends on ``as_of``, inclusive)."""
    return (pd.Timestamp(as_of) - PERIODS[cadence] + pd.Timedelta(days=1)).date()


def due_cadences(data_day: dt.date) -> list[str]:
    """What a nightly run on this data day writes: daily always, weekly on Mondays, monthly on
    the 1st, quarterly on the first day of a quarter (January, April, July, October)."""
    due = ["daily"]
    if data_day.weekday() == 0:
        due.append("weekly")
    if data_day.day == 1:
        due.append("monthly")
        if data_day.month in (1, 4, 7, 10):
            due.append("quarterly")
    return due
