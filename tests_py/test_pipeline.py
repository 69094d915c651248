"""dbt over generated Parquet: quarantine, deduplication, reconciliation and data quality,
each checked against an expectation computed here in pandas from the raw file."""

from __future__ import annotations

import pandas as pd
import pytest

from lawn.tracking_plan import load_tracking_plan
from tests_py.conftest import query, run_dbt
from tests_py.expectations import data_quality_from_rows, expected_verdicts, parse_utc

PLAN = load_tracking_plan()


@pytest.fixture(scope="module")
def verdicts(small_data) -> pd.DataFrame:
    return expected_verdicts(small_data.raw["raw_events"], PLAN)


def test_every_planted_invalid_event_is_quarantined_with_its_reason(built_small, small_data):
    quarantined = query(
        built_small, "select event_id, reason_codes, reason_details from marts.fct_quarantined_events"
    ).set_index("event_id")
    planted = small_data.truth["dirt"].dropna(subset=["expected_reason_code"])
    assert len(planted) > 0
    for row in planted.itertuples():
        assert row.event_id in quarantined.index, f"{row.dirt_kind} event {row.event_id} not quarantined"
        assert quarantined.loc[row.event_id, "reason_codes"] == row.expected_reason_code, row
        if isinstance(row.property_name, str):
            assert (
                f"{row.expected_reason_code}:{row.property_name}"
                in quarantined.loc[row.event_id, "reason_details"]
            )
    assert set(quarantined.index) == set(planted["event_id"]), "only planted events are quarantined"


def test_quarantine_matches_the_rules_restated_in_python(built_small, verdicts):
    expected = verdicts[~verdicts["is_redelivery"] & (verdicts["expected_reasons"].map(len) > 0)]
    actual = query(built_small, "select event_id, reason_codes from marts.fct_quarantined_events")
    actual_map = {row.event_id: frozenset(row.reason_codes.split("|")) for row in actual.itertuples()}
    assert actual_map == dict(zip(expected["event_id"], expected["expected_reasons"], strict=True))


def test_redeliveries_are_removed_and_counted(built_small, small_data, verdicts):
    planted = (small_data.truth["dirt"]["dirt_kind"] == "duplicate").sum()
    counts = query(
        built_small,
        """
        select
            (select count(*) from intermediate.int_events_deduplicated where is_redelivery) as dupes,
            (select count(*) from marts.fct_events) as valid,
            (select count(distinct event_id) from marts.fct_events) as distinct_valid,
            (select sum(duplicate_count) from marts.fct_data_quality_daily) as dq_dupes
    """,
    ).iloc[0]
    assert counts["dupes"] == planted == verdicts["is_redelivery"].sum() > 0
    assert counts["dq_dupes"] == planted
    assert counts["valid"] == counts["distinct_valid"]


def test_first_received_delivery_is_the_one_kept(built_small, small_data):
    raw = small_data.raw["raw_events"].copy()
    raw["received"] = raw["received_at"].map(parse_utc)
    first = raw.sort_values("received").drop_duplicates("event_id").set_index("event_id")["received"]
    kept = query(built_small, "select event_id, received_at from marts.fct_events").set_index("event_id")
    joined = kept.join(first)
    assert (joined["received_at"] == joined["received"]).all()


def test_raw_equals_valid_plus_quarantined_plus_duplicates(built_small, small_data, verdicts):
    raw_rows = len(small_data.raw["raw_events"])
    valid = ((~verdicts["is_redelivery"]) & (verdicts["expected_reasons"].map(len) == 0)).sum()
    counts = query(
        built_small,
        """
        select
            (select count(*) from marts.fct_events) as valid,
            (select count(*) from marts.fct_quarantined_events) as quarantined,
            (select count(*) from intermediate.int_events_deduplicated where is_redelivery) as dupes
    """,
    ).iloc[0]
    assert counts["valid"] == valid
    assert counts["valid"] + counts["quarantined"] + counts["dupes"] == raw_rows


def test_timestamps_are_converted_to_utc(built_small, small_data):
    raw = small_data.raw["raw_events"].drop_duplicates("event_id").set_index("event_id")
    events = query(built_small, "select event_id, occurred_at from marts.fct_events using sample 200 rows")
    assert len(events) == 200
    for row in events.itertuples():
        assert row.occurred_at.to_pydatetime() == parse_utc(raw.loc[row.event_id, "occurred_at"])


def _data_quality_daily(db, columns: str) -> pd.DataFrame:
    """The mart's ``columns`` indexed by (receive date, source, event name), in that order."""
    actual = query(
        db, f"select received_date, source, event_name, {columns} from marts.fct_data_quality_daily"
    )
    actual["received_date"] = pd.to_datetime(actual["received_date"]).dt.date
    return actual.set_index(["received_date", "source", "event_name"]).sort_index()


def test_data_quality_daily_matches_pandas(built_small, small_data, verdicts):
    frame = verdicts.copy()
    frame["received_date"] = frame["received_at"].map(lambda t: parse_utc(t).date())
    frame["valid"] = ~frame["is_redelivery"] & (frame["expected_reasons"].map(len) == 0)
    frame["first"] = ~frame["is_redelivery"]
    expected = frame.groupby(["received_date", "source", "event_name"]).agg(
        delivered=("event_id", "size"), valid=("valid", "sum"), first=("first", "sum")
    )
    expected["share"] = expected["valid"] / expected["first"]
    actual = _data_quality_daily(built_small, "delivered_count, valid_count, valid_share")
    expected = expected.sort_index()
    assert list(actual.index) == list(expected.index)
    assert (actual["delivered_count"].to_numpy() == expected["delivered"].to_numpy()).all()
    assert (actual["valid_count"].to_numpy() == expected["valid"].to_numpy()).all()
    assert actual["valid_share"].to_numpy() == pytest.approx(expected["share"].to_numpy(), nan_ok=True)


def test_data_quality_counts_join_each_delivery_to_its_event_in_pandas(built_small, verdicts):
    """The mart counts deliveries and attributed events per group apart; here every delivery
    is joined to its event by raw_event_key (in pandas) and counted in the delivery's group,
    as the mart once did in SQL. Redeliveries, quarantined and unattributed rows all occur."""
    deliveries = query(
        built_small,
        "select raw_event_key, delivery_status, received_at, source, event_name "
        "from intermediate.int_events_validated",
    )
    events = query(built_small, "select raw_event_key, person_id from marts.fct_events")
    expected = data_quality_from_rows(deliveries, events)
    for column in ("duplicate_count", "quarantined_count", "attributed_count"):
        assert expected[column].sum() > 0, f"the small world has no {column}: nothing is checked"
    assert (expected["attributed_count"] < expected["valid_count"]).any(), "no unattributed event"
    actual = _data_quality_daily(built_small, ", ".join(expected.columns))
    assert list(actual.index) == list(expected.index)
    for column in expected.columns:
        assert actual[column].astype(int).tolist() == expected[column].astype(int).tolist(), column


def test_quality_floor_fails_the_build_when_share_drops(built_small, tmp_path):
    """The singular test passes at the configured floor and fails when the floor is raised
    above the worst day's share (computed here from the mart)."""
    daily = query(
        built_small,
        "select received_date, sum(valid_count) / sum(first_delivery_count) as s, "
        "sum(first_delivery_count) as n from marts.fct_data_quality_daily group by 1",
    )
    worst = daily.loc[daily["n"] >= 5, "s"].min()
    assert worst < 1.0
    ok = run_dbt(
        ["test", "-s", "assert_daily_valid_share_above_floor"],
        built_small,
        tmp_path,
        check=False,
        dbt_vars={"dq_valid_share_floor": worst - 0.001, "dq_min_daily_events": 5},
    )
    assert ok.returncode == 0, ok.stdout[-2000:]
    bad = run_dbt(
        ["test", "-s", "assert_daily_valid_share_above_floor"],
        built_small,
        tmp_path,
        check=False,
        dbt_vars={"dq_valid_share_floor": worst + 0.001, "dq_min_daily_events": 5},
    )
    assert bad.returncode != 0
    assert "assert_daily_valid_share_above_floor" in bad.stdout
