"""fct_account_features_daily: values equal pandas over the valid events by day of receipt,
and no feature leaks the future (a rebuild with the raw data cut at D gives the same rows
for every day up to D)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests_py.conftest import SMALL, query, run_dbt
from tests_py.expectations import parse_utc
from tests_py.metric_expectations import ACTIVITY

CUT_DAY = SMALL.start_date + dt.timedelta(days=35)


def _features(db) -> pd.DataFrame:
    frame = query(db, "select * from marts.fct_account_features_daily")
    frame["feature_date"] = pd.to_datetime(frame["feature_date"]).dt.date
    return frame.set_index(["account_id", "feature_date"]).sort_index()


def test_features_equal_pandas_by_day_of_receipt(built_small, valid_events):
    events = valid_events.assign(received=valid_events["received_at"].map(parse_utc))
    events["received_date"] = pd.to_datetime(events["received"]).dt.date
    events = events[events["account_id"].notna()]
    features = _features(built_small)
    sample = features.iloc[:: max(1, len(features) // 150)]
    api_error_rows = 0
    for (account_id, day), row in sample.iterrows():
        mine = events[(events["account_id"] == account_id) & (events["received_date"] <= day)]
        last7 = mine[mine["received_date"] > day - dt.timedelta(days=7)]
        last28 = mine[mine["received_date"] > day - dt.timedelta(days=28)]
        assert row["feature_uses_7d"] == (last7["event_name"] == "feature_used").sum()
        days_7_to_34 = mine[(mine["received_date"] <= day - dt.timedelta(days=7))
                            & (mine["received_date"] > day - dt.timedelta(days=35))]  # fmt: skip
        baseline = (days_7_to_34["event_name"] == "feature_used").sum()
        assert row["feature_uses_baseline_28d"] == baseline
        if baseline:
            assert row["usage_vs_baseline_7d"] == pytest.approx(row["feature_uses_7d"] / (baseline / 4))
        else:
            assert pd.isna(row["usage_vs_baseline_7d"])
        assert row["support_tickets_28d"] == (last28["event_name"] == "support_ticket_created").sum()
        requests = last7[last7["event_name"] == "api_request"]
        assert row["api_requests_7d"] == len(requests)
        # an error: a rate_limited event, or an api_request whose status_code reads as an
        # integer >= 400 (only an api_request's status code counts)
        status = pd.to_numeric(requests["props"].map(lambda props: props.get("status_code")), errors="coerce")
        errors = (last7["event_name"] == "rate_limited").sum() + (status >= 400).sum()
        assert row["api_errors_7d"] == errors
        api_error_rows += bool(errors)
        active = last7[last7["event_name"].isin(ACTIVITY) & last7["user_id"].notna()]
        assert row["active_users_7d"] == active["user_id"].nunique()
        nps = mine[mine["event_name"] == "nps_submitted"].sort_values(["at", "event_id"])
        expected_nps = float(nps["props"].iloc[-1]["score"]) if len(nps) else None
        assert (pd.isna(row["latest_nps_score"]) and expected_nps is None) or row[
            "latest_nps_score"
        ] == expected_nps
        plans = mine[mine["event_name"] == "plan_changed"].sort_values(["at", "event_id"])
        expected_mrr = float(plans["props"].iloc[-1]["mrr_usd"]) if len(plans) else 0.0
        assert float(row["mrr_usd"]) == pytest.approx(expected_mrr)
    assert len(sample) >= 100
    assert api_error_rows >= 5  # the sample holds days with API errors, not only zeros


def test_no_feature_leaks_the_future(small_data, built_small, tmp_path):
    raw = small_data.raw["raw_events"]
    received = pd.to_datetime(raw["received_at"].map(parse_utc))
    cut = raw[~(received.dt.date > CUT_DAY)]  # keep unparseable rows: they are quarantined either way
    occurred = pd.to_datetime(raw["occurred_at"].map(parse_utc))
    late = (occurred.dt.date <= CUT_DAY) & (received.dt.date > CUT_DAY)
    assert late.sum() > 0, "no late arrival straddles the cut: the test would prove nothing"
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for name, frame in {**small_data.raw, "raw_events": cut}.items():
        frame.astype("string").to_parquet(raw_dir / f"{name}.parquet", index=False)
    db = tmp_path / "cut.duckdb"
    run_dbt(
        ["build", "--select", "+fct_account_features_daily", "--exclude-resource-type", "test", "unit_test"],
        db,
        tmp_path,
        raw_dir=raw_dir,
    )
    full, partial = _features(built_small), _features(db)
    full = full[full.index.get_level_values("feature_date") <= CUT_DAY]
    partial = partial[partial.index.get_level_values("feature_date") <= CUT_DAY]
    assert len(full) > 200
    assert list(partial.index) == list(full.index)
    pd.testing.assert_frame_equal(partial, full, check_dtype=False)
