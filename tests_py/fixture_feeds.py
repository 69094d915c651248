"""Hand-written fixture feeds (CSV in tests_py/fixtures/) turned into the Parquet files
`lawn load` lands (every column as a string)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lawn.contract import RAW_EVENT_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
RAW_TABLES = ("raw_events", "crm_accounts", "marketing_spend", "experiment_registry")


def read_csv(path: Path) -> pd.DataFrame:
    """A fixture CSV as strings; empty cells are nulls."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def write_feed(feed_dir: Path, out_dir: Path, extra_events: pd.DataFrame | None = None) -> Path:
    """Write the four raw tables of ``feed_dir`` (plus ``extra_events``, envelope columns
    only) as Parquet into ``out_dir``; returns ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in RAW_TABLES:
        frame = read_csv(feed_dir / f"{table}.csv")
        if table == "raw_events" and extra_events is not None:
            frame = pd.concat([frame, extra_events[list(RAW_EVENT_COLUMNS)]], ignore_index=True)
        frame.astype("string").to_parquet(out_dir / f"{table}.parquet", index=False)
    return out_dir
