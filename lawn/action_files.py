"""The files an export hands over: CSV (spreadsheet-safe) and Parquet, written so that a
reader sees no file or a whole one (temporary names, fsync, rename)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lawn.faults import fault_point
from lawn.paths import fsync_path

# the Parquet types of the export's columns (every other one is text): one schema whatever
# the warehouse and the batch, so a destination's reader never sees it change. pandas gave
# microseconds from DuckDB and milliseconds from PostgreSQL, and a column of nulls (an empty
# batch, a night without scores) the Parquet `null` type (a probe, 2026-12-07).
PARQUET_TYPES = {
    "decided_on": pa.timestamp("us"),
    "reverted_at": pa.timestamp("us"),
    "churn_probability": pa.float64(),
}


def _array(values: pd.Series, kind: pa.DataType) -> pa.Array:
    """One column in its export type; missing values are nulls of that type."""
    if pa.types.is_timestamp(kind):
        return pa.array(pd.to_datetime(values), type=kind, from_pandas=True)
    if pa.types.is_floating(kind):
        return pa.array(pd.to_numeric(values), type=kind, from_pandas=True)
    text = [None if pd.isna(value) else str(value) for value in values]
    return pa.array(text, type=kind)


def parquet_table(records: pd.DataFrame) -> pa.Table:
    """``records`` as an Arrow table of the export's fixed schema (PARQUET_TYPES, else text)."""
    kinds = [PARQUET_TYPES.get(name, pa.string()) for name in records.columns]
    arrays = [_array(records[name], kind) for name, kind in zip(records.columns, kinds, strict=True)]
    return pa.Table.from_arrays(arrays, schema=pa.schema(list(zip(records.columns, kinds, strict=True))))


# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(records: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading single quote
    (OWASP's CSV-injection guidance); numbers, dates and other cells are left alone."""
    safe = records.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(
                lambda value: (
                    "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value
                )
            )
    return safe


def publish_files(records: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """Write both files under temporary names, fsync, then rename each into place (a reader
    sees no file or a whole one) and fsync the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = folder / "actions.csv", folder / "actions.parquet"
    csv_tmp, parquet_tmp = folder / ".actions.csv.tmp", folder / ".actions.parquet.tmp"
    # RFC 4180 line ends: a CR or LF inside a value is then quoted, never a row break
    neutralise_formulas(records).to_csv(csv_tmp, index=False, lineterminator="\r\n")
    pq.write_table(parquet_table(records), parquet_tmp)
    for path in (csv_tmp, parquet_tmp):
        fsync_path(path)
    fault_point("export:written")
    os.replace(csv_tmp, csv_path)
    fault_point("export:csv_renamed")
    os.replace(parquet_tmp, parquet_path)
    fsync_path(folder)
    return csv_path, parquet_path
