"""Where erased or purged values still stand: every text cell of a DuckDB warehouse, and every
file under some folders (tests_py/test_privacy.py, test_governance_handwritten.py)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd


def scan_db(db: Path, values: set[str]) -> list[str]:
    """Every text column of every table (and view) holding one of the values, in any case."""
    lowered = [value.lower() for value in values]
    hits = []
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON')"
        ).fetchall()
        pattern = "|".join(re.escape(value) for value in lowered)
        for schema, table, column in columns:
            found = con.execute(
                f'select count(*) from "{schema}"."{table}" '
                f'where regexp_matches(lower(cast("{column}" as varchar)), ?)',
                [pattern],
            ).fetchall()[0][0]
            if found:
                hits.append(f"{schema}.{table}.{column}: {found}")
    return hits


def scan_files(folders: list[Path], values: set[str]) -> list[str]:
    """Every file under the folders (Parquet read as text) holding one of the values, in any case."""
    lowered = [value.lower() for value in values]
    hits = []
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            text = path.read_bytes().decode("utf-8", "ignore").lower()
            if path.suffix == ".parquet":
                text = pd.read_parquet(path).astype("string").to_csv(index=False).lower()
            hits += [f"{path}: {value}" for value in lowered if value in text]
    return hits
