"""The nightly's retention step deletes what is past its policy every night, but rewrites the
DuckDB file (lawn/warehouse_compact.py) only on data days of the configured weekday: at
1.04M events the rewrite took 48 s, more than the one-day increment it would follow every
night. What each night decides is checked here on the step itself (the rewrite's own
behaviour is tested in test_governance_handwritten and test_privacy)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lawn import nightly
from lawn.retention import AuditRow
from lawn.settings import RETENTION_COMPACT_WEEKDAY, WEEKDAYS

SUNDAY = dt.date(2026, 11, 29)  # a Sunday (checked below against the calendar)


def test_the_weekday_rule():
    assert SUNDAY.isoweekday() == 7 and WEEKDAYS[SUNDAY.weekday()] == "sunday"
    assert nightly.compacts_on(SUNDAY, "sunday")
    assert not any(nightly.compacts_on(SUNDAY + dt.timedelta(days=n), "sunday") for n in range(1, 7))
    assert nightly.compacts_on(SUNDAY + dt.timedelta(days=7), "sunday")
    assert nightly.compacts_on(SUNDAY + dt.timedelta(days=3), "wednesday")
    assert all(nightly.compacts_on(SUNDAY + dt.timedelta(days=n), "daily") for n in range(7))
    assert nightly.compacts_on(None, "sunday")  # no data day yet: nothing to wait for


def _row(relation: str, affected: int) -> AuditRow:
    at = dt.datetime(2026, 11, 30)
    return AuditRow("r", relation, "raw_landing", "delete", 395, "received_at", at, affected, False, at)


@pytest.mark.parametrize(
    ("day", "purged", "rewrites", "note"),
    [
        (SUNDAY, 5, True, "; file rewritten now"),
        (SUNDAY + dt.timedelta(days=1), 5, False, f"; file rewritten on {RETENTION_COMPACT_WEEKDAY}s"),
        (SUNDAY + dt.timedelta(days=1), 0, False, ""),
    ],
)
def test_the_step_passes_the_nights_decision(monkeypatch, tmp_path: Path, day, purged, rewrites, note):
    if RETENTION_COMPACT_WEEKDAY != "sunday":
        pytest.skip("dbt_project.yml sets another weekday")
    calls = []

    def fake_apply(db_path, run_id, manifest_path, compact_file, reference):
        assert reference is None  # not a replay: var received_at_reference_time, else now
        calls.append(compact_file)
        return [_row("raw.raw_events", purged), _row("files:exports", 2)]

    monkeypatch.setattr("lawn.retention.apply_retention", fake_apply)
    monkeypatch.setattr("lawn.nightly_steps.data_day_of", lambda db_path: day)
    config = nightly.NightlyConfig(tmp_path / "w.duckdb", tmp_path / "m", tmp_path / "e", tmp_path / "r")
    detail = nightly.step_retention(config, {"run_id": "run-1"})
    assert calls == [rewrites]
    assert detail.endswith(f"purged: raw.raw_events {purged}, files:exports 2{note}" if purged else
                           f"purged: files:exports 2{note}")  # fmt: skip


def test_a_replay_ages_rows_from_the_end_of_its_day(monkeypatch, tmp_path: Path):
    """`lawn nightly --as-of D` purges what that night purged: ages counted from the end of D,
    not from today's clock (a probe's replay of a day over a year back deleted the day's own
    events before its weekly report read them). What a reference purges is tested on
    warehouses in test_privacy.py (`lawn retention apply --as-of`); here, that the replay's
    step passes the end of D (UTC midnight after it) as the reference."""
    seen = []

    def fake_apply(db_path, run_id, manifest_path, compact_file, reference):
        seen.append(reference)
        return []

    monkeypatch.setattr("lawn.retention.apply_retention", fake_apply)
    monkeypatch.setattr("lawn.nightly_steps.data_day_of", lambda db_path: SUNDAY)
    config = nightly.NightlyConfig(tmp_path / "w.duckdb", tmp_path / "m", tmp_path / "e", tmp_path / "r",
                                   as_of=dt.date(2021, 1, 3))  # fmt: skip
    nightly.step_retention(config, {"run_id": "run-1"})
    assert seen == [dt.datetime(2021, 1, 4)]
