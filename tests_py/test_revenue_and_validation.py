"""End to end on hand-written fixture feeds (tests_py/fixtures/revenue, tests_py/fixtures/json):
revenue starts at the first payment, strict JSON, occurred_at needs an offset, and receive
times outside the plausible range are quarantined without moving the data day or the
incremental watermark. Expected figures are written out by hand from the fixture's story
(tests_py/fixtures/revenue/README.md) and cross-checked with the pandas restatements."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from lawn.tracking_plan import load_tracking_plan
from tests_py.conftest import query, run_dbt
from tests_py.expectations import expected_verdicts, parse_utc, strict_json_object
from tests_py.fixture_feeds import FIXTURES, read_csv, write_feed
from tests_py.metric_expectations import monthly_mrr

REVENUE = FIXTURES / "revenue"
QUARANTINE_CASES = FIXTURES / "json" / "quarantine_events.csv"
DATA_DAY = dt.date(2026, 5, 20)  # the feed's last valid event

# account -> {month: (month-end MRR, movement)}, from the fixture README's table
EXPECTED_MRR = {
    "acc_trial_paid": {2: (29, "new"), 3: (29, "none"), 4: (29, "none"), 5: (29, "none")},
    "acc_churn_react": {
        1: (99, "new"),
        2: (0, "churn"),
        3: (0, "none"),
        4: (29, "reactivation"),
        5: (29, "none"),
    },
    "acc_trial_same_month": {3: (99, "new"), 4: (99, "none"), 5: (99, "none")},
    "acc_downgrade_zero": {
        1: (29, "new"),
        2: (99, "expansion"),
        3: (0, "churn"),
        4: (0, "none"),
        5: (0, "none"),
    },
}
# (month, channel) -> (new paying customers, their MRR, spend)
EXPECTED_CAC = {
    (1, "paid_search"): (0, 0, 100),
    (1, "paid_social"): (1, 99, 50),
    (1, "organic"): (1, 29, 0),
    (2, "paid_search"): (1, 29, 200),
    (3, "paid_search"): (1, 99, 300),
    (3, "paid_social"): (0, 0, 60),
}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _month(number: int) -> dt.date:
    return dt.date(2026, number, 1)


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    return read_csv(QUARANTINE_CASES)


@pytest.fixture(scope="module")
def feed(tmp_path_factory, cases):
    return write_feed(REVENUE, tmp_path_factory.mktemp("revenue_feed") / "raw", extra_events=cases)


@pytest.fixture(scope="module")
def built(feed, tmp_path_factory):
    work = tmp_path_factory.mktemp("build_revenue")
    db_path = work / "lawn.duckdb"
    run_dbt(["build", "--full-refresh", "--exclude-resource-type", "unit_test"], db_path, work, raw_dir=feed)
    return db_path


def test_mrr_history_starts_at_the_first_payment(built):
    mart = query(
        built, "select account_id, month_start, mrr_usd, movement_type, cohort_month from marts.fct_mrr"
    )
    actual = {
        (row.account_id, row.month_start.month): (float(row.mrr_usd), row.movement_type)
        for row in mart.itertuples()
    }
    expected = {
        (account, month): (float(mrr), movement)
        for account, months in EXPECTED_MRR.items()
        for month, (mrr, movement) in months.items()
    }
    assert actual == expected
    # never-paid accounts (a free plan forever, an expired trial) have no MRR rows
    assert not {"acc_free_forever", "acc_trial_expired"} & set(mart["account_id"])
    cohorts = mart.groupby("account_id")["cohort_month"].first().map(lambda d: pd.Timestamp(d).month)
    assert cohorts.to_dict() == {account: min(months) for account, months in EXPECTED_MRR.items()}


def test_pandas_restatement_agrees_on_the_fixture(built):
    """The pandas month-end restatement (used on generated data) gives the same history."""
    raw = read_csv(REVENUE / "raw_events.csv")
    changes = raw[raw["event_name"] == "plan_changed"].copy()
    changes["at"] = changes["occurred_at"].map(parse_utc)
    changes = changes.sort_values(["at", "event_id"])
    changes["day"] = changes["at"].map(lambda at: at.date())
    changes["mrr_usd"] = changes["properties"].map(lambda text: float(strict_json_object(text)["mrr_usd"]))
    restated = monthly_mrr(changes[["account_id", "day", "mrr_usd"]], DATA_DAY)
    as_dict = {
        (row.account_id, row.month_start.month): (row.mrr_usd, row.movement_type)
        for row in restated.itertuples()
    }
    assert as_dict == {
        (account, month): (float(mrr), movement)
        for account, months in EXPECTED_MRR.items()
        for month, (mrr, movement) in months.items()
    }


def test_movements_count_first_payments_as_new(built):
    movements = query(built, "select movement_type, count(*) as n from marts.fct_mrr_movements group by 1")
    counts = dict(zip(movements["movement_type"], movements["n"], strict=True))
    assert counts == {"new": 4, "reactivation": 1, "churn": 2, "expansion": 1}
    # movements sum to the last month's total MRR (29 + 29 + 99 + 0)
    total = query(built, "select sum(movement_usd) as s from marts.fct_mrr_movements")["s"].iloc[0]
    assert float(total) == pytest.approx(157.0)


def test_cac_payback_counts_first_payments(built):
    mart = query(
        built,
        "select month_start, acquisition_channel, spend_usd, new_customers, new_mrr_usd, cac_usd, "
        "payback_months from marts.fct_cac_payback",
    )
    actual = {
        (row.month_start.month, row.acquisition_channel): (
            int(row.new_customers),
            float(row.new_mrr_usd),
            float(row.spend_usd),
        )
        for row in mart.itertuples()
    }
    assert actual == {key: (n, float(mrr), float(spend)) for key, (n, mrr, spend) in EXPECTED_CAC.items()}
    paid = mart.set_index(["acquisition_channel"]).loc["paid_search"]
    february = paid[paid["month_start"].map(lambda d: d.month) == 2].iloc[0]
    assert february["cac_usd"] == pytest.approx(200 / 1)
    assert february["payback_months"] == pytest.approx(200 / (29 * 0.8))


def test_revenue_retention_splits_new_and_reactivated_mrr(built):
    mart = query(
        built,
        "select month_start, sum(starting_mrr_usd) as starting, sum(churned_mrr_usd) as churned, "
        "sum(expansion_mrr_usd) as expansion, sum(new_mrr_usd) as new, "
        "sum(reactivation_mrr_usd) as reactivated, sum(ending_mrr_usd) as ending "
        "from marts.fct_revenue_retention group by 1",
    )
    actual = {
        row.month_start.month: tuple(
            float(x) for x in (row.starting, row.churned, row.expansion, row.new, row.reactivated, row.ending)
        )
        for row in mart.itertuples()
    }
    # starting (paying at the previous month end), churned, expansion, new, reactivated, ending
    assert actual == {
        1: (0, 0, 0, 128, 0, 128),
        2: (128, 99, 70, 29, 0, 128),
        3: (128, 99, 0, 99, 0, 128),
        4: (128, 0, 0, 0, 29, 157),
        5: (157, 0, 0, 0, 0, 157),
    }


def test_first_paid_moment_and_trial_conversion(built):
    rows = query(
        built,
        "select entity_id, milestone_name, is_reached, reached_at, is_reached_in_window "
        "from marts.fct_activation where milestone_name in ('first_paid', 'first_paid_14d', 'trial_started')",
    ).set_index(["milestone_name", "entity_id"])
    first_paid = rows.loc["first_paid"]
    assert set(first_paid.index[first_paid["is_reached"]]) == {
        "acc_trial_paid",
        "acc_churn_react",
        "acc_trial_same_month",
        "acc_downgrade_zero",
    }
    assert first_paid.loc["acc_trial_paid", "reached_at"] == pd.Timestamp("2026-02-10 12:00:00")
    converted = rows.loc["first_paid_14d"]
    # an expired trial (trial -> none, $0) is no conversion; acc_trial_paid paid on day 36
    assert set(converted.index[converted["is_reached_in_window"]]) == {
        "acc_churn_react",
        "acc_trial_same_month",
        "acc_downgrade_zero",
    }
    trials = rows.loc["trial_started"]
    assert set(trials.index[trials["is_reached"]]) == {
        "acc_trial_paid",
        "acc_trial_same_month",
        "acc_trial_expired",
    }


def test_features_mrr_is_zero_on_trial_and_free_days(built):
    features = query(
        built, "select account_id, feature_date, mrr_usd from marts.fct_account_features_daily"
    ).set_index(["account_id", "feature_date"])["mrr_usd"]
    day = pd.Timestamp
    assert float(features[("acc_trial_paid", day("2026-01-20"))]) == 0.0
    assert float(features[("acc_trial_paid", day("2026-02-15"))]) == 29.0
    assert float(features[("acc_downgrade_zero", day("2026-03-25"))]) == 0.0
    assert (features.xs("acc_free_forever", level="account_id").astype(float) == 0).all()


def test_quarantine_verdicts_match_the_cases_and_python(built, feed, cases):
    validated = query(
        built,
        "select event_id, received_at_raw, delivery_status, reason_codes "
        "from intermediate.int_events_validated where event_id in (select event_id from ("
        f"select unnest({list(cases['event_id'])}) as event_id))",
    )
    by_row = {
        (row.event_id, row.received_at_raw): (row.delivery_status, _text(row.reason_codes))
        for row in validated.itertuples()
    }
    for case in cases.itertuples():
        status, codes = by_row[(case.event_id, case.received_at)]
        assert (status, codes) == (case.expected_status, _text(case.expected_reason_codes)), case.event_id
    # the Python restatement of the rules reaches the same verdict on every raw row
    raw = pd.read_parquet(feed / "raw_events.parquet").astype(object).where(lambda f: f.notna(), None)
    verdicts = expected_verdicts(raw, load_tracking_plan())
    python = {
        (row.event_id, row.received_at): (
            "duplicate" if row.is_redelivery else ("quarantined" if row.expected_reasons else "valid"),
            "|".join(sorted(row.expected_reasons)),
        )
        for row in verdicts.itertuples()
    }
    sql = query(
        built,
        "select event_id, received_at_raw, delivery_status, reason_codes "
        "from intermediate.int_events_validated",
    )
    sql_map = {
        (row.event_id, row.received_at_raw): (
            row.delivery_status,
            "|".join(sorted(_text(row.reason_codes).split("|"))).strip("|"),
        )
        for row in sql.itertuples()
    }
    assert sql_map == python


def test_raw_equals_valid_plus_quarantined_plus_duplicates(built, feed, cases):
    raw_rows = len(pd.read_parquet(feed / "raw_events.parquet"))
    counts = query(
        built,
        """
        select
            (select count(*) from marts.fct_events) as valid,
            (select count(*) from marts.fct_quarantined_events) as quarantined,
            (select count(*) from intermediate.int_events_deduplicated where is_redelivery) as dupes
        """,
    ).iloc[0]
    assert counts["dupes"] == (cases["expected_status"] == "duplicate").sum() == 1
    assert counts["quarantined"] == (cases["expected_status"] == "quarantined").sum()
    assert counts["valid"] + counts["quarantined"] + counts["dupes"] == raw_rows


def test_out_of_range_receive_times_do_not_move_the_data_day(built):
    as_of = query(built, "select data_end_date from marts.fct_data_day")["data_end_date"].iloc[0]
    assert pd.Timestamp(as_of).date() == DATA_DAY
    latest_feature_day = query(built, "select max(feature_date) as d from marts.fct_account_features_daily")[
        "d"
    ]
    assert pd.Timestamp(latest_feature_day.iloc[0]).date() == DATA_DAY
    months = query(built, "select max(month_start) as m from marts.fct_mrr")["m"].iloc[0]
    assert pd.Timestamp(months).date() == _month(5)


def test_incremental_watermark_ignores_out_of_range_receive_times(built, cases, tmp_path):
    """The next run's lookback is anchored at the newest plausible receive time, not at 9999:
    a row landed late inside the lookback (received before the newest row already loaded)
    and a new row are both read; the out-of-range rows are re-judged each run and stay
    quarantined once, as in a full refresh. (Anchored at 9999, the pre-hook deleted only the
    9999 rows and the late row was never read.)"""
    db_path = tmp_path / "lawn.duckdb"
    shutil.copy(built, db_path)
    template = cases[cases["event_id"] == "ok-strict-json"]
    late = pd.concat(
        [
            template.assign(
                event_id="late-login", occurred_at="2026-05-21T08:00:00Z", received_at="2026-05-21T08:00:01Z"
            ),
            template.assign(
                event_id="landed-late", occurred_at="2026-05-19T08:00:00Z", received_at="2026-05-19T08:00:01Z"
            ),
        ]
    )
    feed = write_feed(REVENUE, tmp_path / "raw", extra_events=pd.concat([cases, late], ignore_index=True))
    # staging is a view over the feed path: rebuild it to read the new batch
    models = [
        "stg_tracking__events",
        "int_events_deduplicated",
        "int_events_validated",
        "int_events_valid",
        "fct_quarantined_events",
    ]
    run_dbt(["run", "-s", *models], db_path, tmp_path, raw_dir=feed)
    valid = query(db_path, "select event_id from intermediate.int_events_valid")["event_id"]
    assert {"late-login", "landed-late"} <= set(valid)
    assert valid.is_unique
    validated = query(
        db_path,
        "select delivery_status, count(*) as n from intermediate.int_events_validated group by 1",
    ).set_index("delivery_status")["n"]
    assert int(validated.sum()) == len(pd.read_parquet(feed / "raw_events.parquet"))
    expected_quarantined = (cases["expected_status"] == "quarantined").sum()
    assert validated["duplicate"] == 1 and validated["quarantined"] == expected_quarantined
    quarantined = query(db_path, "select event_id from marts.fct_quarantined_events")["event_id"]
    assert quarantined.is_unique and len(quarantined) == expected_quarantined
