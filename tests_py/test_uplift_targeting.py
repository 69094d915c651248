"""Uplift targeting against risk targeting (issue 14 item 2): the pure pieces on hand-written
rows, and (slow) the whole chain on a planted world built by dbt, checked against the truth
file recomputed in pandas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lawn.uplift import UpliftError, choose_ridge
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


# the planted rule, written out here (lawn/generator/action_effects.py is not imported): the
# usual renewal churn 0.07 x (1.3 - health), times the price rise, times the offer's factor
PRICE_RISE = 5.0
OFFER_FACTOR = {"persuadable": 0.2, "mild": 0.75, "lost_cause": 1.0, "sleeping_dog": 1.6}
WORLD_SEED, WORLD_ACCOUNTS = 7, 1500


@pytest.mark.slow
def test_uplift_targeting_beats_risk_targeting_on_a_planted_world(tmp_path):
    """Generate -> dbt (the two training marts) -> churn model -> cross-fitted uplift model;
    the top decile by uplift keeps more accounts per action than the top decile by churn
    risk, by the truth (recomputed in pandas from the truth file) and by the holdout readout."""
    from lawn.churn_model import FEATURES, predict
    from lawn.churn_model import train as train_churn
    from lawn.generator import GeneratorConfig, PlantedActionEffects, generate
    from lawn.generator.writers import write_generated
    from lawn.uplift_model import CATEGORICAL
    from tests_py.conftest import query, run_dbt

    config = GeneratorConfig(
        seed=WORLD_SEED, accounts=WORLD_ACCOUNTS, days=150, action_effects=PlantedActionEffects()
    )
    write_generated(generate(config), tmp_path / "raw", tmp_path / "truth", "parquet")
    db = tmp_path / "w.duckdb"
    selection = ["+fct_churn_training_examples", "+fct_uplift_training_examples"]
    run_dbt(
        ["build", "--select", *selection, "--exclude-resource-type", "test", "unit_test"],
        db,
        tmp_path,
        raw_dir=tmp_path / "raw",
    )
    spec = train_churn(db, tmp_path / "churn")["spec"]
    units = query(
        db,
        "select * from marts.fct_uplift_training_examples "
        "where uplift_model_id = 'retention_offer_uplift' and is_label_known order by account_id",
    )
    units = units.assign(treated=units["is_treated"].astype(int), outcome=units["outcome"].astype(int))
    units["churn_risk"] = predict(units, spec)
    units["predicted_uplift"] = cross_fitted_uplift(
        units, list(FEATURES), CATEGORICAL, -1, "t_learner", None, folds=5
    )

    # the truth, recomputed from the truth file's own columns: first exposure per account
    truth = pd.read_csv(tmp_path / "truth" / "truth_action_effects.csv")
    first = truth.sort_values(["exposure_date", "account_id"]).groupby("account_id").head(1)
    baseline = 0.07 * (1.3 - first["account_health"]) * PRICE_RISE
    recomputed = baseline * (1 - first["response_type"].map(OFFER_FACTOR))
    assert np.allclose(recomputed, first["true_uplift"])
    effect = pd.Series(recomputed.to_numpy(), index=first["account_id"])
    assert units["account_id"].isin(effect.index).all()  # every randomised account is planted

    k = round(0.1 * len(units))
    chosen = {
        name: units.nlargest(k, column)
        for name, column in [("uplift", "predicted_uplift"), ("risk", "churn_risk")]
    }
    per_100 = {name: 100 * effect[group["account_id"]].mean() for name, group in chosen.items()}
    everyone = 100 * effect[units["account_id"]].mean()
    table = targeting_table(
        units.assign(true_uplift=units["account_id"].map(first.set_index("account_id")["true_uplift"])),
        {"uplift": "predicted_uplift", "risk": "churn_risk"},
        0.1,
        -1,
    ).set_index("targeting")
    assert table.loc["uplift", "true_per_100"] == pytest.approx(per_100["uplift"])
    assert table.loc["risk", "true_per_100"] == pytest.approx(per_100["risk"])
    assert table.loc["random", "true_per_100"] == pytest.approx(everyone)
    print(f"true retained per 100 actions: {per_100} (random {everyone:.2f})")
    assert per_100["uplift"] > per_100["risk"]
    assert per_100["uplift"] > everyone

    # the holdout readout: retained share of the offered minus the held-out (control) accounts
    def readout(group: pd.DataFrame) -> float:
        retained = 1 - group.groupby("treated")["outcome"].mean()
        return 100 * (retained[1] - retained[0])

    observed = {name: readout(group) for name, group in chosen.items()}
    assert table.loc["uplift", "readout_per_100"] == pytest.approx(observed["uplift"])
    assert table.loc["risk", "readout_per_100"] == pytest.approx(observed["risk"])
    print(f"holdout readout per 100 actions: {observed}")
    assert observed["uplift"] > observed["risk"]


def test_cross_validated_ridge_shrinks_noise_and_keeps_signal():
    rng = np.random.default_rng(3)
    names = [f"f{i}" for i in range(10)]
    # 300 units, ten pure-noise features, a 15% outcome: nothing to learn -> heavy penalty
    noise = pd.DataFrame(rng.normal(size=(300, 10)), columns=names).assign(
        treated=rng.integers(0, 2, 300), outcome=(rng.random(300) < 0.15).astype(int)
    )
    assert choose_ridge(noise, names, [])[0] >= 0.3
    # 20,000 units whose outcome follows f0 steeply -> a light penalty
    signal = pd.DataFrame(rng.normal(size=(20_000, 10)), columns=names)
    p = 1 / (1 + np.exp(-(-1.5 + 2.0 * signal["f0"])))
    signal = signal.assign(treated=rng.integers(0, 2, 20_000), outcome=(rng.random(20_000) < p).astype(int))
    assert choose_ridge(signal, names, [])[0] <= 0.03
