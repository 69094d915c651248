"""Compare every table of one schema in two DuckDB files, row for row.

Used to show that a refactoring leaves the marts unchanged: build the demo before and after
into two files, then

    .venv/bin/python scripts/compare_marts.py before.duckdb after.duckdb [--schema marts] [--tolerance 1e-9]

Both files must hold the same tables with the same columns (names and order). Rows are
sorted on every column (floats rounded to the tolerance for the sort only) and compared in
that order: text, integers, booleans, dates exactly, floating-point numbers within the
absolute or relative tolerance, NULL only against NULL. Exit 0 when every table matches,
1 with one line per difference otherwise, 2 for bad input.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import duckdb


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = ? order by table_name, ordinal_position",
        [schema],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def _is_float(data_type: str) -> bool:
    return data_type.upper() in {"DOUBLE", "FLOAT", "REAL"}


def _rows(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: list[tuple[str, str]], digits: int
) -> list[tuple]:
    """The table's rows, sorted on every column (floats rounded for the sort key only)."""
    selected = ", ".join(f'"{name}"' for name, _ in columns)
    order = ", ".join(
        (f'round("{name}", {digits})' if _is_float(data_type) else f'"{name}"') + " nulls last"
        for name, data_type in columns
    )
    return con.execute(f'select {selected} from "{schema}"."{table}" order by {order}').fetchall()


def _same(left: object, right: object, tolerance: float) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        if math.isinf(left) or math.isinf(right):
            return left == right
        return abs(left - right) <= tolerance * max(1.0, abs(left), abs(right))
    return left == right


def compare(before: Path, after: Path, schema: str, tolerance: float) -> list[str]:
    """One line per difference between the schema's tables in the two files (empty: identical)."""
    digits = max(0, -math.floor(math.log10(tolerance))) - 1
    left_con = duckdb.connect(str(before), read_only=True)
    right_con = duckdb.connect(str(after), read_only=True)
    try:
        left_tables = _tables(left_con, schema)
        right_tables = _tables(right_con, schema)
        problems: list[str] = []
        if not left_tables:
            problems.append(f"{before}: schema {schema} has no tables")
        for table in sorted(set(left_tables) ^ set(right_tables)):
            side = before if table in left_tables else after
            problems.append(f"{schema}.{table}: only in {side}")
        for table in sorted(set(left_tables) & set(right_tables)):
            if left_tables[table] != right_tables[table]:
                problems.append(
                    f"{schema}.{table}: columns differ: {left_tables[table]} vs {right_tables[table]}"
                )
                continue
            columns = left_tables[table]
            left_rows = _rows(left_con, schema, table, columns, digits)
            right_rows = _rows(right_con, schema, table, columns, digits)
            if len(left_rows) != len(right_rows):
                problems.append(f"{schema}.{table}: {len(left_rows)} rows vs {len(right_rows)} rows")
                continue
            first = ""
            count = 0
            for number, (left, right) in enumerate(zip(left_rows, right_rows, strict=True)):
                differing = [
                    f"{name}={left[i]!r} vs {right[i]!r}"
                    for i, (name, _) in enumerate(columns)
                    if not _same(left[i], right[i], tolerance)
                ]
                if differing:
                    count += 1
                    first = first or f"sorted row {number}: " + "; ".join(differing[:5])
            if count:
                problems.append(f"{schema}.{table}: {count} of {len(left_rows)} rows differ, first {first}")
        return problems
    finally:
        left_con.close()
        right_con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="DuckDB file built before the change.")
    parser.add_argument("after", type=Path, help="DuckDB file built after the change.")
    parser.add_argument("--schema", default="marts", help="Schema to compare (default: marts).")
    parser.add_argument(
        "--tolerance", type=float, default=1e-9, help="Absolute/relative float tolerance (default 1e-9)."
    )
    args = parser.parse_args(argv)
    for path in (args.before, args.after):
        if not path.is_file():
            print(f"error: {path}: no such DuckDB file", file=sys.stderr)
            return 2
    if not args.tolerance > 0:
        print("error: --tolerance must be positive", file=sys.stderr)
        return 2
    try:
        problems = compare(args.before, args.after, args.schema, args.tolerance)
    except duckdb.Error as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{args.schema}: every table identical (float tolerance {args.tolerance:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
