"""Monitoring of the live churn model: feature drift (population stability index against the
training window) and, once outcomes are known, discrimination and calibration of the scores
it wrote, overall and by segment. Results are appended to ml.model_monitoring."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from lawn.churn_model import FEATURES, auc, live_version, load_artefact, load_dataset

PSI_THRESHOLD = 0.2  # > 0.2: the population has shifted (the usual rule of thumb)
AUC_FLOOR = 0.6
CALIBRATION_TOLERANCE = 0.05  # |mean predicted - observed rate|


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10, floor: float = 1e-4) -> float:
    """Population stability index sum((a - e) ln(a / e)) over the expected sample's quantile
    bins; empty bins count as ``floor`` so the logarithm stays finite."""
    expected, actual = np.asarray(expected, float), np.asarray(actual, float)
    expected, actual = expected[~np.isnan(expected)], actual[~np.isnan(actual)]
    if len(expected) == 0 or len(actual) == 0:
        return float("nan")
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1) / len(expected)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1) / len(actual)
    e, a = np.maximum(e, floor), np.maximum(a, floor)
    return float(np.sum((a - e) * np.log(a / e)))


def monitor(db_path: Path, store: Path) -> pd.DataFrame:
    """One row per check: feature drift of the newest day, and performance of every scored
    day whose 30-day outcome is known; appended to ml.model_monitoring."""
    version = live_version(store)
    artefact = load_artefact(store, version)
    data = load_dataset(db_path)
    start, end = (dt.date.fromisoformat(day) for day in artefact["training_window"])
    training = data[(data["feature_date"] >= start) & (data["feature_date"] <= end)]
    newest = data[data["feature_date"] == data["feature_date"].max()]
    run_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        {
            "check": "feature_psi",
            "subject": feature,
            "segment": "all",
            "value": psi(training[feature], newest[feature]),
            "threshold": PSI_THRESHOLD,
        }
        for feature in FEATURES
    ]
    with duckdb.connect(str(db_path), read_only=True) as con:
        has_scores = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'ml' and table_name = 'churn_scores'"
        ).fetchone()[0]
        scores = (
            con.execute(
                "select account_id, feature_date, churn_probability from ml.churn_scores "
                "where model_version = ? and not is_shadow",
                [version],
            ).df()
            if has_scores
            else pd.DataFrame(columns=["account_id", "feature_date", "churn_probability"])
        )
    scores["feature_date"] = pd.to_datetime(scores["feature_date"]).dt.date
    known = scores.merge(
        data.dropna(subset=["churned_next"])[["account_id", "feature_date", "churned_next", "segment"]],
        on=["account_id", "feature_date"],
    )
    for segment, group in [("all", known), *known.groupby("segment")]:
        labels, probabilities = group["churned_next"].to_numpy(), group["churn_probability"].to_numpy()
        if len(group) == 0:
            continue
        rows.append({"check": "auc", "subject": "churn_probability", "segment": segment,
                     "value": auc(labels, probabilities), "threshold": AUC_FLOOR})  # fmt: skip
        rows.append({"check": "calibration_gap", "subject": "churn_probability", "segment": segment,
                     "value": float(abs(probabilities.mean() - labels.mean())),
                     "threshold": CALIBRATION_TOLERANCE})  # fmt: skip
    result = pd.DataFrame(rows)
    result["is_flagged"] = np.where(
        result["check"] == "auc", result["value"] < result["threshold"], result["value"] > result["threshold"]
    )
    result["is_flagged"] = result["is_flagged"] & result["value"].notna()
    result.insert(0, "model_version", version)
    result.insert(0, "run_at", run_at)
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema if not exists ml")
        con.execute(
            "create table if not exists ml.model_monitoring (run_at timestamp, model_version varchar, "
            "check_name varchar, subject varchar, segment varchar, value double, threshold double, "
            "is_flagged boolean)"
        )
        con.register("new_checks", result)
        con.execute("insert into ml.model_monitoring select * from new_checks")
    return result
