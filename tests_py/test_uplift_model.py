"""`lawn uplift train|score|rollback` on a hand-made warehouse holding the two marts it reads
(fct_uplift_training_examples, fct_churn_training_examples) with a planted conditional effect."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from lawn.churn_model import FEATURES
from lawn.cli import app
from lawn.landing import landing_table
from lawn.model_store import ModelStoreError, load_artefact
from lawn.uplift import RIDGE_GRID, predict_uplift
from lawn.uplift_model import is_held_out, live_version, rollback, score, train
from tests_py.test_uplift import planted_frame

MODEL = "retention_offer_uplift"


def _with_features(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for feature in FEATURES:
        out[feature] = rng.normal(0, 1, len(out))
    out["active_users_28d"] = frame["active_people"]
    out["feature_uses_7d"] = frame["usage"]
    return out


@pytest.fixture()
def warehouse(tmp_path):
    planted = _with_features(planted_frame(12_000, 11), 1)
    planted["account_id"] = [f"acc_{i:06d}" for i in range(len(planted))]
    examples = (
        planted.assign(
            uplift_model_id=MODEL,
            is_treated=planted["treated"].astype(bool),
            is_label_known=True,
            benefit_sign=-1,
        )
        .drop(columns=["outcome"])
        .assign(outcome=planted["outcome"].astype(bool))
    )
    scoring = _with_features(planted_frame(500, 12), 2).assign(
        account_id=[f"new_{i:04d}" for i in range(500)]
    )
    days = pd.concat(
        [scoring.assign(feature_date=dt.date(2026, 5, 1)), scoring.assign(feature_date=dt.date(2026, 5, 2))]
    )
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.register("examples", examples)
        con.execute("create table marts.fct_uplift_training_examples as select * from examples")
        con.register("days", days)
        con.execute("create table marts.fct_churn_training_examples as select * from days")
        con.execute(landing_table("ml.uplift_scores").duckdb_ddl())
        con.execute("create table marts.fct_data_day as select date '2026-05-02' as data_day")
    return db, planted, scoring


def test_train_judges_on_held_out_accounts_and_learns_the_effect(warehouse, tmp_path):
    db, planted, _ = warehouse
    artefact = train(db, tmp_path / "store", MODEL)
    held = planted[planted["account_id"].map(is_held_out)]
    assert artefact["held_out"]["rows"] == len(held) and 0.25 < len(held) / len(planted) < 0.35
    assert artefact["training_rows"] == len(planted) - len(held)
    predicted = predict_uplift(artefact["params"], held)
    assert stats.spearmanr(predicted, held["true_uplift"]).statistic > 0.5
    # decile calibration: observed uplift recomputed with pandas from the held-out rows
    ranked = held.assign(decile=pd.Series(predicted, index=held.index).rank(method="first", ascending=False))
    ranked["decile"] = pd.qcut(ranked["decile"], 10, labels=False) + 1
    rates = ranked.groupby(["decile", "treated"])["outcome"].mean().unstack()
    observed = -(rates[1] - rates[0])
    card = {row["decile"]: row["observed_uplift"] for row in artefact["held_out"]["calibration"]}
    assert np.allclose([card[d] for d in range(1, 11)], observed.to_numpy())
    text = (tmp_path / "store" / MODEL / artefact["version"] / "model_card.md").read_text()
    assert "Qini coefficient" in text and artefact["version"] in text


def test_score_rescore_and_rollback(warehouse, tmp_path):
    db, _, scoring = warehouse
    store = tmp_path / "store"
    first = train(db, store, MODEL)
    scores = score(db, store, MODEL)
    assert len(scores) == 500 and set(scores["feature_date"].astype(str)) == {"2026-05-02"}
    expected = predict_uplift(load_artefact(store / MODEL, first["version"])["params"], scoring)
    assert np.allclose(scores["uplift"].to_numpy(), expected)
    score(db, store, MODEL)  # the same day again replaces, never duplicates
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from ml.uplift_scores").fetchall()[0][0] == 500
    second = train(db, store, MODEL, learner="t_learner")
    assert live_version(store, MODEL) == second["version"] != first["version"]
    assert rollback(store, MODEL) == first["version"] == live_version(store, MODEL)
    with pytest.raises(ModelStoreError, match="no earlier version"):
        rollback(store, MODEL)
    registry = json.loads((store / MODEL / "live.json").read_text())
    assert registry == {"live": first["version"], "history": []}


def test_retraining_on_the_same_data_gives_the_same_version(warehouse, tmp_path):
    db, _, _ = warehouse
    assert train(db, tmp_path / "a", MODEL)["version"] == train(db, tmp_path / "b", MODEL)["version"]


def test_cli_errors_are_one_line(tmp_path, monkeypatch):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(empty))
    result = CliRunner().invoke(app, ["uplift", "train", "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "fct_uplift_training_examples" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["uplift", "score", "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "lawn uplift train" in result.output


@pytest.mark.parametrize("ridge", ["x", "-1", "nan"])
def test_bad_ridge_is_a_one_line_error(tmp_path, monkeypatch, ridge):
    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    result = CliRunner().invoke(app, ["uplift", "train", "--ridge", ridge, "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "--ridge must be 'auto' or a number >= 0" in result.output
    assert "Traceback" not in result.output


def test_auto_ridge_is_chosen_by_cross_validation_and_recorded(warehouse, tmp_path):
    db = warehouse[0]
    artefact = train(db, tmp_path / "store", MODEL, learner="t_learner", ridge=None)
    losses = {float(k): v for k, v in artefact["ridge_cv_log_loss"].items()}
    assert artefact["ridge"] == min(losses, key=losses.get)  # the lowest held-out log-loss
    assert set(losses) == set(RIDGE_GRID)
    card = (tmp_path / "store" / MODEL / artefact["version"] / "model_card.md").read_text()
    assert "cross-validated log-loss" in card


def test_db_names_the_warehouse_like_every_other_command(warehouse, tmp_path, monkeypatch):
    """`lawn uplift train|score --db FILE` read and write that warehouse, not the default one
    (the option was missing: a probe, 2026-12-07); a --db that does not exist is one line."""
    db = warehouse[0]
    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(tmp_path / "elsewhere.duckdb"))
    store = str(tmp_path / "s")
    result = CliRunner().invoke(app, ["uplift", "train", "--db", str(db), "--store", store])
    assert result.exit_code == 0 and "is live" in result.output, result.output
    result = CliRunner().invoke(app, ["uplift", "score", "--db", str(db), "--store", store])
    assert result.exit_code == 0 and "500 accounts scored" in result.output, result.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from ml.uplift_scores").fetchall()[0][0] == 500
    assert not (tmp_path / "elsewhere.duckdb").exists()
    for command in ("train", "score"):
        result = CliRunner().invoke(
            app, ["uplift", command, "--db", str(tmp_path / "no.duckdb"), "--store", store]
        )
        assert result.exit_code == 2 and "no.duckdb" in result.output and "Traceback" not in result.output
