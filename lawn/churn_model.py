"""The churn-risk model: a logistic regression (statsmodels) on the churn training examples.

Examples and label come from marts.fct_churn_training_examples (contracted; the one churn
definition, ``churned_30d``): a paying account-day (MRR > 0 as known on day D) is labelled 1
when the account cancels within the var ``churn_window_days`` (subscription_canceled occurring
in (D, D + 30]); rows whose window is not over are unlabelled. Split by time: the test set is
the last `test_days` labelled days; the training set ends the window's length before it, so
no training label looks into the test period.
Artefacts: <store>/<version>/model.json (+ model_card.md); <store>/live.json names the live
version and the ones before it (rollback pops back to the previous).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

from lawn import model_store
from lawn.landing import columns
from lawn.settings import var
from lawn.warehouse import MissingTableError, require_landing_table
from lawn.warehouse_io import connect

FEATURES = (
    "account_age_days",
    "feature_uses_7d",
    "usage_trend_7d",
    "usage_vs_baseline_7d",
    "active_users_7d",
    "active_users_28d",
    "milestones_reached",
    "support_tickets_28d",
    "latest_nps_score",
    "mrr_usd",
    "mrr_change_30d",
    "email_open_rate_28d",
    "api_errors_7d",
)


# ml.churn_score_contributions, one row per score and feature (and one intercept row); its
# columns are defined in models/staging/ml/_ml__sources.yml (lawn/landing.py)
CONTRIBUTION_COLUMNS = columns("ml.churn_score_contributions")


class ModelError(ValueError):
    """Training or scoring cannot proceed (no data, no positives, no live model, ...)."""


class TooLittleHistory(ModelError):
    """The data is too young to train on: no labelled account-day yet (a label needs 30 days
    after a paying day), or no churn and no retention among them. A new feed's nightly waits
    for it (lawn/nightly.py) instead of failing every night."""


class CoefficientsLogit(sm.Logit):
    """statsmodels' Logit whose L1 fit keeps its coefficients when their covariance cannot be
    computed. The model uses the coefficients only; statsmodels computes the covariance of the
    non-zero ones after the fit and raised "Hessian matrix is singular" for a young feed's few
    account-days (a feature constant over them: a column of zeros once standardised), which
    failed the nightly's score step. The coefficients are the optimiser's, as before; the
    covariance is NaN."""

    def cov_params_func_l1(self, likelihood_model, xopt, retvals):
        try:
            return super().cov_params_func_l1(likelihood_model, xopt, retvals)
        except np.linalg.LinAlgError:
            return np.full((len(xopt), len(xopt)), np.nan)


# the label: churned_30d of marts.fct_churn_training_examples (a cancellation within the
# var churn_window_days after the day; doc block churned_30d in models/marts/ml/_ml__docs.md)
LABEL = "churned_30d"
CHURN_WINDOW_DAYS: int = var("churn_window_days")


def load_dataset(db_path: Path | object) -> pd.DataFrame:
    """Paying account-days with features, segment, signup cohort (``YYYY-MM``) and the churn
    label ``churned_30d`` (1.0 or 0.0; NaN while its window is not over), from the training
    mart: the label is defined there, once."""
    with connect(db_path, read_only=True) as con:  # a DuckDB path or a warehouse_io target
        try:
            require_landing_table(con, "marts", "fct_churn_training_examples")
        except MissingTableError as exc:
            raise ModelError(str(exc)) from exc
        frame = con.query(
            f"select account_id, feature_date, segment, cohort_month, {', '.join(FEATURES)}, {LABEL} "
            "from marts.fct_churn_training_examples order by feature_date, account_id"
        )
    frame["feature_date"] = pd.to_datetime(frame["feature_date"]).dt.date
    months = pd.to_datetime(frame.pop("cohort_month"))
    frame["cohort"] = months.dt.strftime("%Y-%m").where(months.notna(), None)
    frame[LABEL] = frame[LABEL].map({True: 1.0, False: 0.0}).astype(float)
    for column in FEATURES:
        frame[column] = frame[column].astype(float)
    return frame


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = labels.sum(), (~labels).sum()
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _design(frame: pd.DataFrame, spec: dict) -> np.ndarray:
    values = frame[list(FEATURES)].astype(float)
    values = values.fillna(pd.Series(spec["fill"]))
    scaled = (values - pd.Series(spec["mean"])) / pd.Series(spec["std"])
    return sm.add_constant(scaled.to_numpy(), has_constant="add")


def predict(frame: pd.DataFrame, spec: dict) -> np.ndarray:
    linear = _design(frame, spec) @ np.asarray(spec["coefficients"])
    return 1 / (1 + np.exp(-linear))


INTERCEPT = "(intercept)"


def contributions(frame: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Per row and feature: the value used (missing values filled with the training mean),
    its standardised value z, the coefficient b and the contribution b * z to the logit,
    plus one intercept row per score, so a score's contributions sum to its logit exactly
    (logit = b0 + sum_j b_j z_j). ``contribution_rank`` orders a row's features by absolute
    contribution (1 = largest; the intercept has none). Index: positions of ``frame``."""
    design = _design(frame, spec)
    coefficients = np.asarray(spec["coefficients"], dtype=float)
    parts = design * coefficients
    values = frame[list(FEATURES)].astype(float).fillna(pd.Series(spec["fill"])).to_numpy()
    rows, width = design.shape
    names = [INTERCEPT, *FEATURES]
    ranks = np.full((rows, width), np.nan)
    order = np.argsort(-np.abs(parts[:, 1:]), axis=1, kind="stable")
    ranks[np.arange(rows)[:, None], order + 1] = np.arange(1, width)
    return pd.DataFrame(
        {
            "row": np.repeat(np.arange(rows), width),
            "feature": np.tile(names, rows),
            "feature_value": np.column_stack([np.full(rows, np.nan), values]).ravel(),
            "standardised_value": design.ravel(),
            "coefficient": np.tile(coefficients, rows),
            "contribution": parts.ravel(),
            "contribution_rank": ranks.ravel(),
        }
    )


def calibration(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted vs observed rate per score decile (fewer bins when scores tie)."""
    frame = pd.DataFrame({"y": labels, "p": scores})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=min(bins, len(frame)), labels=False)
    grouped = frame.groupby("bin").agg(
        mean_predicted=("p", "mean"), observed_rate=("y", "mean"), rows=("y", "size")
    )
    return grouped.reset_index(drop=True).to_dict(orient="records")


def train(db_path: Path, store: Path, test_days: int = 30) -> dict:
    """Fit on the older labelled days, evaluate on the last ``test_days``; write the artefact
    and model card and make the new version live. The training window ends the label's
    window (``churn_window_days``) before the test window, so no training label looks into
    the test period. Returns the artefact."""
    if test_days < 1:
        raise ModelError(f"test_days must be at least 1, got {test_days}")
    horizon_days = CHURN_WINDOW_DAYS
    data = load_dataset(db_path).dropna(subset=[LABEL])
    if data.empty:
        raise TooLittleHistory(
            "no labelled account-days: the data must cover at least 30 days after a payment"
        )
    last = max(data["feature_date"])
    test_start = last - dt.timedelta(days=test_days - 1)
    train_end = test_start - dt.timedelta(days=horizon_days)
    train_rows, test_rows = data[data["feature_date"] <= train_end], data[data["feature_date"] >= test_start]
    if train_rows[LABEL].nunique() < 2:
        raise TooLittleHistory(
            f"training window (to {train_end}) has no churn or no retention: nothing to learn"
        )
    values = train_rows[list(FEATURES)]
    spec = {
        "fill": values.mean().fillna(0).to_dict(),
        "mean": values.fillna(values.mean()).mean().fillna(0).to_dict(),
        "std": values.fillna(values.mean()).std().replace(0, 1).fillna(1).to_dict(),
    }
    fit = CoefficientsLogit(train_rows[LABEL].to_numpy(), _design(train_rows, spec)).fit_regularized(
        alpha=1.0, disp=0
    )
    spec["coefficients"] = [float(c) for c in fit.params]
    scores = predict(test_rows, spec)
    labels = test_rows[LABEL].to_numpy()
    by_segment = {
        segment: auc(
            labels[(test_rows["segment"] == segment).to_numpy()],
            scores[(test_rows["segment"] == segment).to_numpy()],
        )
        for segment in sorted(test_rows["segment"].dropna().unique())
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    version = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{digest}"
    artefact = {
        "version": version,
        "features": list(FEATURES),
        "label": f"{LABEL}: subscription_canceled within {horizon_days} days (paying accounts)",
        "training_window": [str(min(train_rows["feature_date"])), str(train_end)],
        "test_window": [str(test_start), str(last)],
        "training_rows": len(train_rows),
        "training_positives": int(train_rows[LABEL].sum()),
        "test_rows": len(test_rows),
        "test_positives": int(labels.sum()),
        "test_auc": auc(labels, scores),
        "test_brier": float(np.mean((scores - labels) ** 2)) if len(labels) else float("nan"),
        "test_auc_by_segment": by_segment,
        "test_calibration": calibration(labels, scores) if len(labels) else [],
        "training_feature_means": spec["mean"],
        "training_feature_stds": spec["std"],
        "spec": spec,
    }
    save_artefact(store, artefact)
    return artefact


def save_artefact(store: Path, artefact: dict, make_live: bool = True) -> Path:
    """Write <store>/<version>/model.json and model_card.md; make the version live."""
    return model_store.save_artefact(store, artefact, model_card(artefact), make_live)


def model_card(artefact: dict) -> str:
    lines = [
        f"# Churn-risk model {artefact['version']}",
        "",
        f"- Label: {artefact['label']}",
        "- Model: logistic regression (statsmodels, L1-regularised, standardised features)",
        f"- Features: {', '.join(artefact['features'])}",
        f"- Training window: {artefact['training_window'][0]} to {artefact['training_window'][1]} "
        f"({artefact['training_rows']} account-days, {artefact['training_positives']} positive)",
        f"- Test window (held out, later): {artefact['test_window'][0]} to {artefact['test_window'][1]} "
        f"({artefact['test_rows']} account-days, {artefact['test_positives']} positive)",
        f"- Test AUC: {artefact['test_auc']:.3f}; Brier score: {artefact['test_brier']:.4f}",
        "",
        "| segment | test AUC |",
        "|---|---|",
        *[f"| {segment} | {value:.3f} |" for segment, value in artefact["test_auc_by_segment"].items()],
        "",
        "| score decile | mean predicted | observed rate | rows |",
        "|---|---|---|---|",
        *[
            f"| {i + 1} | {row['mean_predicted']:.4f} | {row['observed_rate']:.4f} | {row['rows']} |"
            for i, row in enumerate(artefact["test_calibration"])
        ],
    ]
    return "\n".join(lines) + "\n"


class NoLiveModelError(ModelError):
    """No live version in the store (not a damaged one): the nightly trains a first model."""


def live_version(store: Path) -> str:
    try:
        return model_store.live_version(store, "lawn model train")
    except model_store.NoLiveModel as exc:
        raise NoLiveModelError(str(exc)) from None
    except model_store.ModelStoreError as exc:
        raise ModelError(str(exc)) from None


def rollback(store: Path) -> str:
    """Make the previous version live again; returns it."""
    try:
        return model_store.rollback(store)
    except model_store.ModelStoreError as exc:
        raise ModelError(str(exc)) from None


def load_artefact(store: Path, version: str) -> dict:
    """A stored version, its scoring spec checked: a model.json cut short or with coefficients
    for other features is named in one line (it failed in numpy's matmul, exit 1)."""
    try:
        artefact = model_store.load_artefact(store, version)
    except model_store.ModelStoreError as exc:
        raise ModelError(str(exc)) from None
    spec = artefact.get("spec")
    where = store / version / "model.json"
    if not isinstance(spec, dict) or not all(
        isinstance(spec.get(key), dict) for key in ("fill", "mean", "std")
    ):
        raise ModelError(f"{where}: no scoring spec (fill, mean, std, coefficients)")
    missing = [name for name in FEATURES if name not in spec["mean"] or name not in spec["std"]]
    coefficients = spec.get("coefficients")
    if missing or not isinstance(coefficients, list) or len(coefficients) != len(FEATURES) + 1:
        count = len(coefficients) if isinstance(coefficients, list) else "none"
        lacking = f"; missing {', '.join(missing)}" if missing else ""
        raise ModelError(
            f"{where}: its spec is not for this model's {len(FEATURES)} features (coefficients: "
            f"{count}, expected {len(FEATURES) + 1} with the intercept{lacking})"
        )
    if not isinstance(artefact.get("training_window"), list) or len(artefact["training_window"]) != 2:
        raise ModelError(f"{where}: no training window")
    return artefact
