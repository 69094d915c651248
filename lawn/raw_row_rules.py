"""The raw-file gate's rules on a row's value beyond its form (lawn/validate_raw.py runs them
after Great Expectations has judged every value's form): a NUL character anywhere, a date the
calendar lacks, a value outside its set or interval, too large for the type staging reads it
as, an id a seed lacks, an end before its start, a list naming one id twice. Each is one SQL
predicate over the landed text, and the first bad row is named in one line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from lawn.contract import RawColumn, RawTable, catalog_ids


def _quoted(values: Iterable[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def _number(column: RawColumn, value: str) -> str:
    """SQL of ``value`` (trimmed text) as the number staging reads (a share's `5%` is 0.05)."""
    if column.kind != "share":
        return f"try_cast({value} as double)"
    return (
        f"case when right({value}, 1) = '%'"
        f" then try_cast(trim(left({value}, length({value}) - 1)) as double) / 100"
        f" else try_cast({value} as double) end"
    )


def _list_items(column: RawColumn, value: str) -> str:
    """SQL: the ids of a list column's value, as staging reads them (spaces removed, split on
    the separator, empty items ignored)."""
    return (
        f"[item for item in string_split(replace({value}, ' ', ''), {_quoted([column.separator or ''])})"
        " if item <> '']"
    )


def _row_rules(column: RawColumn) -> Iterator[tuple[str, str, str]]:
    """The row rules of ``column`` as (SQL true for a bad row, SQL of the offending value, the
    error's wording), in the order they are checked."""
    value = f"nullif(trim({column.name}), '')"
    if column.kind == "date" and column.parse_share == 1.0:
        bad = f"{value} is not null and try_cast(left({value}, 10) as date) is null"
        yield bad, value, "value(s) on a day the calendar lacks"
    if column.one_of:
        bad = f"lower({value}) not in ({_quoted(column.one_of)})"
        yield bad, value, "value(s) that are not " + " or ".join(column.one_of) + " (any letter case)"
    if column.open_interval is not None:
        low, high = column.open_interval
        number = _number(column, value)
        bad = f"not ({number} > {low!r} and {number} < {high!r})"
        yield bad, value, f"value(s) not strictly between {low:g} and {high:g}"
    if column.half_open_interval is not None:
        # a share of 10 (10 % typed without its sign) or below 0 made the build's sample-ratio
        # test fail after landing, and every readout with it
        low, high = column.half_open_interval
        number = _number(column, value)
        bad = f"not ({number} >= {low!r} and {number} < {high!r})"
        hint = " (a share: 0.1 or 10%)" if column.kind == "share" else ""
        yield bad, value, f"value(s) not at least {low:g} and below {high:g}{hint}"
    if column.staged_as is not None:
        # a value of the kind's form (the expectations judge the form) too large for the type
        # staging reads it as: null there, and a failed not-null test or a silent gap after
        # landing (a probe, 2026-12-07: spend of 1e40, JSON Lines impressions of 1e20)
        if column.staged_as == "double":
            yield f"isinf(try_cast({value} as double))", value, "value(s) beyond a double's range"
        else:
            bad = f"{value} is not null and try_cast({value} as {column.staged_as}) is null"
            yield bad, value, f"value(s) too large for {column.staged_as}"
    if column.names_in is not None:
        known = f"[{_quoted(catalog_ids(column.names_in))}]"
        items = f"[{value}]" if column.separator is None else _list_items(column, value)
        unknown = f"[item for item in {items} if not list_contains({known}, item)]"
        yield (
            f"len({unknown}) > 0",
            f"{unknown}[1]",
            f"value(s) naming an id not in seeds/{column.names_in[0]} ({column.names_in[1]})",
        )
    if column.kind == "date" and column.not_before is not None:
        # an experiment ending before it starts has no exposure window: every mart of it is
        # empty, which the build would not say
        day = f"try_cast(left({value}, 10) as date)"
        other = f"try_cast(left(nullif(trim({column.not_before}), ''), 10) as date)"
        yield f"{day} < {other}", value, f"value(s) before {column.not_before}"
    if column.separator is not None and column.distinct_from is not None:
        # the build's check counts the ids a list names: one named twice, or the other
        # column's id again (a guardrail that is the primary metric), would fail it
        items = _list_items(column, value)
        other = f"trim({column.distinct_from})"
        yield (
            f"len(list_distinct({items})) < len({items}) or list_contains({items}, {other})",
            value,
            f"value(s) naming one id twice or repeating {column.distinct_from}",
        )


def row_rule_errors(
    table: RawTable, path: Path, connection: duckdb.DuckDBPyConnection, relation: str
) -> list[str]:
    """Rules on a row's value beyond its form, in the raw file's words (one line, the first
    bad row), so that a value staging would refuse by failing the build stops the run here:
    a date the calendar lacks (2026-11-31, 2025-02-29) in a date column every value of which
    must parse (spend_date, an experiment's start and end: staging's cast would fail); a value
    outside the column's set (an experiment's `randomization_unit` of `session`) or interval
    (`alpha` of 0.7); a metric id the metric catalog lacks. A timestamp on a day the calendar
    lacks is left to staging, which gives it null on every engine: an event's receive time is
    quarantined (INVALID_RECEIVED_AT), never dropped. First of all, a NUL character in any
    value (a JSON Lines string's `\\u0000`, a binary export), which PostgreSQL's text cannot
    hold: its landing failed there while DuckDB kept `u1\\x00` as another user (one scan of
    every column)."""
    holds_nul = [f"coalesce(contains({column.name}, chr(0)), false)" for column in table.columns]
    # a plain filter first (10M rows: 1.6 s of CPU against 2.2 s for the numbered scan);
    # the rows are numbered only when a NUL was found
    found = None
    if connection.execute(f"select 1 from {relation} where {' or '.join(holds_nul)} limit 1").fetchone():
        found = connection.execute(
            f"select count(*), min(row_number), arg_min(columns, row_number) from ("
            f" select row_number() over () as row_number, [{', '.join(holds_nul)}] as columns"
            f" from {relation}) where list_bool_or(columns)"
        ).fetchone()
    if found and found[0]:
        count, row, flags = found
        named = [column.name for column, flag in zip(table.columns, flags, strict=True) if flag]
        return [
            f"{path}: column '{named[0]}' has {count} value(s) holding a NUL character (\\u0000), "
            f"which no warehouse text can hold, first at data row {row}"
        ]
    for column in table.columns:
        for bad, shown, wording in _row_rules(column):
            found = connection.execute(
                f"select count(*) filter (where bad), min(row_number) filter (where bad),"
                f" arg_min(shown, row_number) filter (where bad)"
                f" from (select coalesce({bad}, false) as bad, {shown} as shown,"
                f" row_number() over () as row_number from {relation})"
            ).fetchone()
            if found and found[0]:
                count, row, text = found
                return [
                    f"{path}: column '{column.name}' has {count} {wording}, "
                    f"first at data row {row}: {str(text)[:40]!r}"
                ]
    return []
