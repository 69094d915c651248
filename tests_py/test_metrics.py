"""Metric marts against pandas computations from the raw generated data and planted truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests_py.conftest import SMALL, query
from tests_py.metric_expectations import ACTIVITY, first_times, in_window, month_of, monthly_mrr, next_month


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.date


@pytest.fixture(scope="module")
def events(valid_events) -> pd.DataFrame:
    frame = valid_events.copy()
    frame["at"] = pd.to_datetime(frame["at"])
    return frame


@pytest.fixture(scope="module")
def data_end(events) -> dt.date:
    return events["at"].max().date()


@pytest.fixture(scope="module")
def crm(small_data) -> pd.DataFrame:
    accounts = small_data.raw["crm_accounts"].copy()
    accounts["created"] = pd.to_datetime(accounts["created_at"]).dt.tz_localize(None)
    return accounts.set_index("account_id")


@pytest.fixture(scope="module")
def expected_mrr(events, data_end) -> pd.DataFrame:
    changes = events[events["event_name"] == "plan_changed"].sort_values(["at", "event_id"])
    changes = changes.assign(
        day=changes["at"].dt.date, mrr_usd=changes["props"].map(lambda p: float(p["mrr_usd"]))
    )
    return monthly_mrr(changes[["account_id", "day", "mrr_usd"]], data_end)


def _mart_mrr(db) -> pd.DataFrame:
    mart = query(db, "select account_id, month_start, mrr_usd, movement_type from marts.fct_mrr")
    mart["month_start"] = _dates(mart["month_start"])
    mart["mrr_usd"] = mart["mrr_usd"].astype(float)
    return mart.set_index(["account_id", "month_start"]).sort_index()


def test_mrr_equals_the_planted_mrr_history(built_small, small_data, data_end):
    """fct_mrr month by month equals the generator's MRR ledger, for every account whose
    plan_changed events all survived validation (dirt can quarantine one)."""
    ledger = small_data.truth["mrr_movements"]
    dirt = small_data.truth["dirt"]
    raw = small_data.raw["raw_events"]
    dirty_ids = set(dirt.loc[dirt["event_name"] == "plan_changed", "event_id"])
    dirty_accounts = set(raw.loc[raw["event_id"].isin(dirty_ids), "account_id"])
    changes = ledger.drop(columns="day").rename(columns={"movement_date": "day", "mrr_after_usd": "mrr_usd"})
    truth = monthly_mrr(changes[["account_id", "day", "mrr_usd"]], data_end)
    truth = truth[~truth["account_id"].isin(dirty_accounts)].set_index(["account_id", "month_start"])
    mart = _mart_mrr(built_small)
    mart = mart[~mart.index.get_level_values("account_id").isin(dirty_accounts)]
    assert len(truth) >= 10
    assert sorted(mart.index) == sorted(truth.index)
    joined = mart.join(truth, suffixes=("", "_truth"))
    assert joined["mrr_usd"].to_numpy() == pytest.approx(joined["mrr_usd_truth"].to_numpy())
    assert (joined["movement_type"] == joined["movement_type_truth"]).all()
    assert {"new", "expansion"} <= set(joined["movement_type"])


def test_mrr_and_movements_equal_pandas_from_raw_events(built_small, expected_mrr):
    mart = _mart_mrr(built_small)
    expected = expected_mrr.set_index(["account_id", "month_start"]).sort_index()
    assert list(mart.index) == list(expected.index)
    assert mart["mrr_usd"].to_numpy() == pytest.approx(expected["mrr_usd"].to_numpy())
    assert (mart["movement_type"] == expected["movement_type"]).all()
    movements = query(
        built_small,
        "select account_id, month_start, movement_type, movement_usd from marts.fct_mrr_movements",
    )
    moved = expected[expected["movement_type"] != "none"]
    assert len(movements) == len(moved)
    assert movements["movement_usd"].astype(float).sum() == pytest.approx(
        (moved["mrr_usd"] - moved["previous_mrr_usd"]).sum()
    )
    # the total of the last month equals the sum of every movement ever
    last_month = expected.index.get_level_values("month_start").max()
    assert expected.xs(last_month, level="month_start")["mrr_usd"].sum() == pytest.approx(
        movements["movement_usd"].astype(float).sum()
    )


def test_revenue_retention_equals_pandas(built_small, expected_mrr):
    frame = expected_mrr.copy()
    base = frame[frame["previous_mrr_usd"] > 0]
    expected = base.groupby("month_start").agg(
        starting=("previous_mrr_usd", "sum"),
        retained=("mrr_usd", "sum"),
        gross=("mrr_usd", lambda s: np.minimum(s, base.loc[s.index, "previous_mrr_usd"]).sum()),
        accounts=("account_id", "size"),
        churned=("movement_type", lambda s: (s == "churn").sum()),
    )
    mart = query(
        built_small,
        "select month_start, sum(starting_mrr_usd) starting, sum(retained_mrr_usd) retained, "
        "sum(starting_mrr_usd - contraction_mrr_usd - churned_mrr_usd) gross, "
        "sum(starting_accounts) accounts, sum(churned_accounts) churned "
        "from marts.fct_revenue_retention group by 1 having sum(starting_accounts) > 0 order by 1",
    )
    mart["month_start"] = _dates(mart["month_start"])
    mart = mart.set_index("month_start").astype(float)
    assert list(mart.index) == list(expected.index)
    for column in ("starting", "retained", "gross", "accounts", "churned"):
        assert mart[column].to_numpy() == pytest.approx(expected[column].to_numpy()), column
    # per-row NRR/GRR are the ratios of their own components
    rows = query(built_small, "select * from marts.fct_revenue_retention where starting_mrr_usd > 0")
    start = rows["starting_mrr_usd"].astype(float)
    assert rows["net_revenue_retention"].to_numpy() == pytest.approx(
        (rows["retained_mrr_usd"].astype(float) / start).to_numpy()
    )


def _account_moments(events: pd.DataFrame) -> dict[str, pd.Series]:
    props = events["props"]
    return {
        "first_invoice_sent": first_times(events[events["event_name"] == "first_invoice_sent"], "account_id"),
        "first_paid": first_times(
            events[
                (events["event_name"] == "plan_changed")
                & (props.map(lambda p: float(p.get("mrr_usd") or 0)) > 0)
            ],
            "account_id",
        ),
        "account_signed_up": first_times(events[events["event_name"] == "signed_up"], "account_id"),
        "teammate_invited": first_times(events[events["event_name"] == "teammate_invited"], "account_id"),
    }


def test_account_activation_and_trial_conversion_equal_pandas(built_small, events, crm, data_end):
    moments = _account_moments(events)
    mart = query(
        built_small,
        "select entity_id, milestone_name, is_reached_in_window, is_window_complete "
        "from marts.fct_activation where entity_type = 'account'",
    ).set_index(["entity_id", "milestone_name"])
    created = crm["created"]
    for milestone, days in (("first_invoice_sent", 30), ("teammate_invited", 13)):
        reached = created.index.map(moments[milestone]).to_series(index=created.index)
        expected = in_window(created, pd.to_datetime(reached), days)
        actual = mart.xs(milestone, level="milestone_name")["is_reached_in_window"]
        assert actual.sort_index().tolist() == expected.sort_index().tolist(), milestone
        complete = (created.dt.normalize() + pd.Timedelta(days=days)).dt.date <= data_end
        assert mart.xs(milestone, level="milestone_name")["is_window_complete"].sort_index().tolist() == (
            complete.sort_index().tolist()
        )
    # outcome: paid within 14 days of the account's first signup, for every segment
    anchor = moments["account_signed_up"]
    expected = in_window(
        anchor, pd.to_datetime(anchor.index.map(moments["first_paid"])).to_series(index=anchor.index), 14
    )
    actual = mart.xs("first_paid_14d", level="milestone_name")["is_reached_in_window"]
    assert actual.sort_index().tolist() == expected.sort_index().tolist()
    assert 0 < expected.mean() < 1


def _person_of_user(small_data) -> pd.Series:
    truth = small_data.truth["identities"]
    return truth[truth["identifier_type"] == "user_id"].set_index("identifier_value")["person_id"]


def _mart_person_ids(db, small_data) -> pd.Series:
    """dbt person_id -> the generator's person, through the person's founding user_id."""
    users = query(db, "select person_id, primary_user_id from marts.dim_users where is_identified")
    return users.set_index("person_id")["primary_user_id"].map(_person_of_user(small_data))


def test_user_first_week_activation_equals_pandas(built_small, small_data, events, data_end):
    owner = _person_of_user(small_data)
    frame = events.assign(person=events["user_id"].map(owner))
    signups = first_times(frame[frame["event_name"] == "signed_up"], "person")
    invoices = frame[
        (frame["event_name"] == "feature_used")
        & (frame["props"].map(lambda p: p.get("feature_name")) == "create_invoice")
    ]
    reached = pd.to_datetime(signups.index.map(first_times(invoices, "person"))).to_series(
        index=signups.index
    )
    expected = in_window(signups, reached, 6)
    mart = query(
        built_small,
        "select entity_id, is_reached_in_window, is_window_complete from marts.fct_activation "
        "where milestone_name = 'user_created_invoice'",
    )
    mart["person"] = mart["entity_id"].map(_mart_person_ids(built_small, small_data))
    mart = mart.set_index("person").sort_index()
    assert sorted(mart.index) == sorted(expected.index)
    assert mart["is_reached_in_window"].tolist() == expected.sort_index().tolist()
    complete = (signups.dt.normalize() + pd.Timedelta(days=6)).dt.date <= data_end
    assert mart["is_window_complete"].tolist() == complete.sort_index().tolist()


def test_account_retention_matrix_equals_pandas(built_small, events, crm, data_end):
    active = events[events["event_name"].isin(ACTIVITY)]
    days = active.assign(day=active["at"].dt.normalize()).groupby("account_id")["day"].apply(set)
    anchor = crm["created"].dt.normalize()
    rows = []
    for account_id, start in anchor.items():
        offsets = {(day - start).days for day in days.get(account_id, set())}
        observed = (pd.Timestamp(data_end) - start).days
        week = (start - pd.Timedelta(days=start.weekday())).date()
        for kind, number, first, last in [("day", n, n, n) for n in (0, 1, 7, 30, 90)] + [
            ("week", k, 7 * k, 7 * k + 6) for k in range(27)
        ]:
            if observed >= first:
                rows.append(
                    {
                        "period_type": kind,
                        "cohort_start": week,
                        "period_number": number,
                        "eligible": observed >= last,
                        "active": observed >= last and any(first <= o <= last for o in offsets),
                    }
                )
    expected = (
        pd.DataFrame(rows)
        .groupby(["period_type", "cohort_start", "period_number"])
        .agg(eligible_units=("eligible", "sum"), retained_units=("active", "sum"))
    )
    mart = query(
        built_small,
        "select period_type, cohort_start, period_number, eligible_units, retained_units "
        "from marts.fct_retention_cohorts where entity_type = 'account' and period_type <> 'month'",
    )
    mart["cohort_start"] = _dates(mart["cohort_start"])
    mart = mart.set_index(["period_type", "cohort_start", "period_number"]).sort_index()
    assert list(mart.index) == list(expected.index)
    assert (mart["eligible_units"].to_numpy() == expected["eligible_units"].to_numpy()).all()
    assert (mart["retained_units"].to_numpy() == expected["retained_units"].to_numpy()).all()


def test_funnel_counts_equal_pandas(built_small, events, crm):
    moments = _account_moments(events)
    trials = first_times(events[events["event_name"] == "trial_started"], "account_id")
    steps = ["account_signed_up", "trial_started", "first_invoice_sent", "first_paid"]
    reached = pd.DataFrame(
        {
            step: crm.index.isin((trials if step == "trial_started" else moments[step]).index)
            for step in steps
        },
        index=crm.index,
    )
    in_order = reached.cummin(axis=1)
    mart = query(
        built_small,
        "select step_name, sum(cohort_accounts) cohort, sum(accounts_reached) reached "
        "from marts.fct_funnel group by 1",
    ).set_index("step_name")
    for step in steps:
        assert mart.loc[step, "cohort"] == len(crm)
        assert mart.loc[step, "reached"] == in_order[step].sum(), step
    assert in_order["first_paid"].sum() > 0


def test_ltv_equals_pandas(built_small, events, crm, data_end):
    invoices = events[events["event_name"] == "invoice_paid"]
    invoices = invoices.assign(
        day=invoices["at"].dt.normalize(), amount=invoices["props"].map(lambda p: float(p["amount_usd"]))
    )
    mart = query(
        built_small,
        "select horizon_days, sum(observed_accounts) observed, sum(revenue_usd) revenue "
        "from marts.fct_ltv group by 1",
    ).set_index("horizon_days")
    for horizon in (30, 90, 365):
        created = crm["created"].dt.normalize()
        observed = created[created + pd.Timedelta(days=horizon) <= pd.Timestamp(data_end)]
        revenue = 0.0
        for account_id, start in observed.items():
            mine = invoices[invoices["account_id"] == account_id]
            revenue += mine.loc[
                (mine["day"] >= start) & (mine["day"] <= start + pd.Timedelta(days=horizon)), "amount"
            ].sum()
        assert mart.loc[horizon, "observed"] == len(observed)
        assert float(mart.loc[horizon, "revenue"]) == pytest.approx(revenue)
    assert mart.loc[30, "observed"] > 0 and mart.loc[365, "observed"] == 0


def test_cac_and_payback_equal_pandas(built_small, small_data, expected_mrr, crm):
    spend = small_data.raw["marketing_spend"].copy()
    spend["month_start"] = pd.to_datetime(spend["spend_date"]).dt.date.map(month_of)
    spend_by = spend.groupby(["month_start", "channel"])["spend_usd"].sum()
    new = expected_mrr[expected_mrr["movement_type"] == "new"].copy()
    new["channel"] = new["account_id"].map(crm["acquisition_channel"])
    new_by = new.groupby(["month_start", "channel"]).agg(
        customers=("account_id", "size"), mrr=("mrr_usd", "sum")
    )
    mart = query(
        built_small,
        "select month_start, acquisition_channel, spend_usd, new_customers, new_mrr_usd, cac_usd, "
        "payback_months from marts.fct_cac_payback",
    )
    mart["month_start"] = _dates(mart["month_start"])
    mart = mart.set_index(["month_start", "acquisition_channel"])
    keys = set(spend_by.index) | set(new_by.index)
    assert set(mart.index) == keys
    for key in keys:
        spent = float(spend_by.get(key, 0.0))
        customers = int(new_by["customers"].get(key, 0))
        mrr = float(new_by["mrr"].get(key, 0.0))
        row = mart.loc[key]
        assert float(row["spend_usd"]) == pytest.approx(spent)
        assert row["new_customers"] == customers
        if customers:
            assert row["cac_usd"] == pytest.approx(spent / customers)
            assert row["payback_months"] == pytest.approx(spent / (mrr * 0.8))
        else:
            assert pd.isna(row["cac_usd"])


def test_growth_system_health_equals_registry_and_raw(built_small, small_data):
    registry = small_data.raw["experiment_registry"]
    starts = pd.to_datetime(registry["start_date"]).dt.date
    ends = pd.to_datetime(registry["end_date"]).dt.date
    mart = query(built_small, "select * from marts.fct_growth_system_health order by month_start")
    mart["month_start"] = _dates(mart["month_start"])
    for row in mart.itertuples():
        running = ((starts < next_month(row.month_start)) & (ends >= row.month_start)).sum()
        assert row.experiments_running == running
    assert mart["experiments_running"].max() == len(registry)
    results = query(
        built_small,
        "select experiment_id, is_significant and is_trustworthy as hit from marts.fct_experiment_readouts "
        "where is_primary_metric and variant = 'treatment'",
    ).set_index("experiment_id")["hit"]
    for row in mart.itertuples():
        running = registry[(starts < next_month(row.month_start)) & (ends >= row.month_start)]
        significant = sum(bool(results.get(experiment, False)) for experiment in running["experiment_id"])
        assert row.experiments_significant == significant
    assert ((mart["data_quality_score"] > 0.8) & (mart["data_quality_score"] <= 1)).all()


def test_slo_latest_value_equals_pandas(built_small, small_data, events):
    """The user activation SLO's latest value equals first-week activation over the people
    who signed up in the 28 days ending on the newest day whose first week is over."""
    owner = _person_of_user(small_data)
    frame = events.assign(person=events["user_id"].map(owner))
    signups = first_times(frame[frame["event_name"] == "signed_up"], "person")
    invoices = frame[
        (frame["event_name"] == "feature_used")
        & (frame["props"].map(lambda p: p.get("feature_name")) == "create_invoice")
    ]
    reached = pd.to_datetime(signups.index.map(first_times(invoices, "person"))).to_series(
        index=signups.index
    )
    activated = in_window(signups, reached, 6)
    data_end = events["at"].max().date()
    days = signups.dt.date
    complete = days[days + dt.timedelta(days=6) <= data_end]
    last = data_end - dt.timedelta(days=6)  # the newest day whose first week is over
    window = complete[complete > last - dt.timedelta(days=28)]
    status = query(
        built_small,
        "select evaluated_date, units, metric_value from marts.fct_slo_status "
        "where slo_id = 'user_activation_7d' and is_latest",
    ).iloc[0]
    assert pd.Timestamp(status["evaluated_date"]).date() == last
    assert status["units"] == len(window)
    assert status["metric_value"] == pytest.approx(activated[window.index].mean())


def test_small_config_is_what_these_tests_assume():
    assert SMALL.days >= 60 and SMALL.breach is None


def test_days_to_reach_is_exact_to_the_microsecond(built_small):
    """fct_activation.days_to_reach is the time from anchor_at to reached_at in days, to the
    microsecond (the generated events carry milliseconds; counting second boundaries, as
    dbt.datediff(..., 'second') does, was up to a second off)."""
    frame = query(built_small, "select anchor_at, reached_at, days_to_reach from marts.fct_activation"
                               " where reached_at is not null")  # fmt: skip
    micros = (frame.reached_at - frame.anchor_at) // pd.Timedelta(microseconds=1)
    assert (frame.days_to_reach == micros / 1_000_000 / 86_400).all()
    assert (micros % 1_000_000 != 0).any()  # sub-second differences are there to be counted
