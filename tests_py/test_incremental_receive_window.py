"""The increment's receive-time window on hand-written deliveries: the rows an incremental
run must read again besides the new day (docs/incremental_staging.md, "Reading fewer raw rows
on an increment"). A pre-filter on the raw text (`received_at >= <a day before the
watermark>`) would drop two of them: a time that matches the ISO pattern but names no
instant (`2026-02-30`, parsed to null) and one before `received_at_earliest_date`, both
older than the watermark as text, both rebuilt by every run because a later plausible
delivery of their event takes number 1 from them. The first file is landed and built from
scratch, then a second file of the folder is landed and built incrementally; the result must
be what one full refresh of both files gives, with the delivery numbers written below."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest

from tests_py.conftest import run_dbt

# the event path up to the validation, models and seeds only (the asserts below are the checks)
SELECTION = ["--select", "+int_events_validated"]
SELECTION += ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
COLUMNS = [
    "event_id", "event_name", "schema_version", "source", "occurred_at", "received_at",
    "anonymous_id", "device_id", "user_id", "account_id", "context", "properties",
]  # fmt: skip

# (event_id, received_at as delivered); batch 1's newest time is 2026-03-20 12:00, so with
# the 72-hour lookback the increment rebuilds from 2026-03-17 12:00 on
FIRST = [
    ("e-old", "2026-03-10T08:00:00Z"),  # older than the lookback: kept, never read again
    ("e-padold", " 2026-03-09T08:00:00Z "),  # the same, padded: the window must trim it too
    ("e-feb30", "2026-02-30T00:00:00Z"),  # passes the landing's pattern, parses to null
    ("e-past", "2019-06-01T00:00:00Z"),  # before received_at_earliest_date: out of range
    ("e-mid", "2026-03-18T09:00:00Z"),  # inside the lookback
    ("e-new", "2026-03-20T12:00:00Z"),
    ("e-empty", ""),  # an export that lost the receive time: quarantined, never refused
    ("e-text", "not recorded"),  # text that names no time: the same
]
SECOND = [
    ("e-old", "2026-03-21T10:00:00Z"),  # a redelivery across the lookback boundary
    ("e-feb30", "2026-03-21T11:00:00Z"),  # a plausible delivery: it becomes number 1
    ("e-past", "2026-03-21T12:00:00Z"),  # the same for the out-of-range one
    ("e-mid", "2026-03-21T09:00:00Z"),  # a redelivery inside the lookback
    ("e-late", "2026-03-19T00:00:00Z"),  # late: before batch 1's newest, inside the lookback
    ("e-apr31", "2026-04-31T00:00:00Z"),  # a new unparseable time: quarantined
    ("e-text", "2026-03-21T13:00:00Z"),  # a plausible delivery of the unreadable one: number 1
    ("e-blank", ""),  # a new empty time
    ("e-pad", " 2026-03-21T14:00:00Z "),  # padded: staging trims it, so must the window
    ("e-tz", "2026-03-21T01:00:00+14:00"),  # 2026-03-20 11:00 UTC: after batch 1's newest
    ("e-tzold", "2026-03-17T23:00:00+14:00"),  # 09:00 UTC that day: before the rebuilt part
]
# the numbering a full refresh gives, worked out by hand: plausible times first, in order;
# null and out-of-range times after them
EXPECTED_NUMBER = {
    ("e-old", "2026-03-10T08:00:00Z"): 1,
    ("e-padold", " 2026-03-09T08:00:00Z "): 1,
    ("e-old", "2026-03-21T10:00:00Z"): 2,
    ("e-feb30", "2026-03-21T11:00:00Z"): 1,
    ("e-feb30", "2026-02-30T00:00:00Z"): 2,
    ("e-past", "2026-03-21T12:00:00Z"): 1,
    ("e-past", "2019-06-01T00:00:00Z"): 2,
    ("e-mid", "2026-03-18T09:00:00Z"): 1,
    ("e-mid", "2026-03-21T09:00:00Z"): 2,
    ("e-new", "2026-03-20T12:00:00Z"): 1,
    ("e-late", "2026-03-19T00:00:00Z"): 1,
    ("e-apr31", "2026-04-31T00:00:00Z"): 1,
    ("e-empty", None): 1,
    ("e-text", "2026-03-21T13:00:00Z"): 1,
    ("e-text", "not recorded"): 2,
    ("e-blank", None): 1,
    ("e-pad", " 2026-03-21T14:00:00Z "): 1,
    ("e-tz", "2026-03-21T01:00:00+14:00"): 1,
    ("e-tzold", "2026-03-17T23:00:00+14:00"): 1,
}
DEDUP = "intermediate.int_events_deduplicated"
VALIDATED = "intermediate.int_events_validated"


def _write(path: Path, deliveries: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for event_id, received_at in deliveries:
            writer.writerow([
                event_id, "page_viewed", "1", "web", "2026-03-01T10:00:00Z", received_at,
                f"anon-{event_id}", f"dev-{event_id}", "", "",
                '{"platform":"web","app_version":"web-2026.03","locale":"en-US"}',
                '{"page_path":"/","utm_source":"organic"}',
            ])  # fmt: skip


def _rows(db_path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(f"select * from {table} order by raw_event_key").fetchall()


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("receive_window")
    raw_dir = work / "raw"
    _write(raw_dir / "raw_events" / "part-0000.csv", FIRST)
    incremental = work / "incremental.duckdb"
    run_dbt(["build", "--full-refresh", *SELECTION], incremental, work / "first", raw_dir=raw_dir)
    _write(raw_dir / "raw_events" / "part-0001.csv", SECOND)
    run_dbt(["build", *SELECTION], incremental, work / "second", raw_dir=raw_dir)
    refreshed = work / "refreshed.duckdb"
    run_dbt(["build", "--full-refresh", *SELECTION], refreshed, work / "refresh", raw_dir=raw_dir)
    return incremental, refreshed


def test_the_increment_numbers_every_delivery_as_written(builds):
    incremental, _ = builds
    with duckdb.connect(str(incremental), read_only=True) as con:
        landed = con.execute("select count(*) from raw.raw_events").fetchone()[0]
        rows = con.execute(f"select event_id, received_at_raw, delivery_number from {DEDUP}").fetchall()
    assert landed == len(FIRST) + len(SECOND)
    numbers = {(event_id, received): number for event_id, received, number in rows}
    assert len(rows) == len(numbers)  # every delivery once
    assert numbers == EXPECTED_NUMBER


def test_duckdb_selects_the_window_on_the_landing_table(builds):
    """The equality below is the fast path's: on DuckDB the increment picks the window's
    landing rows by raw_rowid on raw.raw_events (raw_event_window), not by the view's time."""
    incremental, _ = builds
    compiled = next(
        (incremental.parent / "second" / "target" / "compiled").rglob("int_events_deduplicated.sql")
    )
    events = compiled.read_text().split("keyed as")[0]
    assert re.search(r"raw_rowid in \(\s*select rowid\s+from \S*raw_events", events), events
    assert "received_at not between" not in events.split("raw_rowid in")[0]


def test_the_increment_equals_a_full_refresh(builds):
    incremental, refreshed = builds
    for table in (DEDUP, VALIDATED):
        assert _rows(incremental, table) == _rows(refreshed, table), table


def test_unparseable_and_out_of_range_times_are_quarantined_or_duplicates(builds):
    incremental, _ = builds
    verdict = f"delivery_status || ' ' || coalesce(primary_reason_code, '') from {VALIDATED}"
    with duckdb.connect(str(incremental), read_only=True) as con:
        status = dict(con.execute(f"select event_id || ' ' || received_at_raw, {verdict}").fetchall())
        empty = dict(con.execute(f"select event_id, {verdict} where received_at_raw is null").fetchall())
    assert status["e-apr31 2026-04-31T00:00:00Z"] == "quarantined INVALID_RECEIVED_AT"
    assert empty == dict.fromkeys(("e-empty", "e-blank"), "quarantined INVALID_RECEIVED_AT")
    assert status["e-text not recorded"].startswith("duplicate")
    assert status["e-text 2026-03-21T13:00:00Z"].startswith("valid")
    assert status["e-feb30 2026-02-30T00:00:00Z"].startswith("duplicate")
    assert status["e-past 2019-06-01T00:00:00Z"].startswith("duplicate")
    assert status["e-feb30 2026-03-21T11:00:00Z"].startswith("valid")
