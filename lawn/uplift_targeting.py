"""Who should get the action: the top share by predicted uplift or by churn risk? (issue 14.2)

Pure functions on one frame of randomised units (one row per account of the uplift model's
experiment: ``account_id``, ``treated`` (0/1), ``outcome`` (0/1) and the features of
marts.fct_uplift_training_examples). Nothing here reads the truth: the truth-based figures
are computed by the caller from a ``true_uplift`` column when it has one (a planted world).

- ``cross_fitted_uplift``: every unit's uplift predicted by a model that never saw it (k folds
  by a keyed hash of the account id; the learner and features of `lawn uplift train`), so the
  whole randomised sample is held-out data for the comparison, not only the model's 30%.
- ``targeting_table``: for each ranking (uplift, churn risk) the top ``share`` of units, and
  for random targeting the whole sample: the true incremental outcomes per 100 actions (mean
  true uplift of the targeted units x 100; random targeting's expected value is the mean over
  everyone) and the holdout readout inside the targeted group. The experiment's control arm
  is a random holdout within every group a ranking picks (assignment was random and the
  rankings use only pre-exposure features), so ``lawn.readout.compare_arms`` (the experiment
  readout's two-proportion comparison with its Wald interval) on the retained share, treated
  minus control, estimates the incremental outcomes per action in that group.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from lawn.readout import compare_arms
from lawn.uplift import UpliftError, choose_ridge, fit, predict_uplift


def fold_of(account_id: str, folds: int) -> int:
    """The account's cross-fitting fold, by a keyed hash (the same on every run)."""
    digest = hashlib.sha256(f"uplift-crossfit:{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % folds


def cross_fitted_uplift(
    frame: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    benefit_sign: int,
    learner: str,
    ridge: float | None,
    folds: int = 5,
) -> np.ndarray:
    """Benefit-signed uplift of every row, each from a model fitted on the other folds (with
    ``ridge`` None, each fold's model chooses its penalty by cross-validation on its own
    training rows, as `lawn uplift train --ridge auto` does)."""
    if folds < 2:
        raise UpliftError(f"cross-fitting needs at least 2 folds, got {folds}")
    fold = frame["account_id"].map(lambda account: fold_of(account, folds)).to_numpy()
    predicted = np.full(len(frame), np.nan)
    for k in range(folds):
        inside = fold == k
        train = frame[~inside]
        if not inside.any():
            continue
        share = float(train["treated"].mean())
        penalty = choose_ridge(train, numeric, categorical)[0] if ridge is None else ridge
        params = fit(train, numeric, categorical, share, benefit_sign, learner=learner, ridge=penalty)
        predicted[inside] = predict_uplift(params, frame[inside])
    return predicted


def top_share(scores: np.ndarray, share: float) -> np.ndarray:
    """Positions of the top ``share`` of units by ``scores`` (ties by position)."""
    k = max(1, round(share * len(scores)))
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]


def top_group(frame: pd.DataFrame, column: str, share: float) -> pd.DataFrame:
    """The rows of the top ``share`` of ``frame`` by ``column``."""
    return frame.iloc[top_share(frame[column].to_numpy(), share)]


def holdout_readout(group: pd.DataFrame, benefit_sign: int) -> dict:
    """Incremental outcomes per 100 actions in ``group``, treated against its random holdout
    (the control arm), with the readout's 95% interval; benefit-signed (for churn: retained)."""
    wanted = group["outcome"] if benefit_sign == 1 else 1 - group["outcome"]
    units = pd.DataFrame({"metric_value": wanted.astype(float), "denominator_value": 1.0})
    treated = units[group["treated"].to_numpy() == 1]
    control = units[group["treated"].to_numpy() == 0]
    if len(treated) < 2 or len(control) < 2:
        empty = {"lift": np.nan, "low": np.nan, "high": np.nan}
        return {"treated": len(treated), "control": len(control), **empty}
    row = compare_arms(treated, control, "proportion")
    return {
        "treated": len(treated),
        "control": len(control),
        "lift": 100 * row["absolute_lift"],
        "low": 100 * row["ci_low"],
        "high": 100 * row["ci_high"],
    }


def targeting_table(
    frame: pd.DataFrame, rankings: dict[str, str], share: float, benefit_sign: int
) -> pd.DataFrame:
    """One row per ranking (column name of its score) plus ``random``: units targeted, true
    incremental outcomes per 100 actions (when ``frame`` has ``true_uplift``) and the holdout
    readout per 100 actions with its interval."""
    rows = []
    groups = {name: top_group(frame, column, share) for name, column in rankings.items()}
    groups["random"] = frame
    for name, group in groups.items():
        readout = holdout_readout(group, benefit_sign)
        rows.append(
            {
                "targeting": name,
                "accounts": len(group),
                "true_per_100": 100 * group["true_uplift"].mean() if "true_uplift" in group else np.nan,
                "readout_per_100": readout["lift"],
                "readout_low": readout["low"],
                "readout_high": readout["high"],
                "treated": readout["treated"],
                "control": readout["control"],
            }
        )
    return pd.DataFrame(rows)
