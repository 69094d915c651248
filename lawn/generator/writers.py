"""Write generated data as CSV (the demo in data/raw), Parquet (scale runs, all text) or typed
Parquet (real timestamps and integers, as a warehouse unload writes them)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from lawn.generator.run import GeneratedData

FileFormat = Literal["csv", "parquet", "parquet-typed"]
FILE_FORMATS: tuple[str, ...] = ("csv", "parquet", "parquet-typed")
TIMESTAMP_COLUMNS = ("occurred_at", "received_at", "created_at", "registered_at")
INTEGER_COLUMNS = ("schema_version",)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns whose every value parses get their native type; the others stay text."""
    typed = frame.astype("string")
    for column in typed.columns:
        values = typed[column]
        if column in TIMESTAMP_COLUMNS:
            parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        elif column in INTEGER_COLUMNS:
            parsed = pd.to_numeric(values, errors="coerce").astype("Int64")
        else:
            continue
        if parsed.isna().sum() == values.isna().sum():
            typed[column] = parsed
    return typed


def _write(frame: pd.DataFrame, path: Path, file_format: FileFormat) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        frame.to_csv(path, index=False, lineterminator="\n")
    elif file_format == "parquet-typed":
        _typed(frame).to_parquet(path, index=False)
    else:
        frame.astype("string").to_parquet(path, index=False)


def write_generated(
    data: GeneratedData, raw_dir: Path, truth_dir: Path, file_format: FileFormat = "csv"
) -> list[Path]:
    """Write every raw table to ``raw_dir`` and every truth table to ``truth_dir``.

    Raw Parquet columns are all strings, as a loader would land them; staging casts.
    Truth is always CSV, small enough to read in tests.
    """
    written = []
    for name, frame in data.raw.items():
        path = raw_dir / f"{name}.{file_format.removesuffix('-typed')}"
        _write(frame, path, file_format)
        written.append(path)
    for name, frame in data.truth.items():
        path = truth_dir / f"truth_{name}.csv"
        _write(frame, path, "csv")
        written.append(path)
    return written
