"""Uplift models as versioned artefacts: `lawn uplift train|score|rollback`.

Training data: marts.fct_uplift_training_examples (randomised units of the model's registered
experiment, features on the day before exposure, the `churned_30d` outcome), labelled rows
only. A deterministic 30% of accounts (keyed hash of the account id) is held out; the learner
(lawn/uplift.py, DR-learner by default) is fitted on the rest and judged on the held-out
units: Qini coefficient, AUUC and predicted-vs-observed uplift by decile, written to the
model card. The assignment share is the treated share of the training rows (randomised data).

Scoring: every paying account on the newest day of marts.fct_churn_training_examples gets the
live version's benefit-signed uplift, written to ml.uplift_scores (a re-score of the same day
and version replaces its rows). Artefacts: <store>/<model id>/<version>/ (lawn/model_store.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from lawn import model_store
from lawn.churn_model import FEATURES
from lawn.data_day import DataDayError, data_day
from lawn.settings import UPLIFT_DEFAULT_RIDGE
from lawn.uplift import UpliftError, choose_ridge, evaluate, fit, predict_uplift
from lawn.warehouse import MissingTableError, require_landing_table
from lawn.warehouse_io import connect

CATEGORICAL = ["segment"]
HELD_OUT_SHARE = 0.3
DEFAULT_LEARNER = "dr_learner"
DEFAULT_RIDGE = UPLIFT_DEFAULT_RIDGE


def _examples(db_path: Path, model_id: str) -> pd.DataFrame:
    columns = ", ".join(["account_id", "is_treated", "outcome", "benefit_sign", *FEATURES, *CATEGORICAL])
    try:
        with duckdb.connect(str(db_path), read_only=True) as con:
            frame = con.execute(
                f"select {columns} from marts.fct_uplift_training_examples "
                "where uplift_model_id = ? and is_label_known order by account_id",
                [model_id],
            ).df()
    except duckdb.Error as exc:
        raise UpliftError(f"{db_path}: cannot read marts.fct_uplift_training_examples ({exc})") from exc
    if frame.empty:
        raise UpliftError(
            f"no labelled examples for uplift model {model_id!r} in marts.fct_uplift_training_examples "
            "(is it registered in seeds/actions/uplift_models.csv, and has its experiment run 30 days?)"
        )
    return frame.assign(treated=frame["is_treated"].astype(int), outcome=frame["outcome"].astype(int))


def is_held_out(account_id: str) -> bool:
    digest = hashlib.sha256(f"uplift-holdout:{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < HELD_OUT_SHARE


def model_card(artefact: dict) -> str:
    ev = artefact["held_out"]
    lines = [
        f"# Uplift model {artefact['uplift_model_id']} {artefact['version']}",
        "",
        f"- Learner: {artefact['learner']} (lawn/uplift.py, statsmodels; ridge {artefact['ridge']}"
        + (" chosen by 5-fold cross-validated log-loss)" if artefact.get("ridge_cv_log_loss") else ")"),
        f"- Outcome: churned_30d, benefit sign {artefact['benefit_sign']} "
        "(uplift = outcome probability removed)",
        f"- Features: {', '.join(artefact['features'])}; categories: {', '.join(CATEGORICAL)}",
        f"- Training: {artefact['training_rows']} randomised accounts "
        f"({artefact['treated_share']:.3f} treated)",
        f"- Held out (keyed 30% of accounts): {ev['rows']} accounts",
        f"- Qini coefficient {ev['qini_coefficient']:.5f}; AUUC {ev['auuc']:.5f}; "
        f"incremental outcomes if all treated {ev['incremental_total']:.2f}",
        "",
        "| decile (by predicted uplift) | units | mean predicted uplift | observed uplift |",
        "|---|---|---|---|",
        *[
            f"| {r['decile']} | {r['units']} | {r['predicted_uplift']:.4f} | {r['observed_uplift']:.4f} |"
            for r in ev["calibration"]
        ],
    ]
    return "\n".join(lines) + "\n"


def train(
    db_path: Path,
    store: Path,
    model_id: str,
    learner: str = DEFAULT_LEARNER,
    ridge: float | None = DEFAULT_RIDGE,
) -> dict:
    """Fit, judge on the held-out accounts, save and make live; returns the artefact. With
    ``ridge`` None the penalty is chosen by cross-validation on the training rows
    (lawn/uplift.py ``choose_ridge``)."""
    data = _examples(db_path, model_id)
    signs = data["benefit_sign"].unique()
    if len(signs) != 1:
        raise UpliftError(f"uplift model {model_id!r} has rows with benefit signs {sorted(signs)}")
    held = data["account_id"].map(is_held_out).to_numpy()
    training, holdout = data[~held], data[held]
    if holdout["treated"].nunique() < 2 or training["treated"].nunique() < 2:
        raise UpliftError(
            f"uplift model {model_id!r}: too few accounts to hold out treated and control units"
        )
    share = float(training["treated"].mean())
    ridge_losses = None
    if ridge is None:
        ridge, ridge_losses = choose_ridge(training, list(FEATURES), CATEGORICAL)
    params = fit(training, list(FEATURES), CATEGORICAL, share, int(signs[0]), learner=learner, ridge=ridge)
    evaluation = evaluate(
        predict_uplift(params, holdout),
        holdout["treated"].to_numpy(),
        holdout["outcome"].to_numpy(),
        int(signs[0]),
    )
    fingerprint = json.dumps({"params": params, "rows": len(data)}, sort_keys=True, default=str)
    artefact = {
        "version": f"{model_id}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:8]}",
        "uplift_model_id": model_id,
        "learner": learner,
        "ridge": ridge,
        "ridge_cv_log_loss": ridge_losses,
        "features": list(FEATURES),
        "benefit_sign": int(signs[0]),
        "treated_share": share,
        "training_rows": len(training),
        "held_out": {"rows": len(holdout), **evaluation},
        "params": params,
    }
    model_store.save_artefact(store / model_id, artefact, model_card(artefact))
    return artefact


def live_version(store: Path, model_id: str) -> str:
    return model_store.live_version(store / model_id, f"lawn uplift train --model {model_id}")


def rollback(store: Path, model_id: str) -> str:
    return model_store.rollback(store / model_id)


def score(db_path: Path, store: Path, model_id: str) -> pd.DataFrame:
    """Score every paying account on the data day (lawn/data_day.py) with the live version."""
    version = live_version(store, model_id)
    artefact = model_store.load_artefact(store / model_id, version)
    columns = ", ".join(["account_id", "feature_date", *FEATURES, *CATEGORICAL])
    with connect(db_path) as con:  # a DuckDB path or a warehouse_io target
        try:
            require_landing_table(con, "ml", "uplift_scores")
        except MissingTableError as exc:
            raise UpliftError(str(exc)) from exc
        try:
            day = data_day(con)
        except DataDayError as exc:
            raise UpliftError(str(exc)) from exc
        days = con.query(
            f"select {columns} from marts.fct_churn_training_examples "
            "where feature_date = ? order by account_id",
            [day],
        )
        scores = pd.DataFrame(
            {
                "uplift_model_id": model_id,
                "account_id": days["account_id"],
                "feature_date": days["feature_date"],
                "model_version": version,
                "uplift": predict_uplift(artefact["params"], days) if len(days) else np.array([]),
                "scored_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            }
        )
        con.stage("new_uplift", scores[["model_version", "feature_date"]].drop_duplicates())
        with con.transaction():
            con.execute(
                "delete from ml.uplift_scores where exists (select 1 from new_uplift "
                "where new_uplift.model_version = uplift_scores.model_version "
                "and new_uplift.feature_date = uplift_scores.feature_date)"
            )
            con.write_frame("ml.uplift_scores", scores)
    return scores


def score_live_models(db_path: Path, store: Path) -> dict[str, int]:
    """Score each model under ``store`` that has a live version (the nightly's uplift part)."""
    scored = {}
    for folder in sorted(path for path in store.glob("*") if (path / "live.json").exists()):
        if model_store.registry(folder)["live"]:
            scored[folder.name] = len(score(db_path, store, folder.name))
    return scored
