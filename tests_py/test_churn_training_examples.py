"""The one churn definition (churned_30d, marts.fct_churn_training_examples) on the demo world:
the mart equals the definition recomputed in pandas from the valid events, and it agrees with
the action outcome map's churned_30d outcome (seeds/actions: MRR to zero within the window, as
fct_automation_lift measures it) on every paying account-day where both are known."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lawn.churn_model import CHURN_WINDOW_DAYS, FEATURES, LABEL, load_dataset
from lawn.paths import SEEDS_DIR
from lawn.settings import var
from tests_py.conftest import query, run_dbt


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory):
    """The demo raw data (data/raw), built up to the training mart."""
    work = tmp_path_factory.mktemp("churn_examples")
    db = work / "lawn.duckdb"
    run_dbt(
        ["build", "--select", "+fct_churn_training_examples", "--exclude-resource-type", "test", "unit_test"],
        db,
        work,
    )
    return db


@pytest.fixture(scope="module")
def examples(demo_world) -> pd.DataFrame:
    frame = query(demo_world, "select * from marts.fct_churn_training_examples")
    frame["feature_date"] = pd.to_datetime(frame["feature_date"])
    return frame


def test_the_mart_is_the_definition_recomputed_from_the_events(demo_world, examples):
    events = query(
        demo_world,
        "select event_id, account_id, event_name, occurred_at, properties from intermediate.int_events_valid",
    )
    features = query(
        demo_world, "select account_id, feature_date, mrr_usd from marts.fct_account_features_daily"
    )
    features["feature_date"] = pd.to_datetime(features["feature_date"])
    last_day = pd.to_datetime(events["occurred_at"]).dt.normalize().max()
    window = pd.Timedelta(days=var("churn_window_days"))
    # the subscription ends: a cancellation, or a plan change to $0 MRR, unless a paid plan
    # starts at the same instant (at one instant a cancellation comes first, then plan changes
    # by event_id: the last one holds)
    changes = events[events["event_name"].isin(["subscription_canceled", "plan_changed"])].copy()
    changes = changes[changes["account_id"].notna()]
    sent = changes["properties"].map(lambda text: json.loads(text).get("mrr_usd"))
    changes["mrr"] = pd.to_numeric(sent, errors="coerce").where(changes["event_name"] == "plan_changed", 0.0)
    changes["order"] = (changes["event_name"] == "plan_changed").astype(int)
    last = changes.sort_values(["order", "event_id"]).groupby(["account_id", "occurred_at"]).tail(1)
    cancels = last[last["mrr"] == 0].assign(
        canceled_on=lambda e: pd.to_datetime(e["occurred_at"]).dt.normalize()
    )
    paying = features[features["mrr_usd"].astype(float) > 0].copy()
    pairs = paying.merge(cancels[["account_id", "canceled_on"]], on="account_id")
    inside = pairs[
        (pairs["canceled_on"] > pairs["feature_date"])
        & (pairs["canceled_on"] <= pairs["feature_date"] + window)
    ]
    churned = set(zip(inside["account_id"], inside["feature_date"], strict=True))
    paying["known"] = paying["feature_date"] + window <= last_day
    paying["expected"] = [
        (key in churned) if known else None
        for key, known in zip(
            zip(paying["account_id"], paying["feature_date"], strict=True), paying["known"], strict=True
        )
    ]
    merged = paying.merge(examples, on=["account_id", "feature_date"], how="outer", validate="one_to_one")
    assert len(merged) == len(paying) == len(examples) > 1000
    assert (merged["known"] == merged["is_label_known"]).all()
    known = merged[merged["known"]]
    assert (known["expected"].astype(bool) == known[LABEL].astype(bool)).all()
    assert merged.loc[~merged["known"], LABEL].isna().all()
    assert known[LABEL].astype(bool).sum() >= 20  # the demo world has churn to agree on


def test_churned_30d_agrees_with_the_outcome_maps_churn_outcome(demo_world, examples):
    """seeds/actions: the churned_30d outcome is mrr_usd going to zero over its window (the
    lift compares the value on the decision day with the value window days later). Where that
    outcome and the model label are both known, they are equal on every demo account-day."""
    rules = pd.read_csv(SEEDS_DIR / "actions" / "action_rules.csv")
    outcome = rules[rules["outcome_name"] == LABEL]
    assert len(outcome) >= 1
    assert set(outcome["outcome_input"]) == {"mrr_usd"} and set(outcome["outcome_direction"]) == {"to_zero"}
    assert set(outcome["outcome_window_days"]) == {CHURN_WINDOW_DAYS}
    window = pd.Timedelta(days=int(outcome["outcome_window_days"].iloc[0]))
    features = query(
        demo_world, "select account_id, feature_date, mrr_usd from marts.fct_account_features_daily"
    )
    features["feature_date"] = pd.to_datetime(features["feature_date"])
    later = features.rename(columns={"mrr_usd": "mrr_at_outcome"}).assign(
        feature_date=lambda f: f["feature_date"] - window
    )
    both = examples.merge(later, on=["account_id", "feature_date"], how="inner")
    both = both[both["is_label_known"]]
    map_outcome = (both["mrr_usd"].astype(float) > 0) & (both["mrr_at_outcome"].astype(float) == 0)
    disagree = both[map_outcome != both[LABEL].astype(bool)]
    assert len(both) > 1000 and map_outcome.sum() >= 20
    assert disagree.empty, disagree[["account_id", "feature_date", LABEL, "mrr_at_outcome"]].head()


def test_the_model_reads_the_mart_as_it_is(demo_world, examples):
    data = load_dataset(demo_world)
    assert len(data) == len(examples)
    assert set(FEATURES) <= set(examples.columns)
    labelled = data.dropna(subset=[LABEL])
    assert len(labelled) == int(examples["is_label_known"].sum())
    assert labelled[LABEL].sum() == examples[LABEL].fillna(False).astype(bool).sum()
    cohorts = pd.to_datetime(examples["cohort_month"]).dt.strftime("%Y-%m")
    assert sorted(data["cohort"].dropna().unique()) == sorted(cohorts.dropna().unique())
    assert min(data["feature_date"]) == min(examples["feature_date"]).date()
