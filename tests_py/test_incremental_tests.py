"""Data tests on the incremental event models check the rows a run wrote, plus the old rows
that share a key with them (lawn_test_window, docs/incremental_tests.md). Faults planted in
old rows show what an incremental `dbt build` sees and what a plain `dbt test` sees."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.paths import DEMO_RAW_DIR
from tests_py.conftest import run_dbt
from tests_py.expectations import parse_utc

# the event path up to the property checks, and only tests whose every parent is built
SELECTION = ["--select", "+int_event_properties_checked", "--indirect-selection", "cautious"]
SELECTION += ["--exclude-resource-type", "unit_test"]
DEDUP = "intermediate.int_events_deduplicated"


def _results(work_dir: Path) -> dict[str, dict]:
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[2]: result for result in results}


def _statuses(results: dict[str, dict]) -> dict[str, str]:
    return {name: result["status"] for name, result in results.items()}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The demo feed in two batches (cut at the 80% quantile of receive time). After batch
    1, two faults are planted in rows older than the lookback: one row loses its dedup_key,
    and a copy of another row takes the raw_event_key that a batch-2 event will get. Batch 2
    lands byte-identical copies of the newest raw row and of the oldest (late, long after
    the lookback)."""
    work = tmp_path_factory.mktemp("windowed_tests")
    raw = pd.read_csv(DEMO_RAW_DIR / "raw_events.csv", dtype=str, keep_default_na=False)
    received = raw["received_at"].map(parse_utc)
    cutoff = received.quantile(0.8)
    first_received = received.groupby(raw["event_id"]).transform("min")
    new_ids = raw.loc[(raw["event_id"] != "") & (first_received >= cutoff), "event_id"]
    new_key = sorted(new_ids)[0] + "#1"
    raw_dir = work / "raw"
    raw_dir.mkdir()
    raw[received < cutoff].to_csv(raw_dir / "raw_events.csv", index=False)
    db_path = work / "windowed.duckdb"
    run_dbt(["build", "--full-refresh", *SELECTION], db_path, work, raw_dir=raw_dir)
    with duckdb.connect(str(db_path)) as con:
        oldest = con.execute(
            f"select raw_event_key from {DEDUP} where received_at is not null "
            "order by received_at, raw_event_key limit 2"
        ).fetchall()
        con.execute(f"update {DEDUP} set dedup_key = null where raw_event_key = ?", [oldest[0][0]])
        con.execute(
            f"insert into {DEDUP} select * replace (? as raw_event_key) from {DEDUP} where raw_event_key = ?",
            [new_key, oldest[1][0]],
        )
    newest, oldest = received.idxmax(), received.idxmin()
    pd.concat([raw, raw.loc[[newest, oldest]]]).to_csv(raw_dir / "raw_events.csv", index=False)
    run_dbt(["build", *SELECTION], db_path, work, raw_dir=raw_dir, check=False)
    incremental = _results(work)
    run_dbt(["test", *SELECTION], db_path, work, check=False)
    return db_path, new_key, incremental, _results(work)


def test_an_incremental_build_tests_only_the_rows_it_wrote(planted):
    """The old row without a dedup_key is outside this run's window: the incremental build's
    not_null passes (that is the saving); the plain `dbt test` after it checks every row."""
    incremental, plain = _statuses(planted[2]), _statuses(planted[3])
    assert incremental["int_events_deduplicated"] == "success"
    # dedup_key's not_null is in the model's one not_null_columns test (docs/test_cost.md)
    assert incremental["not_null_columns_int_events_deduplicated"] == "pass"
    assert plain["not_null_columns_int_events_deduplicated"] == "fail"


def test_a_new_row_colliding_with_an_old_key_fails_the_windowed_unique_test(planted):
    """The planted old copy is outside the window, the new event's first delivery inside it:
    the key= part of the window brings the old row in, so the collision is caught."""
    db_path, new_key = planted[:2]
    incremental, plain = _statuses(planted[2]), _statuses(planted[3])
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(f"select received_at from {DEDUP} where raw_event_key = ?", [new_key]).fetchall()
    assert len(rows) == 2 and rows[0][0] != rows[1][0]
    assert incremental["unique_int_events_deduplicated_raw_event_key"] == "fail"
    assert plain["unique_int_events_deduplicated_raw_event_key"] == "fail"
    # the faults are only in the planted rows: the other windowed tests pass
    for name in (
        "not_null_int_events_deduplicated_raw_event_key",
        "not_null_columns_int_events_deduplicated",
    ):
        assert incremental[name] == "pass", name


def test_the_raw_copy_test_sees_the_copies_this_run_read(planted):
    """The byte-identical raw copies are tested on int_events_deduplicated.raw_row_hash (not
    on the staging view, which hashed every raw row). The copy of the newest raw row is in
    this run's window (1 duplicate found). The planted old copy (batch 1's row under the
    new key) shares its row hash with an old row outside the window: only a plain `dbt
    test` finds it (2). The late copy of the oldest raw row is not read by the incremental
    run at all (the reconciliation tests, outside this selection, report it)."""
    incremental, plain = planted[2], planted[3]
    name = "unique_int_events_deduplicated_raw_row_hash"
    assert (incremental[name]["status"], incremental[name]["failures"]) == ("warn", 1)
    assert (plain[name]["status"], plain[name]["failures"]) == ("warn", 2)
    compiled = incremental[name]["compiled_code"]
    assert "received_at >" in compiled and "1 = 1" not in compiled
