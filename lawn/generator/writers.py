"""Write generated data as CSV (the committed dbt seeds) or Parquet (scale runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from lawn.generator.run import GeneratedData

FileFormat = Literal["csv", "parquet"]


def _write(frame: pd.DataFrame, path: Path, file_format: FileFormat) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        frame.to_csv(path, index=False, lineterminator="\n")
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
        path = raw_dir / f"{name}.{file_format}"
        _write(frame, path, file_format)
        written.append(path)
    for name, frame in data.truth.items():
        path = truth_dir / f"truth_{name}.csv"
        _write(frame, path, "csv")
        written.append(path)
    return written
