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
    """The data day a report defaults to: the build's data day (lawn/data_day.py)."""
    from lawn.data_day import DataDayError, data_day

    try:
        return data_day(con)
    except DataDayError as exc:
        raise ReportInputError(str(exc)) from exc


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
    """First day of the period a cadence covers (the period ends on ``as_of``, inclusive): the
    day after ``as_of``, one period back. On a month's last day that is the calendar month
    (or quarter): 04-30 gives 04-01, where going back from ``as_of`` gave 03-31."""
    return (pd.Timestamp(as_of) + pd.Timedelta(days=1) - PERIODS[cadence]).date()


def due_cadences(data_day: dt.date) -> list[str]:
    """What a nightly run on this data day writes: daily always; weekly on Sundays, monthly on
    a month's last day and quarterly on a quarter's last day (March, June, September,
    December), so that each covers a calendar period: the ISO week Monday to Sunday, the month,
    the quarter (period_start). Before 2026-12-07 they were due on Mondays and on the 1st,
    and covered Tuesday to Monday and the 2nd of one month to the 1st of the next (a probe:
    the "monthly" report of April 1st was March 2 to April 1)."""
    due = ["daily"]
    if data_day.weekday() == 6:
        due.append("weekly")
    if (data_day + dt.timedelta(days=1)).day == 1:
        due.append("monthly")
        if data_day.month in (3, 6, 9, 12):
            due.append("quarterly")
    return due
