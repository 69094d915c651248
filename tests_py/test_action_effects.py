"""Planted effects of the retention offer (issue 14 item 1): off = the demo byte for byte; on =
a randomised offer whose truth agrees with the raw events it produced."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from lawn.generator import GeneratorConfig, PlantedActionEffects, generate
from lawn.generator.action_effects import RESPONSE_MULTIPLIER, response_type
from lawn.generator.writers import write_generated
from lawn.paths import DEMO_RAW_DIR

PLANTED = GeneratorConfig(seed=5, accounts=400, days=150, action_effects=PlantedActionEffects())


@pytest.fixture(scope="module")
def planted():
    return generate(PLANTED)


def test_option_off_gives_the_committed_demo_byte_for_byte(tmp_path):
    paths = write_generated(generate(GeneratorConfig()), tmp_path / "raw", tmp_path / "truth")
    raw = [path for path in paths if path.parent.name == "raw"]
    assert sorted(path.name for path in raw) == sorted(path.name for path in DEMO_RAW_DIR.glob("*.csv"))
    for path in raw:
        assert path.read_bytes() == (DEMO_RAW_DIR / path.name).read_bytes(), path.name
    assert not any("action_effects" in path.name for path in paths)


def _parsed(text: str) -> dict:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def test_every_exposure_is_an_event_with_the_truths_variant(planted):
    truth = planted.truth["action_effects"]
    events = planted.raw["raw_events"]
    exposed = events[events["event_name"] == "experiment_exposed"].copy()
    props = exposed["properties"].map(_parsed)  # planted dirt breaks some payloads
    exposed = exposed[props.map(lambda p: p.get("experiment_id")) == "exp_retention_offer"]
    variants = props[exposed.index].map(lambda p: p["variant"])
    # dirt may drop or duplicate deliveries; every delivered exposure matches the truth
    by_account = truth.groupby("account_id")["variant"].agg(set)
    assert len(exposed) >= 0.9 * len(truth)
    pairs = [(a, v) for a, v in zip(exposed["account_id"], variants, strict=True) if a in by_account.index]
    assert len(pairs) >= 0.95 * len(exposed)  # the rest lost their account id to planted dirt
    for account_id, variant in pairs:
        assert by_account[account_id] == {variant}
    # the variant is fixed per account and the split honours the share
    accounts = truth.drop_duplicates("account_id")
    share = (accounts["variant"] == "treatment").mean()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / len(accounts))


def test_effects_follow_the_planted_rule(planted):
    truth = planted.truth["action_effects"]
    assert (truth["renewal_date"] - truth["exposure_date"] == dt.timedelta(days=7)).all()
    expected_type = [
        response_type(s, n, h)
        for s, n, h in zip(truth["segment"], truth["active_people"], truth["account_health"], strict=True)
    ]
    assert list(truth["response_type"]) == expected_type
    multiplier = truth["response_type"].map(RESPONSE_MULTIPLIER)
    assert np.allclose(truth["treated_churn_probability"], truth["baseline_churn_probability"] * multiplier)
    # the price rise: the baseline is the usual renewal churn (0.07 x (1.3 - health)) times the factor
    factor = PLANTED.action_effects.price_rise_churn_factor
    assert np.allclose(truth["baseline_churn_probability"], 0.07 * (1.3 - truth["account_health"]) * factor)
    # the factor on the usual churn probability: the price rise, times the offer when treated
    in_force = truth["treated_churn_probability"].where(
        truth["variant"] == "treatment", truth["baseline_churn_probability"]
    )
    assert np.allclose(truth["applied_multiplier"], in_force / (0.07 * (1.3 - truth["account_health"])))
    assert np.allclose(
        truth["true_uplift"], truth["baseline_churn_probability"] - truth["treated_churn_probability"]
    )
    assert set(truth["response_type"]) == set(RESPONSE_MULTIPLIER)  # every kind is present
    assert (truth.loc[truth["response_type"] == "sleeping_dog", "true_uplift"] < 0).all()
    # persuadability is not churn risk: the riskiest accounts are lost causes, not persuadable
    lost = truth["response_type"] == "lost_cause"
    assert (
        truth.loc[lost, "baseline_churn_probability"].min()
        > truth.loc[truth["response_type"] == "persuadable", "baseline_churn_probability"].max() - 1e-12
    )
    # who responds is observable: segment, team size and engagement decide it
    assert (truth.loc[truth["response_type"] == "persuadable", "segment"] == "smb").all()
    assert (truth.loc[truth["response_type"] == "persuadable", "active_people"] <= 2).all()


def test_churn_outcomes_match_the_cancellations_and_the_planted_rates(planted):
    truth = planted.truth["action_effects"]
    events = planted.raw["raw_events"]
    cancels = events[events["event_name"] == "subscription_canceled"]
    cancelled_on = set(
        zip(
            cancels["account_id"],
            pd.to_datetime(cancels["occurred_at"], format="ISO8601").dt.date,
            strict=True,
        )
    )
    observed = [
        (a, d) in cancelled_on for a, d in zip(truth["account_id"], truth["renewal_date"], strict=True)
    ]
    # a cancellation event may be lost to planted dirt, never invented
    assert not (np.array(observed) & ~truth["churned"].to_numpy(bool)).any()
    assert np.mean(np.array(observed) == truth["churned"].to_numpy(bool)) > 0.95
    # realised churn agrees with the probabilities the truth says were in force
    for variant, column in (
        ("treatment", "treated_churn_probability"),
        ("control", "baseline_churn_probability"),
    ):
        rows = truth[truth["variant"] == variant]
        expected = rows[column].mean()
        sd = np.sqrt((rows[column] * (1 - rows[column])).sum()) / len(rows)
        assert abs(rows["churned"].mean() - expected) < 4 * sd, variant


def test_offer_is_registered_as_an_experiment(planted):
    registry = planted.raw["experiment_registry"]
    offer = registry[registry["experiment_id"] == "exp_retention_offer"].iloc[0]
    assert offer["randomization_unit"] == "account" and offer["primary_metric"] == "mrr_per_account"
    truth = planted.truth["action_effects"]
    assert str(truth["exposure_date"].min()) >= offer["start_date"]
    assert str(truth["exposure_date"].max()) <= offer["end_date"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_day": -1},
        {"treatment_share": 1.0},
        {"lead_days": 0},
        {"start_day": 50, "end_day": 40},
        {"price_rise_churn_factor": 0.5},
    ],
)
def test_bad_plant_options_are_rejected(kwargs):
    with pytest.raises(ValueError, match="action effects"):
        PlantedActionEffects(**kwargs)
