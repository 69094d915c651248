"""Uplift targeting against risk targeting (issue 14 item 2): the pure pieces on hand-written
rows, and (slow) the whole chain on a planted world built by dbt, checked against the truth
file recomputed in pandas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lawn.uplift import UpliftError
from lawn.uplift_targeting import (
    cross_fitted_uplift,
    fold_of,
    holdout_readout,
    targeting_table,
    top_share,
)
from tests_py.test_uplift import planted_frame


def test_top_share_takes_the_highest_scores_ties_by_position():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.2, 0.0, 0.3, 0.8, 0.4, 0.6])
    assert top_share(scores, 0.1).tolist() == [1]
    assert top_share(scores, 0.3).tolist() == [1, 3, 7]
    assert top_share(scores, 0.01).tolist() == [1]  # at least one unit


def test_holdout_readout_by_hand():
    # churn outcome (harmful, sign -1): 5 treated with 1 churn, 4 control with 3 churns
    group = pd.DataFrame({"treated": [1, 1, 1, 1, 1, 0, 0, 0, 0], "outcome": [1, 0, 0, 0, 0, 1, 1, 1, 0]})
    row = holdout_readout(group, benefit_sign=-1)
    # retained 4/5 vs 1/4: +55 retained per 100 actions; Wald interval of a difference of proportions
    se = math.sqrt(0.8 * 0.2 / 5 + 0.25 * 0.75 / 4)
    assert row["treated"] == 5 and row["control"] == 4
    assert row["lift"] == pytest.approx(55.0)
    assert row["low"] == pytest.approx(100 * (0.55 - 1.959963984540054 * se))
    assert row["high"] == pytest.approx(100 * (0.55 + 1.959963984540054 * se))
    # a wanted outcome (sign +1): the same rows read the other way round
    assert holdout_readout(group, benefit_sign=1)["lift"] == pytest.approx(-55.0)
    # one arm empty: no readout
    assert math.isnan(holdout_readout(group[group["treated"] == 1], -1)["lift"])


def test_targeting_table_on_hand_written_rows():
    # 10 accounts; by uplift the top 20% are a and b, by risk c and d
    frame = pd.DataFrame(
        {
            "account_id": list("abcdefghij"),
            "uplift_score": [0.9, 0.8, 0.1, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0],
            "risk_score": [0.1, 0.2, 0.9, 0.8, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
            "true_uplift": [0.3, 0.2, 0.0, -0.1, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0],
            "treated": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
            "outcome": [0, 1, 1, 0, 0, 0, 1, 0, 0, 1],
        }
    )
    table = targeting_table(frame, {"uplift": "uplift_score", "risk": "risk_score"}, 0.2, -1).set_index(
        "targeting"
    )
    assert table["accounts"].tolist() == [2, 2, 10]
    assert table.loc["uplift", "true_per_100"] == pytest.approx(25.0)
    assert table.loc["risk", "true_per_100"] == pytest.approx(-5.0)
    assert table.loc["random", "true_per_100"] == pytest.approx(5.0)  # 0.5 / 10
    # random: treated a c e g i churn 2 of 5, control b d f h j churn 2 of 5 -> 0
    assert table.loc["random", "readout_per_100"] == pytest.approx(0.0)
    # uplift top: a treated retained, b control churned -> one arm of one unit: too few for a readout
    assert math.isnan(table.loc["uplift", "readout_per_100"])


def test_folds_are_keyed_and_balanced():
    ids = [f"acc_{i:05d}" for i in range(5000)]
    folds = np.array([fold_of(account, 5) for account in ids])
    assert folds.tolist() == [fold_of(account, 5) for account in ids]  # the same on every call
    counts = np.bincount(folds, minlength=5)
    assert (abs(counts - 1000) < 4 * math.sqrt(5000 * 0.2 * 0.8)).all(), counts


def test_cross_fitting_never_scores_an_account_with_its_own_outcome():
    frame = planted_frame(3000, 21).assign(account_id=[f"acc_{i:05d}" for i in range(3000)])
    numeric = ["active_people", "small_team", "usage"]
    before = cross_fitted_uplift(frame, numeric, ["segment"], -1, "t_learner", 0.01, folds=3)
    assert not np.isnan(before).any()
    # flipping the outcomes of fold 0 changes no prediction of fold 0 (and changes others)
    fold = frame["account_id"].map(lambda account: fold_of(account, 3)).to_numpy()
    flipped = frame.assign(outcome=np.where(fold == 0, 1 - frame["outcome"], frame["outcome"]))
    after = cross_fitted_uplift(flipped, numeric, ["segment"], -1, "t_learner", 0.01, folds=3)
    assert np.array_equal(before[fold == 0], after[fold == 0])
    assert not np.allclose(before[fold != 0], after[fold != 0])
    with pytest.raises(UpliftError, match="at least 2 folds"):
        cross_fitted_uplift(frame, numeric, ["segment"], -1, "t_learner", 0.01, folds=1)
