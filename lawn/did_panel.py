"""A `lawn did` panel as an analyst's export writes it -> the clean unit x period frame the
estimators take (``prepare_panel``).

Cells: text is trimmed (``"a1 "`` is unit ``a1``); the 0/1 columns also read ``true/false``,
``yes/no``, ``y/n``, ``t/f`` in any case; a row missing a value it needs is left out and
counted in a warning (a blank line is skipped silently). Missing is an empty cell; in the
outcome and the 0/1 columns also a word in ``MISSING_WORDS`` (``NA``, ``N/A``, ``#N/A``,
``NULL``, ``None``, ``NaN``, any case: what spreadsheets, R and databases write for a missing
number). The unit and period columns are text: there only an empty cell is missing, so
Namibia's ``NA`` (or a unit called ``None``) is a unit like any other. A file read with ``;`` as the
separator (a European spreadsheet export) may write its outcome with a decimal comma
(``12,5``). Anything else that is not a finite number, a flag that is not 0/1, or two rows for
one unit in one period (however the period is spelled) is refused with one line naming the
file, line and column. The reader (``lawn.did_run.read_panel``) records where rows came from
in ``frame.attrs``: ``source`` (the file or table) and ``first_line`` (the CSV line of row 0).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from lawn.did_errors import PanelError
from lawn.did_periods import period_order

TRUE_WORDS = frozenset({"1", "1.0", "true", "t", "yes", "y"})
FALSE_WORDS = frozenset({"0", "0.0", "false", "f", "no", "n"})
# words that mean "no value" in a numeric or 0/1 column (compared trimmed, in any case);
# never in the unit or period column, where they are labels
MISSING_WORDS = frozenset({"na", "n/a", "#n/a", "#n/a n/a", "#na", "null", "none", "nan", "-nan", "<na>"})
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+(,\d+)?$")
_GROUPED = re.compile(r"^[+-]?[\d.,' \u00a0]*\d[\d.,' \u00a0]*$")


def label(value: object) -> object:
    """A period (or unit) label as plain JSON: ints stay ints, dates become ISO strings."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def where_row(panel: pd.DataFrame, row: int) -> str:
    """Where input row ``row`` of a prepared panel came from (its CSV line, or row number)."""
    return _where(panel.attrs, row)


def _where(attrs: dict, row: int) -> str:
    """Where row ``row`` (0-based) of the input came from: a CSV line, else a row number."""
    source = attrs.get("source")
    first_line = attrs.get("first_line")
    if first_line is not None:
        return f"line {row + first_line} of {source}"
    return f"row {row + 1}" + (f" of {source}" if source else "")


def _trimmed(values: pd.Series) -> pd.Series:
    """Text trimmed, empty text missing; other values unchanged (vectorized for text columns)."""
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "string":
        trimmed = values.str.strip()
    elif kind.startswith("mixed"):  # e.g. True/False with text: trim the text only
        trimmed = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    else:
        return values
    return trimmed.mask(trimmed == "")


def _missing_words(values: pd.Series) -> pd.Series:
    """``MISSING_WORDS`` (already trimmed text, any case) as missing; other values unchanged."""
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values
    words = {v for v in pd.unique(values.dropna()) if isinstance(v, str) and v.lower() in MISSING_WORDS}
    return values.mask(values.isin(words)) if words else values


def _numbers(panel: pd.DataFrame, column: str, attrs: dict) -> pd.Series:
    """The outcome as floats; PanelError naming the first cell that is not a finite number."""
    values = panel["y"]
    if pd.api.types.is_bool_dtype(values):
        raise PanelError(f"{column} is true/false: the outcome must be a number")
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
    else:
        text = values.astype(str)
        numbers = pd.to_numeric(text, errors="coerce")
        # every cell a decimal comma number (bool: a None match counted as "all" before, and
        # `1.234,5` became pandas' own error naming no line)
        commas = text.map(lambda value: _DECIMAL_COMMA.match(value) is not None)
        if attrs.get("decimal_comma") and numbers.isna().any() and commas.all():
            numbers = pd.to_numeric(text.str.replace(",", ".", regex=False))
        if numbers.isna().any():
            at = int(np.flatnonzero(numbers.isna().to_numpy())[0])
            value = text.iloc[at]
            hint = (
                ": write numbers without thousands separators and with a '.' decimal point"
                if _GROUPED.match(value)
                else ""
            )
            raise PanelError(
                f"{column} is not a number at {_where(attrs, int(panel['row'].iloc[at]))}: {value!r}{hint}"
            )
    finite = np.isfinite(numbers.to_numpy(dtype=float))
    if not finite.all():
        at = int(np.flatnonzero(~finite)[0])
        where = _where(attrs, int(panel["row"].iloc[at]))
        raise PanelError(f"{column} is not finite at {where}: {label(values.iloc[at])!r}")
    return numbers.astype(float)


def _flag(value: object) -> float:
    """0/1 from a number, a bool or a word (true/false, yes/no, y/n, t/f); NaN if none."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value) if value in (0, 1) else math.nan
    word = str(value).strip().lower()
    return 1.0 if word in TRUE_WORDS else 0.0 if word in FALSE_WORDS else math.nan


def _flags(panel: pd.DataFrame, role: str, column: str, attrs: dict) -> pd.Series:
    values = panel[role]
    if pd.api.types.is_bool_dtype(values):
        return values.astype(int)
    if pd.api.types.is_numeric_dtype(values):
        flags = values.where(values.isin([0, 1]))
    else:  # words: decide once per distinct value
        flags = values.map({value: _flag(value) for value in pd.unique(values)})
    if flags.isna().any():
        at = int(np.flatnonzero(flags.isna().to_numpy())[0])
        raise PanelError(
            f"{column} (--{role}) must be 0/1 (or true/false, yes/no); got {label(panel[role].iloc[at])!r} "
            f"at {_where(attrs, int(panel['row'].iloc[at]))}"
        )
    return flags.astype(int)


def _drop_missing(panel: pd.DataFrame, names: dict[str, str], attrs: dict) -> tuple[pd.DataFrame, list[str]]:
    """Rows without every needed value left out: blank lines silently, others in a warning."""
    used = list(names)
    missing = panel[used].isna()
    blank = missing.all(axis=1)
    partial = missing.any(axis=1) & ~blank
    warnings = []
    if partial.any():
        counts = ", ".join(f"{names[c]}: {int(n)}" for c, n in missing[partial].sum().items() if n)
        first = _where(attrs, int(panel.loc[partial, "row"].iloc[0]))
        warnings.append(
            f"{int(partial.sum())} row(s) left out for a missing value ({counts}); the first at {first}"
        )
    return panel[~missing.any(axis=1)].reset_index(drop=True), warnings


def prepare_panel(
    frame: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    roles: dict[str, str],
    time_order: str | None = None,
) -> pd.DataFrame:
    """Columns unit, time (original labels, trimmed), y and one column per role (e.g. treat,
    or group and post; one input column may serve several roles), plus ``period``: 0, 1, ...
    in time order (``lawn.did_periods.period_order``) and ``row`` (0-based input row). Rows
    missing a value are left out; ``panel.attrs["warnings"]`` says how many."""
    needed = [unit, time, outcome, *roles.values(), *([time_order] if time_order else [])]
    missing = sorted({column for column in needed if column not in frame.columns})
    if missing:
        raise PanelError(f"column(s) {missing} not in the panel; it has {list(frame.columns)}")
    attrs = dict(frame.attrs)
    names = {"unit": unit, "time": time, "y": outcome, **roles}
    panel = pd.DataFrame({"unit": frame[unit].to_numpy(), "time": frame[time].to_numpy(),
                          "y": frame[outcome].to_numpy()})  # fmt: skip
    for role, column in roles.items():
        panel[role] = frame[column].to_numpy()
    if time_order:
        panel["order"] = frame[time_order].to_numpy()
        names["order"] = time_order
    for column in names:
        panel[column] = _trimmed(panel[column])
    for column in ("y", *roles):  # numbers and 0/1 flags; unit and period labels are text
        panel[column] = _missing_words(panel[column])
    panel["row"] = np.arange(len(panel))
    panel, warnings = _drop_missing(panel, names, attrs)
    if panel.empty:
        raise PanelError("no row has all of unit, time, outcome and the design columns")
    panel["y"] = _numbers(panel, outcome, attrs)
    for role, column in roles.items():
        panel[role] = _flags(panel, role, column, attrs)
    keys = period_order(panel["time"], time, panel["order"] if time_order else None)
    if time_order:
        _one_label_per_position(panel.assign(order=keys.to_numpy()), time, time_order)
    ordered = np.sort(pd.unique(keys))
    panel["period"] = np.searchsorted(ordered, keys.to_numpy())
    twice = panel.duplicated(["unit", "period"], keep=False)
    if twice.any():
        first = panel[twice].iloc[0]
        same = panel[twice & (panel["unit"] == first["unit"]) & (panel["period"] == first["period"])]
        where = " and ".join(_where(attrs, int(row)) for row in same["row"].iloc[:2])
        raise PanelError(
            f"more than one row for unit {label(first['unit'])!r} at {time} = {label(first['time'])!r} "
            f"({where}): one row per unit and period"
        )
    # (one column as both group and post: the estimator's collinearity message says it better)
    if "group" in roles and roles.get("group") != roles.get("post"):
        for role, by in (("group", "unit"), ("post", "period")):
            _constant_within(panel, role, by, roles[role], attrs)
    panel.attrs = {**{k: attrs[k] for k in ("source", "first_line") if k in attrs}, "warnings": warnings}
    return panel


def _one_label_per_position(panel: pd.DataFrame, time: str, time_order: str) -> None:
    """Two period labels at one --time-order position are refused by name (it read as two rows
    of a unit in one period)."""
    labels = panel.drop_duplicates(["order", "time"])
    shared = labels[labels.duplicated("order", keep=False)]
    if not shared.empty:
        position = shared["order"].iloc[0]
        names = shared.loc[shared["order"] == position, "time"].iloc[:2]
        raise PanelError(
            f"periods {label(names.iloc[0])!r} and {label(names.iloc[1])!r} of {time} share the "
            f"{time_order} position {label(position)!r}: one position per period"
        )


def _constant_within(panel: pd.DataFrame, role: str, by: str, column: str, attrs: dict) -> None:
    """A 2x2's group is one value per unit, its post one value per period: a design column
    that changes within one was estimated without a word (a probe)."""
    varying = panel.groupby(by)[role].transform("nunique") > 1
    if varying.any():
        first = panel[varying].iloc[0]
        rows = panel[varying & (panel[by] == first[by])]
        where = " and ".join(_where(attrs, int(row)) for row in rows.drop_duplicates(role)["row"].iloc[:2])
        what = f"unit {label(first['unit'])!r}" if by == "unit" else f"period {label(first['time'])!r}"
        raise PanelError(
            f"{column} (--{role}) must be one value per {by} in a 2x2; {what} has both 0 and 1 ({where})"
        )


def period_labels(panel: pd.DataFrame) -> dict[int, object]:
    """period index -> its original label (plain JSON value)."""
    firsts = panel.drop_duplicates("period").set_index("period")["time"]
    return {int(p): label(v) for p, v in firsts.items()}
