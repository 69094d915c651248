"""A billing event delivered late, in a new file, with a receive time older than the event
tables' incremental lookback (a delayed export): the incremental `lawn build` does not read it
(docs/events.md, "Incremental runs": such rows need --full-refresh), so the marts lack it and
the raw reconciliation test fails. The build must say so and name the cure, not only dbt's
"Got 1 result"; `--full-refresh` then gives the right MRR.

Feed: tests_py/fixtures/probe_metrics (a hand-written billing world, January to June 2026; its
story is in make_world.py there). The late delivery is a_multi's cancellation on 2026-02-15,
received (collected) on 2026-03-10 but landed after the June data."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from tests_py.billing_world import FEED, billing_world, month_end_mrr

runner = CliRunner()

LATE_CANCELLATION = {
    "event_id": "late-cancel-multi",
    "event_name": "subscription_canceled",
    "schema_version": "1",
    "source": "backend",
    "occurred_at": "2026-02-15T09:00:00Z",
    "received_at": "2026-03-10T08:00:00Z",
    "anonymous_id": "",
    "device_id": "",
    "user_id": "u_a_multi",
    "account_id": "a_multi",
    "context": '{"platform": "server"}',
    "properties": '{"plan": "starter", "mrr_usd": 49, "cancel_reason": "other"}',
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("late_delivery")
    raw, env = billing_world(root)
    return root, raw, env


def _build(raw: Path, env: dict, *extra: str):
    return runner.invoke(app, ["build", "--raw-dir", str(raw), "--no-unit-tests", *extra], env=env)


def _output(result) -> str:
    try:
        return result.output + (result.stderr or "")
    except ValueError:  # stderr not captured apart
        return result.output


def test_late_delivery_is_named_and_full_refresh_reads_it(world):
    _root, raw, env = world
    first = _build(raw, env)
    assert first.exit_code == 0, _output(first)

    with open(raw / "raw_events" / "part-0002.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(LATE_CANCELLATION))
        writer.writeheader()
        writer.writerow(LATE_CANCELLATION)

    incremental = _build(raw, env)
    text = " ".join(_output(incremental).split())
    assert incremental.exit_code != 0  # the raw reconciliation fails: the row was not read
    assert "assert_raw_rows_reconcile_with_event_marts failed" in text
    assert "lawn build --full-refresh" in text

    refreshed = _build(raw, env, "--full-refresh")
    assert refreshed.exit_code == 0, _output(refreshed)
    assert "hint:" not in _output(refreshed)

    events = pd.concat(
        [
            pd.read_csv(FEED / "raw_events.csv", dtype=str, keep_default_na=False),
            pd.DataFrame([LATE_CANCELLATION]),
        ]
    )
    expected = month_end_mrr(events, "a_multi")
    # by hand: 49 at January's end, cancelled 15 February, growth $99 on 3 March
    assert expected == {
        "2026-01-01": 49.0,
        "2026-02-01": 0.0,
        "2026-03-01": 99.0,
        "2026-04-01": 99.0,
        "2026-05-01": 99.0,
        "2026-06-01": 99.0,
    }
    with duckdb.connect(env["LAWN_DUCKDB_PATH"], read_only=True) as con:
        got = con.execute(
            "select cast(month_start as varchar), cast(mrr_usd as double), movement_type "
            "from marts.fct_mrr where account_id = 'a_multi' order by 1"
        ).fetchall()
    assert {month: mrr for month, mrr, _ in got} == expected
    assert [movement for *_, movement in got] == ["new", "churn", "reactivation", "none", "none", "none"]
