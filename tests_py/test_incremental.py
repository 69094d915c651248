"""Loading the raw events in two batches and running incrementally gives exactly the tables
one full refresh gives, including rows that were landed late (inside the lookback); and
the identity graph keeps person ids stable as data is added."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests_py.conftest import query, run_dbt
from tests_py.expectations import parse_utc

TABLES = {
    "intermediate.int_events_deduplicated": "raw_event_key",
    "intermediate.int_events_validated": "raw_event_key",
    "intermediate.int_events_valid": "event_id",
    "marts.fct_events": "event_id",
    "marts.fct_quarantined_events": "raw_event_key",
    "marts.fct_data_quality_daily": "data_quality_key",
    "marts.dim_identifiers": "identifier_key",
    "marts.dim_users": "person_id",
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
def batched_dir(small_parquet, tmp_path_factory):
    raw_dir = tmp_path_factory.mktemp("batched") / "raw"
    shutil.copytree(small_parquet / "raw", raw_dir)
    full = pd.read_parquet(raw_dir / "raw_events.parquet")
    batch1, late = _two_batches(full)
    return raw_dir, full, batch1, late


def _build_in_two_batches(batched_dir, tmp_path: Path, args: list[str], dbt_vars: dict | None = None):
    """Build batch 1 from scratch, then everything incrementally; return the database and
    the identity map as it stood after batch 1."""
    raw_dir, full, batch1, _ = batched_dir
    db_path = tmp_path / "incremental.duckdb"
    batch1.to_parquet(raw_dir / "raw_events.parquet", index=False)
    run_dbt(["build", "--full-refresh", *args], db_path, tmp_path, raw_dir=raw_dir, dbt_vars=dbt_vars)
    first_map = query(db_path, "select identifier_key, person_id from marts.dim_identifiers")
    full.to_parquet(raw_dir / "raw_events.parquet", index=False)
    run_dbt(["build", *args], db_path, tmp_path, raw_dir=raw_dir, dbt_vars=dbt_vars)
    return db_path, first_map


@pytest.fixture(scope="module")
def incremental_build(batched_dir, tmp_path_factory):
    return _build_in_two_batches(batched_dir, tmp_path_factory.mktemp("incremental"), [])


def test_two_batches_incremental_equals_full_refresh(batched_dir, built_small, incremental_build):
    _, full, batch1, late = batched_dir
    assert len(late) > 0 and len(batch1) < len(full)
    incremental = _snapshot(incremental_build[0])
    refreshed = _snapshot(built_small)
    for table in TABLES:
        pd.testing.assert_frame_equal(incremental[table], refreshed[table], obj=table)
    keys = set(incremental["intermediate.int_events_deduplicated"]["raw_row_hash"])
    assert len(keys) == len(full)


def test_adding_data_renames_no_person_except_by_a_merge(incremental_build):
    """Every person of batch 1 keeps its id after batch 2, unless batch 2 merged it into a
    person with an older id; then all its identifiers moved together."""
    db_path, first_map = incremental_build
    after = query(db_path, "select identifier_key, person_id from marts.dim_identifiers")
    joined = first_map.merge(after, on="identifier_key", suffixes=("_before", "_after"))
    assert len(joined) == len(first_map), "no identifier disappears"
    changed = joined[joined["person_id_before"] != joined["person_id_after"]].dropna()
    merged_people = set(query(db_path, "select person_id from marts.fct_identity_merges")["person_id"])
    for before, group in changed.groupby("person_id_before"):
        assert group["person_id_after"].nunique() == 1, before
        assert group["person_id_after"].iloc[0] in merged_people, before
    unchanged = (joined["person_id_before"] == joined["person_id_after"]).mean()
    assert unchanged > 0.95


def test_snapshot_keeps_the_map_of_each_build(incremental_build):
    db_path, first_map = incremental_build
    history = query(
        db_path, "select identifier_key, person_id, dbt_valid_to from snapshots.identity_map_history"
    )
    current = history[history["dbt_valid_to"].isna()]
    assert current["identifier_key"].is_unique
    first_versions = history.sort_values("dbt_valid_to", na_position="last").drop_duplicates(
        "identifier_key", keep="first"
    )
    as_of_first = first_versions[first_versions["identifier_key"].isin(first_map["identifier_key"])]
    expected = first_map.set_index("identifier_key")["person_id"]
    got = as_of_first.set_index("identifier_key")["person_id"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)


def test_without_lookback_late_rows_would_be_lost(batched_dir, tmp_path):
    """The negative control: with a zero-hour lookback the late-landed rows are skipped,
    so the lookback is what makes the incremental run complete."""
    _, full, _, late = batched_dir
    db_path, _ = _build_in_two_batches(
        batched_dir, tmp_path, ["--exclude", "test_type:data"], dbt_vars={"event_lookback_hours": 0}
    )
    held = query(db_path, "select count(*) as n from intermediate.int_events_deduplicated").iloc[0]["n"]
    # late rows newer than what the table kept after its own delete are still read
    assert len(full) - len(late) <= held < len(full)


def test_reconciliation_tests_fail_on_planted_faults(incremental_build, tmp_path):
    """Negative control for the windowed staging and event tests: the two singular
    reconciliation tests read everything, so (a) a byte-identical copy of the oldest raw row
    landed long after the lookback, which an incremental run does not read (and the windowed
    raw_row_hash test does not see), fails `assert_raw_rows_reconcile_with_event_marts`, and
    (b) a valid delivery also filed as quarantined fails
    `assert_each_raw_delivery_lands_exactly_once`. Both pass on the untouched warehouse."""
    source_db, _ = incremental_build
    db_path = tmp_path / "planted.duckdb"
    shutil.copy(source_db, db_path)
    tests = ["assert_raw_rows_reconcile_with_event_marts", "assert_each_raw_delivery_lands_exactly_once"]

    def statuses() -> dict[str, str]:
        run_dbt(["test", "--select", *tests], db_path, tmp_path, check=False)
        results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
        return {
            result["unique_id"].split(".")[2]: result["status"]
            for result in results
            if result["unique_id"].startswith("test.")  # not the on-run-end hooks
        }

    assert statuses() == {name: "pass" for name in tests}
    with duckdb.connect(str(db_path)) as con:
        con.execute(
            "insert into raw.raw_events select * from raw.raw_events "
            "order by received_at limit 1"  # ISO text in UTC: the oldest receive time
        )
    event_models = ["stg_tracking__events", "int_events_deduplicated", "int_events_validated"]
    run_dbt(
        ["run", "--select", *event_models, "int_events_valid", "fct_quarantined_events"], db_path, tmp_path
    )
    assert statuses() == {tests[0]: "fail", tests[1]: "pass"}
    with duckdb.connect(str(db_path)) as con:
        con.execute("delete from raw.raw_events where rowid = (select max(rowid) from raw.raw_events)")
        con.execute(
            "insert into marts.fct_quarantined_events by name "
            "select raw_event_key, event_id, received_at from intermediate.int_events_valid limit 1"
        )
    assert statuses() == {tests[0]: "fail", tests[1]: "fail"}
