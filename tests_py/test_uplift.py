"""Uplift learners (lawn/uplift.py) on randomised data with a planted conditional effect, and
the Qini curve against a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lawn.uplift import UpliftError, evaluate, fit, predict_uplift, qini_curve

MULTIPLIER = {"persuadable": 0.25, "mild": 0.7, "lost_cause": 1.0, "sleeping_dog": 1.8}


def planted_frame(n: int, seed: int) -> pd.DataFrame:
    """Accounts with a churn baseline and a multiplicative offer effect that depends on segment
    and team size (the generator's rule, on an independent simulation)."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["smb", "mid_market", "enterprise"], n, p=[0.5, 0.3, 0.2])
    active = rng.integers(1, 9, n)
    usage = rng.normal(0, 1, n)
    baseline = 1 / (1 + np.exp(-(-1.6 - 0.5 * usage)))
    kind = np.where(
        segment == "enterprise", "sleeping_dog",
        np.where(segment == "mid_market", "mild", np.where(active <= 2, "persuadable", "lost_cause")),
    )  # fmt: skip
    treated_p = np.minimum(1.0, baseline * pd.Series(kind).map(MULTIPLIER).to_numpy())
    treated = rng.random(n) < 0.5
    outcome = rng.random(n) < np.where(treated, treated_p, baseline)
    return pd.DataFrame(
        {
            "segment": segment,
            "active_people": active,
            "small_team": (active <= 2).astype(float),
            "usage": usage,
            "treated": treated.astype(int),
            "outcome": outcome.astype(int),
            "true_uplift": baseline - treated_p,
        }
    )


NUMERIC = ["active_people", "small_team", "usage"]


@pytest.mark.parametrize("learner", ["t_learner", "dr_learner"])
def test_learners_recover_the_planted_effect(learner):
    train, held = planted_frame(20_000, 1), planted_frame(10_000, 2)
    params = fit(train, NUMERIC, ["segment"], treatment_share=0.5, benefit_sign=-1, learner=learner)
    predicted = predict_uplift(params, held)
    rho = stats.spearmanr(predicted, held["true_uplift"]).statistic
    assert rho > 0.6, rho
    result = evaluate(predicted, held["treated"].to_numpy(), held["outcome"].to_numpy(), benefit_sign=-1)
    deciles = pd.DataFrame(result["calibration"])
    # the top decile by predicted uplift truly gains more than the average, the bottom loses
    order = np.argsort(-predicted, kind="stable")
    top, bottom = order[: len(order) // 10], order[-len(order) // 10 :]
    assert held["true_uplift"].to_numpy()[top].mean() > 2 * held["true_uplift"].mean()
    assert held["true_uplift"].to_numpy()[bottom].mean() < 0
    # calibration: observed uplift by decile follows the predicted one
    assert stats.spearmanr(deciles["predicted_uplift"], deciles["observed_uplift"]).statistic > 0.6
    assert result["qini_coefficient"] > 0


def test_targeting_by_uplift_beats_targeting_by_risk():
    train, held = planted_frame(20_000, 3), planted_frame(10_000, 4)
    params = fit(train, NUMERIC, ["segment"], treatment_share=0.5, benefit_sign=-1)
    predicted = predict_uplift(params, held)
    risk = 1 / (1 + np.exp(-(-1.6 - 0.5 * held["usage"])))  # the true churn risk, the best risk model
    k = len(held) // 10
    by_uplift = held["true_uplift"].to_numpy()[np.argsort(-predicted, kind="stable")[:k]].sum()
    by_risk = held["true_uplift"].to_numpy()[np.argsort(-risk.to_numpy(), kind="stable")[:k]].sum()
    assert by_uplift > 2 * by_risk, (by_uplift, by_risk)


def test_qini_curve_by_hand():
    # 6 units ranked by uplift; outcome is wanted (+1)
    uplift = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    treated = np.array([1, 0, 1, 0, 1, 0])
    outcome = np.array([1, 0, 1, 1, 0, 1])
    curve = qini_curve(uplift, treated, outcome, benefit_sign=1)
    # k=1: Y_T=1, N_C=0 -> 1; k=2: 1 - 0*1/1 = 1; k=3: 2 - 0 = 2; k=4: 2 - 1*2/2 = 1;
    # k=5: 2 - 1*3/2 = 0.5; k=6: 2 - 2*3/3 = 0
    assert curve["gain"].tolist() == pytest.approx([1, 1, 2, 1, 0.5, 0])
    harmful = qini_curve(uplift, treated, outcome, benefit_sign=-1)
    assert harmful["gain"].tolist() == pytest.approx([-1, -1, -2, -1, -0.5, 0])


def test_bad_inputs_are_one_line_errors():
    frame = planted_frame(200, 5)
    with pytest.raises(UpliftError, match="lacks feature columns"):
        fit(frame, ["nope"], [], 0.5, -1)
    with pytest.raises(UpliftError, match="unknown learner"):
        fit(frame, NUMERIC, [], 0.5, -1, learner="s_learner")
    with pytest.raises(UpliftError, match="only one outcome"):
        fit(frame.assign(outcome=0), NUMERIC, [], 0.5, -1)


@pytest.mark.parametrize("learner", ["t_learner", "dr_learner"])
def test_segment_only_learners_equal_per_segment_differences(learner):
    """With segment as the only feature and (almost) no ridge, each arm's logistic model is
    saturated: the T-learner's uplift is the difference of the observed churn rates per
    segment (pandas), the DR-learner's its doubly robust version (close to it); both near the
    planted per-segment effect. A feature with one level (every account `unknown` when there
    is no CRM) used to crash the design matrix (numpy column_stack of nothing)."""
    frame = planted_frame(12_000, 3)
    params = fit(frame, [], ["segment"], treatment_share=0.5, benefit_sign=-1, learner=learner, ridge=1e-9)
    predicted = pd.Series(predict_uplift(params, frame)).groupby(frame["segment"]).mean()
    rates = frame.groupby(["segment", "treated"])["outcome"].mean().unstack()
    observed = rates[0] - rates[1]  # churn removed by the offer
    assert predicted.to_numpy() == pytest.approx(
        observed.to_numpy(), abs=1e-4 if learner == "t_learner" else 5e-3
    )
    truth = frame.groupby("segment")["true_uplift"].mean()
    se = np.sqrt((rates * (1 - rates) / frame.groupby(["segment", "treated"]).size().unstack()).sum(axis=1))
    assert ((predicted - truth).abs() < 4 * se).all()
    one_level = frame[frame["segment"] == "smb"].assign(segment="unknown")
    params = fit(one_level, NUMERIC, ["segment"], treatment_share=0.5, benefit_sign=-1, learner=learner)
    assert params["names"] == ["intercept", *NUMERIC]
    assert np.isfinite(predict_uplift(params, one_level)).all()
