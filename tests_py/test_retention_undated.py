"""Retention of deliveries without a usable receive time, on a hand-written SDK-like feed.

A delivery whose `received_at` is empty, missing or not a time (INVALID_RECEIVED_AT) is
aged by its `occurred_at`; with neither time it is aged from 1970-01-01 and goes at the first
retention run (macros/governance/delivery_aged_at.sql, lawn/retention.py DELIVERY_AGE).
Every layer uses that one age: raw landing, the event history, the quarantine and its
payloads, the loader's withholding, the reconciliation. And a rebuild honours the cutoffs
already applied: raw landing keeps deliveries longer than the event history, and undated
deliveries are re-read from it at every incremental run (they cannot be placed against the
watermark), so without that a purged or anonymised delivery would come back.

The feed is tests_py/fixtures/governance (24 deliveries, one of them undated: e13) plus
five planted rows. The expected counts are computed here with pandas from the raw files,
independently of the SQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lawn.paths import SEEDS_DIR
from lawn.retention import apply_retention
from lawn.validate_raw import load_raw
from tests_py.conftest import query, run_dbt
from tests_py.pii_scan import scan_db

FEED = Path(__file__).parent / "fixtures" / "governance"
REFERENCE = dt.datetime(2026, 12, 10)
# cutoffs: raw landing 2026-11-10, event history 2026-11-15, quarantine 2026-11-20
KEEP = {"raw_landing": 30, "event_history": 25, "quarantine_payload": 20}
CUT = {name: REFERENCE - dt.timedelta(days=days) for name, days in KEEP.items()}
UNDATABLE_IP = "198.51.100.9"  # only in x1, which has no usable time at all


def _event(event_id: str, occurred: str | None, received: str | None, user: str, ip: str) -> dict:
    row = {
        "event_id": event_id,
        "event_name": "logged_in",
        "schema_version": 1,
        "source": "web",
        "occurred_at": occurred,
        "anonymous_id": None,
        "device_id": None,
        "user_id": user,
        "account_id": "acc_9",
        "context": {"platform": "web", "locale": "en-GB", "ip": ip},
        "properties": {"login_method": "sso"},
    }
    if received != "(absent)":
        row["received_at"] = received  # an SDK that leaves the key out sends no column value
    return row


# planted: undatable (x1); undated inside every period but the quarantine's (x2, redelivered
# as x2 again); undated and recent (x4, the key missing); undated, older than the event
# history's cutoff but inside raw landing's (x5)
PLANTED = [
    _event("x1", "2026-11-31T10:00:00Z", "2026-02-30T10:00:00Z", "usr_dan", UNDATABLE_IP),
    _event("x2", "2026-11-17T10:00:00Z", "", "usr_dan", "198.51.100.10"),
    _event("x2", "2026-11-17T10:00:00Z", "", "usr_dan", "198.51.100.10"),
    _event("x4", "2026-11-22T10:00:00+01:00", "(absent)", "usr_eve", "198.51.100.11"),
    _event("x5", "2026-11-12T10:00:00Z", None, "usr_fay", "198.51.100.12"),
]
# by design (the fixture's README, the feed's comments): local time, unknown event, no receive time
QUARANTINED = {"e11", "e12", "e13", "x1", "x2", "x4", "x5"}
IDENTIFIERS = ["anonymous_id", "device_id", "user_id", "account_id"]
OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _write_feed(folder: Path) -> Path:
    (folder / "raw_events").mkdir(parents=True)
    shutil.copy(FEED / "raw_events.jsonl", folder / "raw_events" / "a_sdk.jsonl")
    shutil.copy(FEED / "crm_accounts.csv", folder / "crm_accounts.csv")
    lines = [json.dumps(row) for row in PLANTED]
    (folder / "raw_events" / "b_planted.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _raw(folder: Path) -> pd.DataFrame:
    """Every delivery with its age, computed the contract's way: received_at (ISO 8601, no
    offset = UTC), else occurred_at (which needs an offset), else 1970-01-01."""
    files = sorted((folder / "raw_events").iterdir())
    raw = pd.concat([pd.read_json(path, lines=True, dtype=False) for path in files], ignore_index=True)

    def parse(value: object, need_offset: bool) -> pd.Timestamp:
        text = str(value).strip() if isinstance(value, str) else ""
        if not text or (need_offset and not OFFSET.search(text)):
            return pd.NaT
        stamp = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        return stamp.tz_localize(None) if stamp is not pd.NaT else pd.NaT

    received = raw["received_at"].map(lambda v: parse(v, False))
    occurred = raw["occurred_at"].map(lambda v: parse(v, True))
    raw["aged_at"] = received.fillna(occurred).fillna(pd.Timestamp("1970-01-01"))
    raw["undated"] = received.isna()
    return raw


def _policies(folder: Path) -> Path:
    frame = pd.read_csv(SEEDS_DIR / "governance" / "retention_policies.csv")
    frame["keep_days"] = frame["retention_class"].map(KEEP).fillna(frame["keep_days"]).astype(int)
    path = folder / "policies.csv"
    frame.to_csv(path, index=False)
    return path


def _select() -> list[str]:
    # the event path, the quarantine, the reconciliation and its test (not the metric marts)
    return [
        "--select", "+fct_event_reconciliation", "+pii_quarantined_event_payloads",
        "assert_raw_rows_reconcile_with_event_marts", "--indirect-selection", "cautious",
        "--exclude-resource-type", "unit_test",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("retention_undated")
    feed = _write_feed(work / "feed")
    db = work / "lawn.duckdb"
    run_dbt(["build", *_select()], db, work, raw_dir=feed)
    raw = _raw(feed)
    before = {
        "quarantined": query(db, "select event_id from marts.fct_quarantined_events"),
        "payloads": query(db, "select count(*) as n from pii.pii_quarantined_event_payloads")["n"][0],
    }
    applied = apply_retention(db, reference=REFERENCE, policies_path=_policies(work), manifest_path=None)
    return {"work": work, "feed": feed, "db": db, "raw": raw, "before": before,
            "applied": {row.relation_name: row.rows_affected for row in applied}}  # fmt: skip


def test_the_planted_rows_are_what_the_test_needs(world):
    raw = world["raw"]
    assert set(world["before"]["quarantined"]["event_id"]) == QUARANTINED
    assert world["before"]["payloads"] == len(QUARANTINED)
    ages = raw.drop_duplicates("event_id").set_index("event_id")["aged_at"]
    assert ages["x1"] == pd.Timestamp("1970-01-01")
    assert CUT["event_history"] <= ages["x2"] < CUT["quarantine_payload"] <= ages["x4"]
    assert CUT["raw_landing"] <= ages["x5"] < CUT["event_history"]
    # every band holds a row: past raw, past history only, past quarantine only, inside all
    bands = pd.cut(raw["aged_at"], [pd.Timestamp.min, *CUT.values(), pd.Timestamp.max], right=False)
    assert (bands.value_counts() > 0).all()


def test_retention_ages_an_undated_delivery_by_its_occurrence(world):
    raw, db, applied = world["raw"], world["db"], world["applied"]
    past_raw = int((raw["aged_at"] < CUT["raw_landing"]).sum())
    past_history = int((raw["aged_at"] < CUT["event_history"]).sum())
    assert applied["raw.raw_events"] == past_raw
    # every delivery is in the event history, with its verdict
    assert applied["intermediate.int_events_deduplicated"] == past_history
    assert applied["intermediate.int_events_validated"] == past_history
    # quarantined first deliveries past the quarantine's cutoff, identifiers nulled
    first = raw[raw["event_id"].isin(QUARANTINED)].drop_duplicates("event_id")
    anonymised = int((first["aged_at"] < CUT["quarantine_payload"]).sum())
    assert applied["marts.fct_quarantined_events"] == anonymised
    assert applied["pii.pii_quarantined_event_payloads"] == anonymised
    landed = query(db, "select count(*) as n from raw.raw_events")["n"][0]
    assert landed == len(raw) - past_raw
    assert scan_db(db, {UNDATABLE_IP}) == []  # the undatable row left raw landing


def _check_rebuilt(world: dict, log: str) -> None:
    raw, db = world["raw"], world["db"]
    # the build succeeded (run_dbt checks) and ran the reconciliation test
    assert re.search(r"PASS assert_raw_rows_reconcile_with_event_marts", log), log[-3000:]
    history = query(db, "select event_id, received_at, occurred_at from intermediate.int_events_deduplicated")
    kept = raw[raw["aged_at"] >= CUT["event_history"]]
    assert len(history) == len(kept)  # x5 and the other old rows are not read back from raw
    assert sorted(history["event_id"].dropna()) == sorted(kept["event_id"].dropna())
    quarantine = query(db, "select * from marts.fct_quarantined_events").set_index("event_id")
    ages = raw.drop_duplicates("event_id").set_index("event_id")["aged_at"]
    old = [key for key in quarantine.index if ages[key] < CUT["quarantine_payload"]]
    assert set(old) >= {"x2", "e13"} and "x5" not in quarantine.index  # x5: purged with the history
    assert quarantine.loc[old, IDENTIFIERS].isna().all().all()
    assert quarantine.loc["x4", "user_id"] == "usr_eve"
    payloads = query(
        db,
        "select f.event_id from pii.pii_quarantined_event_payloads as p "
        "inner join marts.fct_quarantined_events as f using (raw_event_key) "
        "where p.context_raw is not null or p.properties_raw is not null",
    )
    young = {key for key in quarantine.index if ages[key] >= CUT["quarantine_payload"]}
    assert set(payloads["event_id"]) == young
    # only deliveries inside the event history's period, as a full refresh would build it
    assert (quarantine.index.map(ages) >= CUT["event_history"]).all()
    summary = query(db, "select * from marts.fct_event_reconciliation").iloc[0]
    assert summary["is_reconciled"]
    landed = raw[raw["aged_at"] >= CUT["raw_landing"]]
    assert summary["raw_count"] == len(landed)
    assert summary["purged_from_history_count"] == int((landed["aged_at"] < CUT["event_history"]).sum())
    assert summary["purged_from_raw_count"] == 0
    assert scan_db(db, {UNDATABLE_IP}) == []


def test_a_reload_withholds_and_a_rebuild_brings_back_nothing_purged(world):
    """The same files landed again (the loader withholds what raw retention purged, by the
    same age), then an incremental build: its undated rows are re-read from raw landing."""
    # the producer re-sends its export with one more delivery: a changed file, landed in full
    planted = world["feed"] / "raw_events" / "b_planted.jsonl"
    later = _event("x6", "2026-12-01T10:00:00Z", "2026-12-01T10:00:01Z", "usr_eve", "198.51.100.11")
    planted.write_text(planted.read_text() + json.dumps(later) + "\n")
    raw = world["raw"] = _raw(world["feed"])
    report = load_raw(world["feed"], world["db"])
    assert report.ok, report.errors
    assert report.withheld.retention == int((raw["aged_at"] < CUT["raw_landing"]).sum())
    _check_rebuilt(world, run_dbt(["build", *_select()], world["db"], world["work"]).stdout)
    world["incremental"] = _marts(world["db"])


def _marts(db: Path) -> dict[str, pd.DataFrame]:
    tables = {
        "marts.fct_quarantined_events": "raw_event_key",
        "pii.pii_quarantined_event_payloads": "raw_event_key",
        "intermediate.int_events_deduplicated": "raw_event_key",
        "marts.fct_events": "event_id",
        "marts.fct_event_reconciliation": "reconciliation_key",
    }
    return {table: query(db, f"select * from {table} order by {key}") for table, key in tables.items()}


def test_a_full_refresh_after_retention_brings_back_nothing_purged(world):
    _check_rebuilt(world, run_dbt(["build", "--full-refresh", *_select()], world["db"], world["work"]).stdout)
    # the incremental build before it left the same rows (the project's rule for incrementals)
    assert "incremental" in world, "runs after the incremental test (file order)"
    rebuilt = _marts(world["db"])
    for table, frame in world["incremental"].items():
        pd.testing.assert_frame_equal(frame, rebuilt[table], obj=table)
