"""The incremental event models int_events_deduplicated and int_events_validated on Spark
(docs/spark.md, "Incremental event models on Spark"): `insert_overwrite` on the
received-date partition `received_date`.
A hand-written feed built in two steps (days 1-4, then day 5 with a row of day 4 the loader
landed late, redeliveries of a day-1 event and of a day-3 event, a copy of a day-4 row
without event_id) holds, row for row, what one full refresh of the same files holds; and
the second run was incremental: the partitions before its window (days 1 and 2) are the
files the first run wrote, untouched, and the window's days were rewritten.

Same skip rules as tests_py/test_spark.py: needs Java 17 and pyspark (scripts/spark_ci.sh);
skipped without them locally, FAILS in CI (CI=true)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.contract import RAW_EVENT_COLUMNS
from tests_py.conftest import TEST_VARS, spark_env
from tests_py.spark_steps import run_steps

# 24 hours back from day 4's newest row (2026-03-04 18:00): the window starts on day 3
VARS = {**TEST_VARS, "event_lookback_hours": 24}
WINDOW_START = "2026-03-03"
# the incremental models on Spark (insert_overwrite on received_date)
MODELS = ("int_events_deduplicated", "int_events_validated")
EVENT_COLUMNS = list(RAW_EVENT_COLUMNS)  # the contract's raw_events columns, in order


def _event(event_id, occurred, received, anon="anon_1", page="/"):
    # what a web SDK sends: an envelope and a JSON properties object
    return {
        "event_id": event_id,
        "event_name": "page_viewed",
        "schema_version": "1",
        "source": "web",
        "occurred_at": occurred,
        "received_at": received,
        "anonymous_id": anon,
        "device_id": "dev_1",
        "user_id": "",
        "account_id": "",
        "context": "",
        "properties": json.dumps({"page_path": page}),
    }


# Step 1: received on days 1-4 (2026-03-01..04), plus a row the collector stamped in 2099
# (out of range: rebuilt by every run) and one with no event_id (keyed by its row hash).
STEP_1 = [
    _event("s01", "2026-03-01T08:00:00Z", "2026-03-01T08:00:01Z"),
    _event("s02", "2026-03-01T09:00:00Z", "2026-03-01T09:00:02Z", page="/pricing"),
    _event("s03", "2026-03-02T11:00:00Z", "2026-03-02T11:00:01Z", anon="anon_2"),
    _event("s04", "2026-03-03T07:00:00Z", "2026-03-03T07:00:01Z"),
    _event("s05", "2026-03-03T12:00:00Z", "2026-03-03T12:00:03Z", anon="anon_3"),
    _event("", "2026-03-04T10:00:00Z", "2026-03-04T10:00:01Z", anon="anon_2", page="/docs"),
    _event("s06", "2026-03-04T18:00:00Z", "2026-03-04T18:00:01Z", anon="anon_3"),
    _event("s07", "2026-03-04T09:00:00Z", "2099-01-01T00:00:00Z", anon="anon_3"),
]
# Step 2: day 5, a row of day 4 landed late (received before step 1's newest row), the SDK
# retrying s01 (day 1, before the window) and s05 (day 3, inside it) on day 5, and the
# no-event-id row of day 4 delivered again byte for byte (same receive time: a copy of a
# day before the window would be lost, as on DuckDB beyond the look-back).
STEP_2 = [
    _event("s08", "2026-03-05T08:00:00Z", "2026-03-05T08:00:01Z"),
    _event("s09", "2026-03-04T10:00:00Z", "2026-03-04T10:00:05Z", anon="anon_2"),
    _event("s01", "2026-03-01T08:00:00Z", "2026-03-05T09:00:00Z"),
    _event("s05", "2026-03-03T12:00:00Z", "2026-03-05T09:30:00Z", anon="anon_3"),
    STEP_1[5],
]


def _write_events(raw_dir: Path, rows: list[dict]) -> Path:
    raw_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=EVENT_COLUMNS).to_csv(raw_dir / "raw_events.csv", index=False)
    return raw_dir


def _read_table(table_dir: Path) -> pd.DataFrame:
    """The Parquet files of a Spark table (hive partitions), every column as text, in key order."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        frame = con.execute(
            f"select * from read_parquet('{table_dir}/**/*.parquet', hive_partitioning = true)"
        ).df()
    return frame.astype(str).sort_values("raw_event_key").reset_index(drop=True)[sorted(frame.columns)]


@pytest.fixture(scope="module")
def two_steps(spark_ready, tmp_path_factory) -> dict:
    """Step 1 landed and built, step 2 landed and built incrementally, then a full refresh of
    the two models: every Spark step in one process (tests_py/spark_steps.py, one JVM), with
    what a later step overwrites kept in between (partition files' times, compiled SQL, the
    incremental tables)."""
    work = tmp_path_factory.mktemp("spark_incremental")
    warehouse = work / "spark" / "warehouse" / "intermediate.db"
    table_dir = warehouse / "int_events_deduplicated"
    kept = work / "kept"

    def build(rows: list[dict], folder: str, *resource_types: str) -> list[dict]:
        raw_dir = str(_write_events(work / folder, rows))
        # models (and the first time the tracking-plan seeds) only: the data tests of these
        # models run in tests_py/test_spark.py's build, and here the comparison with a full
        # refresh, row for row, is the check (each Spark data test costs about a second)
        selected = [argument for kind in resource_types for argument in ("--resource-type", kind)]
        return [
            # the build's vars: dbt keys its saved parse on them, so the build reuses the landing's
            {"kind": "cli", "args": ["spark", "land", "--raw-dir", raw_dir, "--vars", json.dumps(VARS)]},
            {"kind": "dbt", "vars": VARS,
             "args": ["build", "--select", "+int_events_validated", *selected, "--target", "spark"]},
        ]  # fmt: skip

    results = run_steps(
        [
            *build(STEP_1, "raw_1", "seed", "model"),
            {"kind": "mtimes", "dir": str(table_dir)},
            *build(STEP_1 + STEP_2, "raw_2", "model"),
            {"kind": "mtimes", "dir": str(table_dir)},
            {"kind": "copy", "src": str(work / "target" / "compiled"), "dst": str(kept / "compiled")},
            {"kind": "copy", "src": str(work / "target" / "run"), "dst": str(kept / "run")},
            *({"kind": "copy", "src": str(warehouse / m), "dst": str(kept / m)} for m in MODELS),
            {"kind": "dbt", "vars": VARS,
             "args": ["run", "--select", *MODELS, "--full-refresh", "--target", "spark"]},
        ],
        spark_env(work),
        work,
    )  # fmt: skip
    after_1, after_2 = (r["mtimes"] for r in results if r["step"]["kind"] == "mtimes")
    return {
        "after_1": after_1,
        "after_2": after_2,
        "compiled": next((kept / "compiled").rglob("int_events_deduplicated.sql")).read_text(),
        "statement": next((kept / "run").rglob("int_events_deduplicated.sql")).read_text(),
        "validated_sql": next((kept / "compiled").rglob("int_events_validated.sql")).read_text(),
        "incremental": {model: _read_table(kept / model) for model in MODELS},
        "full_refresh": {model: _read_table(warehouse / model) for model in MODELS},
    }


def test_incremental_run_equals_a_full_refresh_row_for_row(two_steps):
    for model in MODELS:
        incremental, full = two_steps["incremental"][model], two_steps["full_refresh"][model]
        assert len(full) == len(STEP_1) + len(STEP_2), model
        pd.testing.assert_frame_equal(incremental, full, obj=model)
    # the duplicates are judged across the window too
    validated = two_steps["incremental"]["int_events_validated"]
    assert (validated["delivery_status"] == "duplicate").sum() == 3


def test_redeliveries_are_numbered_across_the_window(two_steps):
    # truth planted in the feed: per delivery (dedup key, receive time) its number
    rows = two_steps["incremental"]["int_events_deduplicated"]
    numbers: dict[tuple[str, str], list[str]] = {}
    columns = (rows["dedup_key"], rows["received_at"], rows["delivery_number"])
    for key, received, number in zip(*columns, strict=True):
        label = "no-event-id" if key.startswith("no-event-id:") else key
        numbers.setdefault((label, received[:19]), []).append(number)
    assert numbers[("s01", "2026-03-01 08:00:01")] == ["1"]
    assert numbers[("s01", "2026-03-05 09:00:00")] == ["2"]  # first delivery kept, before the window
    assert numbers[("s05", "2026-03-03 12:00:03")] == ["1"]
    assert numbers[("s05", "2026-03-05 09:30:00")] == ["2"]  # both inside the window
    # the byte-identical copy of the day-4 row (same receive time): 1 and 2
    assert sorted(numbers[("no-event-id", "2026-03-04 10:00:01")]) == ["1", "2"]
    assert numbers[("s09", "2026-03-04 10:00:05")] == ["1"]  # landed late, inside the window


def test_the_second_run_rewrote_only_the_window(two_steps):
    after_1, after_2 = two_steps["after_1"], two_steps["after_2"]
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2099-01-01"]
    assert list(after_1) == [f"received_date={day}" for day in days]
    kept = [f"received_date={day}" for day in days if day < WINDOW_START]
    rewritten = [name for name in after_1 if name not in kept]
    for name in kept:  # the same files, not rewritten
        assert after_2[name] == after_1[name], name
    for name in rewritten:  # new files (Spark names each write's files afresh)
        assert after_2[name] and not set(after_2[name]) & set(after_1[name]), name
    assert "received_date=2026-03-05" in after_2
    # the compiled query reads the source from the window's first day and counts earlier
    # deliveries from the partitions before it only
    compiled = " ".join(two_steps["compiled"].split())
    assert f"received_at >= cast('{WINDOW_START}' as timestamp)" in compiled
    assert f"received_date < cast('{WINDOW_START}' as date)" in compiled
    validated_sql = " ".join(two_steps["validated_sql"].split())
    assert f"received_at >= cast('{WINDOW_START}' as timestamp)" in validated_sql
    statement = " ".join(two_steps["statement"].split())
    assert "insert overwrite table" in statement and "partition (received_date)" in statement
