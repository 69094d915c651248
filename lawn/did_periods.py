"""Period labels of a `lawn did` panel -> a sortable key, as an analyst's export writes them.

Accepted (every label of the column in the same form): numbers; dates; integers or ISO dates
(``2024-01``, ``2024-01-31``) as text; quarters ``YYYYQn``, ``YYYY-Qn``, ``YYYY Qn``,
``Qn YYYY``, ``QnYYYY``; ISO weeks ``2024-W05``, ``2024W05``, ``2024 W5``, ``W05 2024``; and
the spreadsheet spellings in ``DATE_FORMATS`` (``1/31/2024``, ``31.01.2024``, ``Jan 2024``,
``01-Jan-24``, ...). A column that reads in more than one of those spellings with different
orders (``01/02/2024``: January 2nd or February 1st?) is refused, not guessed. Weeks or months
without a year are refused too: they cannot be ordered across a year end.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from lawn.did_errors import PanelError

_YEAR_Q = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]([1-4])\s*$")
_Q_YEAR = re.compile(r"^\s*[Qq]([1-4])\s*[-/ ]?\s*(\d{4})\s*$")
_YEAR_W = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Ww](?:[Kk]|eek)?\s*(\d{1,2})\s*$")
_W_YEAR = re.compile(r"^\s*[Ww](?:[Kk]|eek)?\s*(\d{1,2})\s*[-/ ,]?\s*(\d{4})\s*$")
_INT = re.compile(r"^\s*[+-]?\d+\s*$")

# spreadsheet date spellings tried when the labels are not ISO; day-first and month-first
# both appear: a column both read with different orders is refused
DATE_FORMATS = (
    "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y", "%Y/%m/%d",
    "%Y/%m", "%m/%Y", "%m.%Y", "%b %Y", "%B %Y", "%b-%Y", "%B-%Y", "%b-%y", "%b %y", "%Y-%b",
    "%Y %b", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d, %Y", "%B %d, %Y",
)  # fmt: skip


def _quarter_key(label: str) -> int | None:
    match = _YEAR_Q.match(label)
    if match:
        return int(match.group(1)) * 4 + int(match.group(2)) - 1
    match = _Q_YEAR.match(label)
    if match:
        return int(match.group(2)) * 4 + int(match.group(1)) - 1
    return None


def _week_key(label: str) -> int | None:
    """Days since 0001-01-01 of the ISO week's Monday; None if not an ISO week label."""
    match = _YEAR_W.match(label)
    year, week = (match.group(1), match.group(2)) if match else (None, None)
    if match is None:
        match = _W_YEAR.match(label)
        if match is None:
            return None
        week, year = match.group(1), match.group(2)
    try:
        return dt.date.fromisocalendar(int(year), int(week), 1).toordinal()
    except ValueError:  # week 0, 54, or 53 in a 52-week year
        return None


def _spreadsheet_dates(text: pd.Series, name: str) -> pd.Series | None:
    """The labels read with the one spreadsheet format that reads them all (or with several
    that agree on the order); None if none does; PanelError if readings disagree."""
    readings: dict[str, pd.Series] = {}
    for spelling in DATE_FORMATS:
        dates = pd.to_datetime(text, format=spelling, errors="coerce")
        if dates.notna().all():
            readings[spelling] = dates
    if not readings:
        return None
    first_format, first = next(iter(readings.items()))
    for spelling, dates in readings.items():
        if not first.rank(method="dense").equals(dates.rank(method="dense")):
            example = text[first.rank(method="dense") != dates.rank(method="dense")].iloc[0]
            raise PanelError(
                f"the periods of {name} read both as {first_format} and as {spelling} (e.g. "
                f"{example!r}), which order them differently: write ISO dates (YYYY-MM-DD) or give "
                "--time-order COLUMN"
            )
    return first


def _label_keys(text: pd.Series, name: str) -> pd.Series | None:
    """Sortable keys of distinct text labels, or None if no accepted form reads them all."""
    if text.map(lambda s: bool(_INT.match(s))).all():
        return text.astype(int)
    for parse in (_quarter_key, _week_key):
        keys = text.map(parse)
        if keys.notna().all():
            return keys.astype(int)
    dates = pd.to_datetime(text, errors="coerce", format="ISO8601")
    if dates.notna().all():
        return dates
    return _spreadsheet_dates(text, name)


def period_order(times: pd.Series, name: str, order: pd.Series | None = None) -> pd.Series:
    """A sortable key for every period label: the ``order`` column if given (one value per
    label), else one of the forms in the module doc. Raises PanelError naming an unreadable
    label."""
    if order is not None:
        keys = pd.to_numeric(order, errors="coerce")
        if keys.isna().any():
            raise PanelError(f"--time-order must be numeric; got {order[keys.isna()].iloc[0]!r}")
        per_label = pd.DataFrame({"t": times.astype(str), "k": keys}).groupby("t")["k"].nunique()
        if (per_label > 1).any():
            raise PanelError(
                f"--time-order gives period {per_label[per_label > 1].index[0]!r} more than one position"
            )
        return keys.astype(float)
    if pd.api.types.is_bool_dtype(times):
        raise PanelError(f"{name} is boolean: it cannot order periods")
    if pd.api.types.is_numeric_dtype(times) or pd.api.types.is_datetime64_any_dtype(times):
        return times
    labels = times.astype(str).str.strip()
    text = pd.Series(pd.unique(labels))  # parse each distinct label once
    keys = _label_keys(text, name)
    if keys is not None:
        return labels.map(pd.Series(keys.to_numpy(), index=text.to_numpy()))
    dates = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = text[dates.isna() & text.map(_quarter_key).isna() & text.map(_week_key).isna()].iloc[0]
    raise PanelError(
        f"cannot order the periods of {name}: {bad!r} is not a number, a date (ISO, 1/31/2024, "
        "31.01.2024, Jan 2024, ...), a quarter (2024Q1, Q1 2024) or an ISO week with its year "
        "(2024-W05); give --time-order COLUMN with a numeric position for each period"
    )
