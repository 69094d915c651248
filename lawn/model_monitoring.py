"""Monitoring of the churn model: feature drift (population stability index of the newest
day against the training window) and, once outcomes are known, discrimination (AUC) and
calibration of the scores a version wrote, overall, by segment and by signup cohort month.
A run replaces the rows of the same data day and version in ml.model_monitoring, so a
re-run on the same data changes nothing but the run time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from lawn.churn_model import FEATURES, auc, live_version, load_artefact, load_dataset
from lawn.data_day import data_day
from lawn.warehouse import require_landing_table
from lawn.warehouse_io import connect

PSI_THRESHOLD = 0.2  # > 0.2: the population has shifted (the usual rule of thumb)
AUC_FLOOR = 0.6
MISSING_SHARE_TOLERANCE = 0.1  # |share of missing values now - in training|
CALIBRATION_TOLERANCE = 0.05  # |mean predicted - observed rate|
SLICES = ("segment", "cohort")


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


def _check(name: str, subject: str, dimension: str, value: str, metric: float, threshold: float,
           rows: int) -> dict:  # fmt: skip
    return {"check_name": name, "subject": subject, "slice_dimension": dimension, "slice_value": value,
            "metric_value": metric, "threshold": threshold, "row_count": rows}  # fmt: skip


def drift_checks(data: pd.DataFrame, artefact: dict) -> list[dict]:
    """PSI of every feature, and the change in its share of missing values: the newest day
    against the version's training window. A feature missing in every training row and
    present now had a PSI of NaN, never flagged (a probe: NPS answers that began after
    training); its missing share moving from 1.0 to 0.58 is the drift."""
    start, end = (dt.date.fromisoformat(day) for day in artefact["training_window"])
    training = data[(data["feature_date"] >= start) & (data["feature_date"] <= end)]
    newest = data[data["feature_date"] == data["feature_date"].max()]
    checks = []
    for f in FEATURES:
        checks.append(
            _check("feature_psi", f, "all", "all", psi(training[f], newest[f]), PSI_THRESHOLD, len(newest))
        )
        moved = (
            abs(float(newest[f].isna().mean()) - float(training[f].isna().mean()))
            if len(training) and len(newest)
            else float("nan")
        )
        checks.append(_check("missing_share", f, "all", "all", moved, MISSING_SHARE_TOLERANCE, len(newest)))
    return checks


def performance_checks(known: pd.DataFrame) -> list[dict]:
    """AUC and calibration gap of scored days with known outcomes, overall and per slice."""
    groups = [("all", "all", known)] + [
        (dimension, str(value), group) for dimension in SLICES for value, group in known.groupby(dimension)
    ]
    rows = []
    for dimension, value, group in groups:
        if group.empty:
            continue
        labels, scores = group["churned_30d"].to_numpy(), group["churn_probability"].to_numpy()
        gap = float(abs(scores.mean() - labels.mean()))
        discrimination = auc(labels, scores)
        size = len(group)
        rows.append(_check("auc", "churn_probability", dimension, value, discrimination, AUC_FLOOR, size))
        rows.append(_check("calibration_gap", "churn_probability", dimension, value, gap,
                           CALIBRATION_TOLERANCE, len(group)))  # fmt: skip
    return rows


def monitor(db_path: Path, store: Path, shadow: str | None = None) -> pd.DataFrame:
    """Checks for the live version (and a shadow candidate, to compare), written to
    ml.model_monitoring in place of that data day's (lawn/data_day.py) earlier rows for the
    same versions."""
    data = load_dataset(db_path)
    if data.empty:
        raise ValueError("no paying account-days to monitor")
    with connect(db_path, read_only=True) as con:  # a DuckDB path or a warehouse_io target
        as_of = data_day(con)
        require_landing_table(con, "ml", "churn_scores")
        scores = con.query(
            "select account_id, feature_date, model_version, churn_probability from ml.churn_scores"
        )
    scores["feature_date"] = pd.to_datetime(scores["feature_date"]).dt.date
    labelled = data.dropna(subset=["churned_30d"])[
        ["account_id", "feature_date", "churned_30d", "segment", "cohort"]
    ]
    frames = []
    for version, is_shadow in [(live_version(store), False)] + ([(shadow, True)] if shadow else []):
        artefact = load_artefact(store, version)
        known = scores[scores["model_version"] == version].merge(labelled, on=["account_id", "feature_date"])
        frame = pd.DataFrame(drift_checks(data, artefact) + performance_checks(known))
        frame.insert(0, "is_shadow", is_shadow)
        frame.insert(0, "model_version", version)
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    result.insert(0, "as_of_date", as_of)
    flagged = np.where(
        result["check_name"] == "auc",
        result["metric_value"] < result["threshold"],
        result["metric_value"] > result["threshold"],
    )
    result["is_flagged"] = flagged & result["metric_value"].notna()
    result["run_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with connect(db_path) as con:
        require_landing_table(con, "ml", "model_monitoring")
        con.stage("new_checks", result[["as_of_date", "model_version"]].drop_duplicates())
        with con.transaction():
            con.execute(
                "delete from ml.model_monitoring where exists (select 1 from new_checks "
                "where new_checks.as_of_date = model_monitoring.as_of_date "
                "and new_checks.model_version = model_monitoring.model_version)"
            )
            con.write_frame("ml.model_monitoring", result)
    return result
