"""Uplift: who does an action help? Meta-learners on randomised data (statsmodels).

Input: one row per randomised unit with its features at exposure, ``treated`` (0/1, assigned
at random with a known share) and ``outcome`` (0/1). ``benefit_sign`` says which way is good:
-1 when the outcome is harmful (churn: uplift = the churn probability the action removes),
+1 when it is wanted (conversion).

- T-learner: one ridge-penalised logistic regression per arm; uplift = benefit_sign x
  (P(outcome | treated, x) - P(outcome | control, x)).
- DR-learner: the doubly robust pseudo-outcome
  phi = mu1 - mu0 + T (Y - mu1) / e - (1 - T) (Y - mu0) / (1 - e), with e the known assignment
  share and mu the T-learner's arm models (cross-fitted on two folds), regressed on x by
  ridge least squares; uplift = benefit_sign x prediction.

Regularisation (``choose_ridge``): with few randomised units and a rare outcome the arm models
overfit; the ridge penalty is chosen from ``RIDGE_GRID`` by k-fold cross-validated log-loss of
the two arm models on the training rows (their own outcomes, never the uplift truth or the
held-out units): the penalty with the lowest mean held-out log-loss.

Evaluation on held-out units (``evaluate``): the Qini curve (incremental outcomes when the top
k units by predicted uplift are treated, benefit-signed), the Qini coefficient (area between it
and random targeting, normalised by units), AUUC (mean of the uplift curve), and calibration of
predicted against observed uplift by decile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

LEARNERS = ("t_learner", "dr_learner")
RIDGE_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


class UpliftError(ValueError):
    """Training or scoring cannot proceed (one line naming what is wrong)."""


@dataclass(frozen=True)
class Design:
    """How a frame becomes a numeric matrix: numeric columns standardised, categories one-hot."""

    numeric: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]  # column -> levels (first level is the reference)
    means: tuple[float, ...]
    scales: tuple[float, ...]

    @classmethod
    def fit(cls, frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> Design:
        missing = [c for c in [*numeric, *categorical] if c not in frame.columns]
        if missing:
            raise UpliftError(f"training data lacks feature columns {missing}")
        values = frame[numeric].astype(float)
        scales = values.std(ddof=0).replace(0, 1.0).fillna(1.0)
        levels = {c: tuple(sorted(frame[c].astype(str).unique())) for c in categorical}
        return cls(tuple(numeric), levels, tuple(values.mean().fillna(0.0)), tuple(scales))

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame[list(self.numeric)].astype(float).to_numpy()
        standard = (values - np.array(self.means)) / np.array(self.scales)
        standard = np.nan_to_num(standard, nan=0.0)  # a missing value is the training mean
        parts = [np.ones((len(frame), 1)), standard]
        for column, levels in self.categorical.items():
            text = frame[column].astype(str).to_numpy()
            dummies = [text == level for level in levels[1:]]
            if dummies:  # one level (every account `unknown` without a CRM): no column
                parts.append(np.column_stack(dummies).astype(float))
        return np.hstack([part.reshape(len(frame), -1) for part in parts])

    def names(self) -> list[str]:
        dummies = [f"{c}={level}" for c, levels in self.categorical.items() for level in levels[1:]]
        return ["intercept", *self.numeric, *dummies]


def _logit(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    if y.min() == y.max():
        raise UpliftError("an arm has only one outcome value: nothing to learn from")
    model = sm.GLM(y, x, family=sm.families.Binomial())
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0  # the intercept is not shrunk
    return np.asarray(model.fit_regularized(alpha=penalty, L1_wt=0.0, maxiter=200).params)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def _ridge(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    penalty = np.eye(x.shape[1]) * ridge * len(y)
    penalty[0, 0] = 0.0
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)


def choose_ridge(
    frame: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    grid: tuple[float, ...] = RIDGE_GRID,
    folds: int = 5,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The ridge of ``grid`` chosen by cross-validated log-loss of the arm models (see the
    module docstring); returns it with the mean held-out log-loss per unit of every candidate."""
    if not grid or min(grid) < 0:
        raise UpliftError("the ridge grid must hold penalties >= 0")
    fold = np.random.default_rng(seed).integers(0, folds, len(frame))
    t, y = frame["treated"].to_numpy(int), frame["outcome"].to_numpy(float)
    losses = {ridge: np.zeros(len(frame)) for ridge in grid}
    for k in range(folds):
        train, held = fold != k, fold == k
        if not held.any():
            continue
        design = Design.fit(frame[train], numeric, categorical)
        x_train, x_held = design.matrix(frame[train]), design.matrix(frame[held])
        for arm in (0, 1):
            rows, target = t[train] == arm, t[held] == arm
            for ridge in grid:
                beta = _logit(x_train[rows], y[train][rows], ridge)
                p = np.clip(_sigmoid(x_held[target] @ beta), 1e-9, 1 - 1e-9)
                outcome = y[held][target]
                loss = -(outcome * np.log(p) + (1 - outcome) * np.log(1 - p))
                index = np.flatnonzero(held)[target]
                losses[ridge][index] = loss
    means = {ridge: float(values.mean()) for ridge, values in losses.items()}
    return min(means, key=means.get), means


def fit(
    frame: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    treatment_share: float,
    benefit_sign: int,
    learner: str = "dr_learner",
    ridge: float = 0.01,
    seed: int = 0,
) -> dict:
    """Fit ``learner`` on ``frame`` (columns: features, treated, outcome); returns its parameters."""
    if learner not in LEARNERS:
        raise UpliftError(f"unknown learner {learner!r}; expected one of {', '.join(LEARNERS)}")
    if not 0 < treatment_share < 1:
        raise UpliftError(f"treatment share must lie in (0, 1), got {treatment_share}")
    if benefit_sign not in (-1, 1):
        raise UpliftError("benefit_sign must be -1 (harmful outcome) or +1 (wanted outcome)")
    design = Design.fit(frame, numeric, categorical)
    x, t, y = design.matrix(frame), frame["treated"].to_numpy(int), frame["outcome"].to_numpy(float)
    mu1, mu0 = _logit(x[t == 1], y[t == 1], ridge), _logit(x[t == 0], y[t == 0], ridge)
    result = {
        "learner": learner,
        "design": {
            "numeric": list(design.numeric),
            "categorical": {k: list(v) for k, v in design.categorical.items()},
            "means": list(design.means),
            "scales": list(design.scales),
        },
        "names": design.names(),
        "benefit_sign": benefit_sign,
        "treatment_share": treatment_share,
        "mu1": mu1.tolist(),
        "mu0": mu0.tolist(),
    }
    if learner == "dr_learner":
        folds = np.random.default_rng(seed).integers(0, 2, len(frame))
        phi = np.empty(len(frame))
        for fold in (0, 1):
            train, held = folds != fold, folds == fold
            f1 = _logit(x[train & (t == 1)], y[train & (t == 1)], ridge)
            f0 = _logit(x[train & (t == 0)], y[train & (t == 0)], ridge)
            m1, m0 = _sigmoid(x[held] @ f1), _sigmoid(x[held] @ f0)
            th, yh = t[held], y[held]
            phi[held] = (
                m1 - m0 + th * (yh - m1) / treatment_share - (1 - th) * (yh - m0) / (1 - treatment_share)
            )
        result["tau"] = _ridge(x, phi, ridge).tolist()
    return result


def _design_from(params: dict) -> Design:
    spec = params["design"]
    return Design(
        tuple(spec["numeric"]),
        {k: tuple(v) for k, v in spec["categorical"].items()},
        tuple(spec["means"]),
        tuple(spec["scales"]),
    )


def predict_uplift(params: dict, frame: pd.DataFrame) -> np.ndarray:
    """Benefit-signed uplift per row: positive = the action helps this unit."""
    x = _design_from(params).matrix(frame)
    if params["learner"] == "dr_learner":
        raw = x @ np.array(params["tau"])
    else:
        raw = _sigmoid(x @ np.array(params["mu1"])) - _sigmoid(x @ np.array(params["mu0"]))
    return params["benefit_sign"] * raw


def qini_curve(
    uplift: np.ndarray, treated: np.ndarray, outcome: np.ndarray, benefit_sign: int
) -> pd.DataFrame:
    """Incremental benefit-signed outcomes when the top ``k`` units by ``uplift`` are targeted:
    ``gain(k) = sign x (Y_T(k) - Y_C(k) x N_T(k) / N_C(k))``, for k = 1..n (ties by position)."""
    order = np.argsort(-uplift, kind="stable")
    t, y = treated[order].astype(float), outcome[order].astype(float)
    n_t, n_c = np.cumsum(t), np.cumsum(1 - t)
    y_t, y_c = np.cumsum(t * y), np.cumsum((1 - t) * y)
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c > 0)
    gain = benefit_sign * (y_t - y_c * ratio)
    return pd.DataFrame({"k": np.arange(1, len(order) + 1), "gain": gain})


def evaluate(uplift: np.ndarray, treated: np.ndarray, outcome: np.ndarray, benefit_sign: int) -> dict:
    """Qini coefficient, AUUC and decile calibration on held-out randomised units."""
    curve = qini_curve(uplift, treated, outcome, benefit_sign)
    n, total = len(curve), float(curve["gain"].iloc[-1])
    random_line = total * curve["k"].to_numpy() / n
    qini = float(np.mean(curve["gain"].to_numpy() - random_line)) / n
    auuc = float(np.mean(curve["gain"].to_numpy())) / n
    deciles = pd.qcut(pd.Series(uplift).rank(method="first", ascending=False), 10, labels=False)
    rows = []
    for decile in range(10):
        inside = (deciles == decile).to_numpy()
        t, y = treated[inside], outcome[inside]
        observed = benefit_sign * (y[t == 1].mean() - y[t == 0].mean()) if t.min() < t.max() else float("nan")
        rows.append(
            {
                "decile": decile + 1,
                "units": int(inside.sum()),
                "predicted_uplift": float(uplift[inside].mean()),
                "observed_uplift": float(observed),
            }
        )
    return {"qini_coefficient": qini, "auuc": auuc, "incremental_total": total, "calibration": rows}
