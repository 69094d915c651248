"""Loading the raw events in two batches and running incrementally gives exactly the tables
one full refresh gives, including rows that were landed late (inside the lookback)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests_py.conftest import query, run_dbt
from tests_py.expectations import parse_utc

TABLES = {
    "intermediate.int_events_deduplicated": "raw_event_key",
    "intermediate.int_events_validated": "raw_event_key",
    "marts.fct_events": "event_id",
    "marts.fct_quarantined_events": "raw_event_key",
    "marts.fct_data_quality_daily": "data_quality_key",
}


def _two_batches(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Batch 1: rows received before a cut-off, minus a few from its last day that the
    loader lands late (they arrive with batch 2, received_at before batch 1's newest)."""
    received = raw["received_at"].map(parse_utc)
    cutoff = received.quantile(0.6)
    before = received < cutoff
    late = before & (received >= cutoff - pd.Timedelta(hours=20))
    late_ids = raw[late].sample(n=min(15, int(late.sum())), random_state=1).index
    batch1 = raw[before & ~raw.index.isin(late_ids)]
    return batch1, raw.loc[late_ids]


def _snapshot(db_path: Path) -> dict[str, pd.DataFrame]:
    return {
        table: query(db_path, f"select * from {table} order by {key}").reset_index(drop=True)
        for table, key in TABLES.items()
    }


@pytest.fixture(scope="module")
def batched_dir(small_parquet, tmp_path_factory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    raw_dir = tmp_path_factory.mktemp("batched") / "raw"
    shutil.copytree(small_parquet / "raw", raw_dir)
    full = pd.read_parquet(raw_dir / "raw_events.parquet")
    batch1, late = _two_batches(full)
    return raw_dir, full, batch1, late


def _build_in_two_batches(batched_dir, tmp_path: Path, extra: list[str]) -> Path:
    raw_dir, full, batch1, _ = batched_dir
    db_path = tmp_path / "incremental.duckdb"
    batch1.to_parquet(raw_dir / "raw_events.parquet", index=False)
    run_dbt(["build", "--full-refresh", *extra], db_path, tmp_path, raw_dir=raw_dir)
    full.to_parquet(raw_dir / "raw_events.parquet", index=False)
    run_dbt(["build", *extra], db_path, tmp_path, raw_dir=raw_dir)
    return db_path


def test_two_batches_incremental_equals_full_refresh(batched_dir, built_small, tmp_path):
    _, full, batch1, late = batched_dir
    assert len(late) > 0 and len(batch1) < len(full)
    incremental = _snapshot(_build_in_two_batches(batched_dir, tmp_path, []))
    refreshed = _snapshot(built_small)
    for table in TABLES:
        pd.testing.assert_frame_equal(incremental[table], refreshed[table], obj=table)
    keys = set(incremental["intermediate.int_events_deduplicated"]["raw_row_hash"])
    assert len(keys) == len(full)


def test_without_lookback_late_rows_would_be_lost(batched_dir, built_small, tmp_path):
    """The negative control: with a zero-hour lookback the late-landed rows are skipped,
    so the lookback is what makes the incremental run complete."""
    _, full, _, late = batched_dir
    db_path = _build_in_two_batches(
        batched_dir, tmp_path, ["--vars", "{event_lookback_hours: 0}", "--exclude", "test_type:data"]
    )
    held = query(db_path, "select count(*) as n from intermediate.int_events_deduplicated").iloc[0]["n"]
    # late rows newer than what the table kept after its own delete are still read
    assert len(full) - len(late) <= held < len(full)
