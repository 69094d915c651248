"""The churn model: AUC against a brute-force count, train -> score -> rollback round trip,
scores recomputed from the artefact, shadow scoring, clear errors."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.churn_model import FEATURES, auc, live_version, load_artefact, load_dataset, predict
from lawn.cli import app
from lawn.generator import GeneratorConfig, PlantedChurnWarning, generate
from lawn.generator.writers import write_generated
from tests_py.conftest import query, run_dbt

runner = CliRunner()


def test_auc_equals_pairwise_count():
    rng = np.random.default_rng(4)
    labels = rng.random(300) < 0.2
    scores = np.round(rng.random(300) + labels * 0.3, 2)  # rounding makes ties
    pairs = [(p, n) for p in scores[labels] for n in scores[~labels]]
    expected = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])
    assert auc(labels, scores) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(auc(np.zeros(5, bool), np.arange(5.0)))


@pytest.fixture(scope="module")
def churn_world(tmp_path_factory):
    """Enough paying accounts over 150 days for churn to happen in both time windows, with the
    planted churn warning (activity falls in the 21 days before a cancellation)."""
    root = tmp_path_factory.mktemp("churn")
    config = GeneratorConfig(seed=9, accounts=200, days=180, churn_warning=PlantedChurnWarning())
    write_generated(generate(config), root / "raw", root / "truth", "parquet")
    db = root / "lawn.duckdb"
    run_dbt(
        [
            "build",
            "--select",
            "+fct_churn_training_examples",
            "+fct_data_day",
            "--exclude-resource-type",
            "test",
            "unit_test",
        ],
        db,
        root,
        raw_dir=root / "raw",
    )
    return db, root / "store"


def _cli(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_train_score_rollback_round_trip(churn_world):
    db, store = churn_world
    first = json.loads(_cli("model", "train", "--db", str(db), "--store", str(store), "--json").stdout)
    second = json.loads(
        _cli("model", "train", "--db", str(db), "--store", str(store), "--test-days", "20", "--json").stdout
    )
    assert live_version(store) == second["version"] != first["version"]
    assert (store / first["version"] / "model_card.md").read_text().startswith("# Churn-risk model")
    assert first["training_positives"] > 0 and first["test_rows"] > 0
    assert first["training_window"][1] < first["test_window"][0]  # split by time
    _cli("model", "score", "--db", str(db), "--store", str(store), "--shadow", first["version"])
    scores = query(db, "select * from ml.churn_scores")
    assert set(scores["model_version"]) == {first["version"], second["version"]}
    assert scores.loc[scores["is_shadow"], "model_version"].unique().tolist() == [first["version"]]
    # the scores are the artefact's logistic function of the day's features, recomputed here
    features = query(
        db,
        "select * from marts.fct_account_features_daily where mrr_usd > 0 "
        "and feature_date = (select max(feature_date) from marts.fct_account_features_daily)",
    ).set_index("account_id")
    spec = load_artefact(store, first["version"])["spec"]
    values = features[list(FEATURES)].astype(float).fillna(pd.Series(spec["fill"]))
    z = ((values - pd.Series(spec["mean"])) / pd.Series(spec["std"])).to_numpy()
    expected = 1 / (1 + np.exp(-(spec["coefficients"][0] + z @ np.asarray(spec["coefficients"][1:]))))
    shadow = scores[scores["is_shadow"]].set_index("account_id").loc[features.index, "churn_probability"]
    assert shadow.to_numpy() == pytest.approx(expected, rel=1e-9)
    # rollback makes the first version live; scoring again records it, replacing nothing else
    assert "now " + first["version"] in _cli("model", "rollback", "--store", str(store)).output.replace(
        "\n", ""
    )
    _cli("model", "score", "--db", str(db), "--store", str(store))
    live = query(
        db,
        "select * from ml.churn_scores where not is_shadow and model_version = ?".replace(
            "?", f"'{first['version']}'"
        ),
    )
    assert live.set_index("account_id").loc[features.index, "churn_probability"].to_numpy() == pytest.approx(
        expected
    )


def test_the_model_finds_the_planted_churn_warning(churn_world, tmp_path):
    """Activity falls before a planted cancellation: the held-out months must show it (AUC well
    above chance) and the fitted usage coefficients must point the planted way."""
    from lawn.churn_model import train

    db, _ = churn_world
    artefact = train(db, tmp_path / "planted_store")
    assert artefact["test_positives"] >= 100 and artefact["training_positives"] >= 100
    assert artefact["test_auc"] > 0.7, artefact["test_auc"]  # measured 0.764 (seed 9)
    # held-out account-days that do cancel within 30 days score clearly higher on average
    test = load_dataset(db).dropna(subset=["churned_30d"])
    test = test[test["feature_date"] >= dt.date.fromisoformat(artefact["test_window"][0])]
    scores, churned = predict(test, artefact["spec"]), test["churned_30d"].to_numpy() == 1
    assert scores[churned].mean() > 1.5 * scores[~churned].mean()


def test_errors_are_one_line(churn_world, tmp_path):
    db, _ = churn_world
    empty = tmp_path / "empty_store"
    for args, message in (
        (["model", "score", "--db", str(db), "--store", str(empty)], "no live model"),
        (["model", "rollback", "--store", str(empty)], "no earlier version"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output, result.output


def test_psi_matches_its_formula():
    from lawn.model_monitoring import psi

    expected = np.arange(1000.0)
    assert psi(expected, expected) == pytest.approx(0.0, abs=1e-12)
    shifted = np.arange(500.0, 1000.0)  # all mass in the upper five deciles
    e, a = 0.1, np.array([1e-4] * 5 + [0.2] * 5)
    assert psi(expected, shifted) == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)


def test_monitor_scores_known_outcomes_and_flags_drift(churn_world):
    from lawn.churn_model import train

    db, _ = churn_world
    store = db.parent / "monitor_store"
    artefact = train(db, store)
    day = artefact["test_window"][0]  # a day whose 30-day outcome is known
    _cli("model", "score", "--db", str(db), "--store", str(store), "--date", day)
    checks = pd.DataFrame(
        json.loads(_cli("model", "monitor", "--db", str(db), "--store", str(store), "--json").stdout)
    )
    scored = query(
        db,
        "select account_id, churn_probability from ml.churn_scores "
        f"where feature_date = date '{day}' and model_version = '{artefact['version']}'",
    )
    cancels = query(
        db,
        "select distinct account_id from intermediate.int_events_valid "
        "where event_name = 'subscription_canceled' "
        f"and cast(occurred_at as date) > date '{day}' and cast(occurred_at as date) <= date '{day}' + 30",
    )["account_id"]
    labels = scored["account_id"].isin(cancels).to_numpy()
    overall_rows = checks[(checks["check_name"] == "auc") & (checks["slice_dimension"] == "all")]
    overall = overall_rows["metric_value"].iloc[0]
    assert labels.any() and not labels.all()  # the day has churners and stayers
    assert overall == pytest.approx(auc(labels, scored["churn_probability"].to_numpy()))
    gap_rows = checks[(checks["check_name"] == "calibration_gap") & (checks["slice_dimension"] == "all")]
    gap = gap_rows["metric_value"].iloc[0]
    assert gap == pytest.approx(abs(scored["churn_probability"].mean() - labels.mean()))
    # by signup cohort month: each slice is the same computation on its accounts
    cohorts = query(
        db, "select account_id, strftime(created_at, '%Y-%m') as cohort from staging.stg_crm__accounts"
    )
    scored = scored.merge(cohorts, on="account_id").assign(label=labels)
    cohort_rows = checks[(checks["check_name"] == "auc") & (checks["slice_dimension"] == "cohort")]
    assert set(cohort_rows["slice_value"]) == set(scored["cohort"])
    for row in cohort_rows.itertuples():
        group = scored[scored["cohort"] == row.slice_value]
        assert row.row_count == len(group)
        expected = auc(group["label"].to_numpy(), group["churn_probability"].to_numpy())
        assert (np.isnan(expected) and np.isnan(row.metric_value)) or row.metric_value == pytest.approx(
            expected
        )
    drift = checks[checks["check_name"] == "feature_psi"].set_index("subject")
    assert set(drift.index) == set(FEATURES)
    # the newest day is later than the training window: account age has drifted for sure
    assert drift.loc["account_age_days", "is_flagged"]
    assert query(db, "select count(*) as n from ml.model_monitoring")["n"].iloc[0] >= len(checks)


def test_day_chunks_cut_whole_days_within_the_limit():
    from lawn.churn_scoring import day_chunks

    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(6)]
    sizes = [3, 2, 2, 6, 1, 1]  # day 4 alone is over the limit of 4
    frame = pd.DataFrame(
        {"feature_date": [d for d, n in zip(days, sizes, strict=True) for _ in range(n)], "x": range(15)}
    )
    chunks = day_chunks(frame.sample(frac=1, random_state=2), limit=4)
    assert [sorted(set(c["feature_date"])) for c in chunks] == [days[0:1], days[1:3], days[3:4], days[4:6]]
    pd.testing.assert_frame_equal(pd.concat(chunks).sort_values("x"), frame)
    assert len(day_chunks(frame.iloc[0:0])) == 1


def test_scoring_in_batches_writes_what_one_batch_writes(churn_world, monkeypatch):
    """The nightly scores every day since training a few days at a time (memory); the rows
    written must not depend on the batch size: one day per batch equals everything at once."""
    import lawn.churn_model as churn_model
    import lawn.churn_scoring as churn_scoring

    db, _ = churn_world
    store = db.parent / "batch_store"
    version = churn_model.train(db, store)["version"]
    written = {}
    for label, rows in [("one batch", 10**9), ("a day per batch", 1)]:
        monkeypatch.setattr(churn_scoring, "SCORE_BATCH_ROWS", rows)
        returned = churn_scoring.score(db, store, since_training=True)
        tables = {  # scored_at is the time of the run
            table: query(
                db,
                f"select * exclude ({drop}) from ml.{table} where model_version = '{version}' order by all",
            )
            for table, drop in [("churn_scores", "scored_at"), ("churn_score_contributions", "model_version")]
        }
        assert len(returned) == len(tables["churn_scores"]) > 0
        assert tables["churn_scores"]["feature_date"].nunique() > 1, label
        written[label] = tables
    for table, frame in written["one batch"].items():
        # equal to the last bits a matrix product of another shape may round differently
        pd.testing.assert_frame_equal(frame, written["a day per batch"][table], check_exact=False, rtol=1e-12)


def test_features_moving_together_over_the_training_rows_keep_the_fit():
    """A young feed's few training account-days: features that move together there (the
    probe's 21-account world had three standardised columns equal up to sign: x, -x, -x)
    made statsmodels' covariance of the L1 fit raise "Hessian matrix is singular", failing
    the nightly's score step. The coefficients are the optimiser's all the same; checked
    against the fit with one copy of the column (an invertible problem): the same predictions,
    the copies' coefficients adding up (signed) to its coefficient."""
    import numpy as np
    import statsmodels.api as sm

    from lawn.churn_model import CoefficientsLogit

    rng = np.random.default_rng(7)
    rows = 24
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    y = (x2 + 0.3 * x1 + rng.normal(scale=0.8, size=rows) > 0.3).astype(float)
    design = np.column_stack([np.ones(rows), x1, x2, -x2, -x2])
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        sm.Logit(y, design).fit_regularized(alpha=1.0, disp=0)
    kept = CoefficientsLogit(y, design).fit_regularized(alpha=1.0, disp=0).params
    reduced = sm.Logit(y, design[:, :3]).fit_regularized(alpha=1.0, disp=0).params
    assert np.count_nonzero(kept[2:]) > 1  # the weight is spread over the copies
    np.testing.assert_allclose(kept[2] - kept[3] - kept[4], reduced[2], atol=1e-4)
    np.testing.assert_allclose(design @ kept, design[:, :3] @ reduced, atol=1e-4)


def test_a_damaged_store_is_named_in_one_line(churn_world, tmp_path):
    """A probe (2026-12-07): an empty, garbage or list live.json, a model.json cut short or
    with coefficients for other features, a --store that is a file, and a rollback
    to a version whose folder is gone exited 1 with Python's words (or 0, and broke later).
    (`--store ""` reaches lawn as the current folder, a store like any other.)"""
    import json as json_module

    db, _ = churn_world
    store = tmp_path / "store"
    _cli("model", "train", "--db", str(db), "--store", str(store), "--test-days", "30")
    live = json_module.loads((store / "live.json").read_text())["live"]
    _cli("model", "train", "--db", str(db), "--store", str(store), "--test-days", "20")
    registry = (store / "live.json").read_text()

    def refused(args: list[str], *words: str) -> None:
        result = runner.invoke(app, args, env={"COLUMNS": "300"})
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert all(word in result.output for word in words), result.output

    for damaged in ("", "{not json", "[]"):
        (store / "live.json").write_text(damaged)
        refused(["model", "rollback", "--store", str(store)], str(store / "live.json"))
    (store / "live.json").write_text(registry)
    current = json_module.loads(registry)["live"]
    model = store / current / "model.json"
    artefact = json_module.loads(model.read_text())
    artefact["spec"]["coefficients"] = artefact["spec"]["coefficients"][:-2]
    model.write_text(json_module.dumps(artefact))
    refused(["model", "score", "--db", str(db), "--store", str(store)], str(model), "coefficients")
    model.write_text(model.read_text()[:100])
    refused(["model", "score", "--db", str(db), "--store", str(store)], str(model), "not a readable model")
    refused(["model", "rollback", "--store", str(tmp_path / "live.json.txt")])  # missing: no earlier version
    (tmp_path / "afile").write_text("x")
    refused(["model", "train", "--db", str(db), "--store", str(tmp_path / "afile")], "is a file")
    refused(["model", "score", "--db", str(db), "--store", str(store), "--shadow", ""], "--shadow is empty")
    refused(["model", "score", "--db", str(db), "--store", str(store), "--date", ""], "--date must be")
    # the previous version's folder is gone: the rollback is refused and live.json kept
    import shutil

    shutil.rmtree(store / live)
    refused(["model", "rollback", "--store", str(store)], f"no model version '{live}'")
    assert (store / "live.json").read_text() == registry


def test_the_live_version_as_its_own_shadow_is_refused(churn_world, tmp_path):
    """It wrote every score twice and failed the next build's key tests (a probe)."""
    import json as json_module

    db, _ = churn_world
    store = tmp_path / "store"
    _cli("model", "train", "--db", str(db), "--store", str(store))
    live = json_module.loads((store / "live.json").read_text())["live"]
    before = query(db, "select count(*) as n from ml.churn_scores")["n"].iloc[0]
    result = runner.invoke(app, ["model", "score", "--db", str(db), "--store", str(store), "--shadow", live])
    assert result.exit_code == 2 and "is the live version" in result.output, result.output
    assert query(db, "select count(*) as n from ml.churn_scores")["n"].iloc[0] == before


def test_a_feature_that_appears_after_training_is_flagged(churn_world):
    """Missing in every training row, present now: its PSI is NaN (no training values to bin),
    so the missing share is the check that flags it (a probe: NPS answers began after training)."""
    import datetime as dt

    from lawn.churn_model import FEATURES
    from lawn.model_monitoring import MISSING_SHARE_TOLERANCE, drift_checks

    day = dt.date(2026, 1, 1)
    rows = [{"feature_date": day + dt.timedelta(days=d), **{f: 1.0 + d for f in FEATURES}} for d in range(20)]
    data = pd.DataFrame(rows)
    data.loc[data["feature_date"] <= day + dt.timedelta(days=9), "latest_nps_score"] = np.nan
    data.loc[data.index[-1], "latest_nps_score"] = 8.0
    checks = pd.DataFrame(
        drift_checks(data, {"training_window": [str(day), str(day + dt.timedelta(days=9))]})
    )
    nps = checks[checks["subject"] == "latest_nps_score"].set_index("check_name")
    assert np.isnan(nps.loc["feature_psi", "metric_value"])
    assert nps.loc["missing_share", "metric_value"] == 1.0  # all missing in training, none now
    assert nps.loc["missing_share", "metric_value"] > MISSING_SHARE_TOLERANCE


def test_json_output_writes_null_for_nan(capsys):
    from lawn.cli_common import print_json

    print_json({"auc_by_segment": {"smb": float("nan")}, "values": [1.0, float("inf")]}, nan_as_null=True)
    parsed = json.loads(capsys.readouterr().out)
    assert parsed == {"auc_by_segment": {"smb": None}, "values": [1.0, None]}


def test_a_shadow_run_of_an_earlier_live_version_keeps_its_driving_scores(churn_world, tmp_path):
    """A probe (2026-12-07): after a retrain, the days only the earlier version scored are
    driven by it (the actions decided on them cite it); scoring that version as a shadow
    replaced those rows by shadow rows, and 5 of 20 churn actions lost their score."""
    import shutil

    import duckdb

    shared, _ = churn_world
    db = tmp_path / "lawn.duckdb"  # a copy without the other tests' versions
    shutil.copyfile(shared, db)
    with duckdb.connect(str(db)) as con:
        con.execute("delete from ml.churn_scores")
        con.execute("delete from ml.churn_score_contributions")
    store = tmp_path / "store"
    _cli("model", "train", "--db", str(db), "--store", str(store), "--test-days", "30")
    first = live_version(store)
    _cli("model", "score", "--db", str(db), "--store", str(store), "--since-training")
    _cli("model", "train", "--db", str(db), "--store", str(store), "--test-days", "10")
    assert live_version(store) != first
    _cli("model", "score", "--db", str(db), "--store", str(store), "--since-training")
    alone = (
        f"select count(*) as n from ml.churn_scores where model_version = '{first}' and not is_shadow "
        "and feature_date in (select feature_date from ml.churn_scores group by feature_date having "
        f"sum(case when model_version <> '{first}' and not is_shadow then 1 else 0 end) = 0)"
    )
    driving_alone = query(db, alone)["n"].iloc[0]
    assert driving_alone > 0  # days after its training window and within v2's
    _cli("model", "score", "--db", str(db), "--store", str(store), "--since-training", "--shadow", first)
    assert query(db, alone)["n"].iloc[0] == driving_alone
    # where the live version drives, the earlier one is a shadow now
    shadowed = f"select count(*) as n from ml.churn_scores where model_version = '{first}' and is_shadow"
    assert query(db, shadowed)["n"].iloc[0] > 0


def test_the_nightly_does_not_train_over_a_damaged_registry(tmp_path):
    """A damaged live.json made the nightly's score step take it for "no model yet": it
    trained a new model over it (the rollback history lost) or, on a young feed, went on
    with no churn scores, while `lawn model score` refused it (a probe, 2026-12-07). Now the
    step fails, naming the file, and leaves it as it was; a store with no live.json still
    gets its first model."""
    from lawn import nightly_steps
    from lawn.churn_model import NoLiveModelError, live_version

    store = tmp_path / "models"
    store.mkdir()
    (store / "live.json").write_text("{not json")
    config = nightly_steps.NightlyConfig(tmp_path / "w.duckdb", store, tmp_path / "e", tmp_path / "r")
    with pytest.raises(nightly_steps.StepFailed, match=r"live\.json: not a readable model registry"):
        nightly_steps.run_scoring(config, {"run_id": "run-1"})
    assert (store / "live.json").read_text() == "{not json"
    (store / "live.json").unlink()
    with pytest.raises(NoLiveModelError):
        live_version(store)
