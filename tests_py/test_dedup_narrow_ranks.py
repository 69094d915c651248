"""Delivery numbers of a DuckDB full refresh, against pandas.

`int_events_deduplicated`'s full refresh on DuckDB ranks only the deliveries whose key is
delivered more than once (plus every row without an event_id), on narrow rows, and joins the
numbers back to the wide rows by the landing row's locator (docs/full_build_cost.md,
"Numbering only the repeated deliveries"). Here a hand-written feed with redeliveries, ties on
the receive time, byte-identical copies, rows without an event_id, padded ids, out-of-range
and unparseable times is built from scratch, and every delivery's number is recomputed in
pandas from the landed raw text: the key (the trimmed event_id, else `no-event-id:` and the
md5 of the row, computed with Python's hashlib), then plausible receive times first, by time,
then by row hash. Byte-identical copies tie, so they are compared as the set of numbers their
group holds.

The feed is built twice: landed as the table `lawn load` makes (the located, narrow ranking)
and behind a view of that table, which has no rowid (stg_tracking__events gives a null
locator and the model takes the window over every delivery). Both must number alike."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.contract import RAW_TABLES
from lawn.validate_raw import load_raw
from tests_py.conftest import run_dbt

SELECTION = ["--select", "+int_events_deduplicated"]
SELECTION += ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
# the contract's columns, in the order the row hash (macro row_hash) concatenates them
COLUMNS = list(RAW_TABLES["raw_events"].column_names)
EARLIEST = dt.datetime(2020, 1, 1)  # var received_at_earliest_date


def _row(event_id: str, received_at: str, page: str) -> list[str]:
    """One CSV row of the feed, in the contract's column order."""
    return [
        event_id, "page_viewed", "1", "web", "2026-03-01T10:00:00Z", received_at,
        "anon-1", "dev-1", "", "", '{"platform":"web"}', f'{{"page_path":"{page}"}}',
    ]  # fmt: skip


def _row_hash(values: list[str | None]) -> str:
    """The md5 the macro row_hash computes: 's' + text per value, 'n' per null, '|' between."""
    text = "|".join("n" if value is None else "s" + value for value in values)
    return hashlib.md5(text.encode()).hexdigest()


# an event_id spelled like the key of the keyless /m row below (its row hash as landed: the
# empty fields are nulls): a source system may send any text, and the two share one key
SPOOFED = "no-event-id:" + _row_hash([value or None for value in _row("", "2026-03-06T12:00:00Z", "/m")])

# (event_id, received_at, page_path): the page path tells deliveries with one time apart
FEED = [
    ("e-a", "2026-03-02T10:00:05Z", "/a"),
    ("e-a", "2026-03-02T10:00:01Z", "/a"),
    (" e-a ", "2026-03-03T09:00:00Z", "/a"),  # padded: the same event once trimmed
    ("e-tie", "2026-03-04T08:00:00Z", "/x"),  # three times one instant: the row hash decides
    ("e-tie", "2026-03-04T08:00:00Z", "/y"),
    ("e-tie", "2026-03-04T08:00:00Z", "/z"),
    ("e-copy", "2026-03-05T07:00:00Z", "/c"),  # three byte-identical copies
    ("e-copy", "2026-03-05T07:00:00Z", "/c"),
    ("e-copy", "2026-03-05T07:00:00Z", "/c"),
    ("e-copy", "2026-03-05T06:00:00Z", "/d"),  # and an earlier, different delivery
    ("", "2026-03-06T12:00:00Z", "/n"),  # no event_id: keyed by the row hash
    ("", "2026-03-06T12:00:00Z", "/n"),  # its byte-identical copy: a redelivery
    ("", "2026-03-06T12:00:00Z", "/m"),  # a different row: its own key, which the next id spells
    (SPOOFED, "2026-03-06T11:00:00Z", "/spoof"),  # earlier, so the keyless /m row is its redelivery
    ("e-past", "2019-06-01T00:00:00Z", "/p"),  # out of range: after the plausible one
    ("e-past", "2026-03-07T00:00:00Z", "/p"),
    ("e-feb30", "2026-02-30T00:00:00Z", "/f"),  # names no instant: after the plausible one
    ("e-feb30", "2026-03-08T00:00:00Z", "/f"),
    ("e-blank", "", "/b"),  # no receive time, twice
    ("e-blank", "", "/b2"),
    ("e-single", "2026-03-09T00:00:00Z", "/s"),
]


def _write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for event_id, received_at, page in FEED:
            writer.writerow(_row(event_id, received_at, page))


def _parse(text: str | None) -> dt.datetime | None:
    if text is None or not text.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def _expected(raw: pd.DataFrame, run_started: dt.datetime) -> dict[tuple[str, str], list[int]]:
    """(dedup key, row hash) -> the sorted numbers of that group's deliveries."""
    frame = raw.copy()
    frame["row_hash"] = [_row_hash(list(row)) for row in frame[COLUMNS].itertuples(index=False)]
    trimmed = frame["event_id"].map(lambda value: (value or "").strip() or None)
    frame["key"] = trimmed.where(trimmed.notna(), "no-event-id:" + frame["row_hash"])
    frame["received"] = frame["received_at"].map(_parse)
    latest = run_started + dt.timedelta(minutes=60)  # var received_at_max_future_minutes
    frame["implausible"] = frame["received"].map(
        lambda value: value is None or not (EARLIEST <= value <= latest)
    )
    frame["received_sort"] = frame["received"].map(lambda value: value or dt.datetime.max)
    frame = frame.sort_values(["key", "implausible", "received_sort", "row_hash"])
    frame["number"] = frame.groupby("key").cumcount() + 1
    return {
        (key, row_hash): sorted(group["number"].tolist())
        for (key, row_hash), group in frame.groupby(["key", "row_hash"])
    }


def _land_behind_a_view(db_path: Path) -> None:
    """raw.raw_events becomes a view of the landed rows (as a user may point the source at)."""
    with duckdb.connect(str(db_path)) as con:
        con.execute("create table raw.raw_events_landed as select * from raw.raw_events")
        con.execute("drop table raw.raw_events")
        con.execute("create view raw.raw_events as select * from raw.raw_events_landed")


@pytest.fixture(scope="module", params=["table", "view"])
def built(request, tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame, dt.datetime]:
    landing = request.param
    work = tmp_path_factory.mktemp(f"dedup_narrow_ranks_{landing}")
    _write(work / "raw" / "raw_events" / "part-0000.csv")
    db_path = work / "warehouse.duckdb"
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = load_raw(work / "raw", db_path)
    assert report.ok, report.errors
    if landing == "view":
        _land_behind_a_view(db_path)
    run_dbt(["build", "--full-refresh", *SELECTION], db_path, work / "build")
    compiled = next((work / "build" / "target").rglob("int_events_deduplicated.sql")).read_text()
    # which numbering ran: the narrow ranking on the table, the window behind the view
    assert ("delivery_counts" in compiled) == (landing == "table"), landing
    with duckdb.connect(str(db_path), read_only=True) as con:
        located = con.execute("select count(raw_rowid) from staging.stg_tracking__events").fetchone()[0]
    assert located == (len(FEED) if landing == "table" else 0), landing
    with duckdb.connect(str(db_path), read_only=True) as con:
        raw = con.execute(f"select {', '.join(COLUMNS)} from raw.raw_events").df()
        dedup = con.execute(
            "select dedup_key, raw_row_hash, delivery_number, raw_event_key, is_redelivery "
            "from intermediate.int_events_deduplicated"
        ).df()
    raw = raw.astype(object).where(raw.notna(), None)
    return raw, dedup, started


def test_every_delivery_is_numbered_as_pandas_numbers_it(built):
    raw, dedup, started = built
    assert len(dedup) == len(FEED) == len(raw)
    got = {
        (key, row_hash): sorted(group["delivery_number"].tolist())
        for (key, row_hash), group in dedup.groupby(["dedup_key", "raw_row_hash"])
    }
    assert got == _expected(raw, started)


def test_the_feed_reaches_the_repeated_and_the_single_paths(built):
    """The planted cases are there: ties, copies, hash keys and single deliveries."""
    _, dedup, _ = built
    numbers = dedup.groupby("dedup_key")["delivery_number"].max()
    assert numbers["e-a"] == 3 and numbers["e-tie"] == 3 and numbers["e-copy"] == 4
    assert numbers["e-single"] == 1
    hash_keys = numbers[numbers.index.str.startswith("no-event-id:")]
    # the copied row twice; the /m row after the earlier id spelled like its key
    assert sorted(hash_keys.tolist()) == [2, 2]
    assert numbers[SPOOFED] == 2
    assert set(dedup["raw_event_key"]) == {
        f"{key}#{number}" for key, number in zip(dedup["dedup_key"], dedup["delivery_number"], strict=True)
    }
    assert (dedup["is_redelivery"] == (dedup["delivery_number"] > 1)).all()
    # the tie of e-tie was decided by the row hash: its first delivery has the smallest one
    tie = dedup[dedup["dedup_key"] == "e-tie"].sort_values("delivery_number")
    assert tie["raw_row_hash"].tolist() == sorted(tie["raw_row_hash"].tolist())
