"""Issue 15, item 3 (explained decisions): every churn score is stored with its per-feature
contributions to the logit (recomputed here in numpy from the artefact), actions carry a
readable reason, and actions beyond a rule's review thresholds wait in the review queue
instead of the export until a reviewer approves them (then they go out exactly once)."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from lawn.actions import export_actions
from lawn.churn_model import FEATURES, INTERCEPT, load_artefact, train
from lawn.churn_scoring import score
from lawn.generator import GeneratorConfig, PlantedChurnWarning, generate
from lawn.generator.writers import write_generated
from lawn.paths import REPO_ROOT
from tests_py.conftest import query, run_dbt
from tests_py.test_hardening import make_warehouse

ACTION_MODELS = (
    "action_rules action_rule_conditions action_review_decisions stg_ml__churn_scores "
    "stg_ml__churn_score_contributions fct_churn_scores uplift_models stg_ml__uplift_scores "
    "fct_uplift_scores fct_next_best_actions fct_action_review_queue"
)

MART = "marts.fct_next_best_actions"


def _copy_project(root):
    root.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml", "macros", "models", "seeds", "snapshots", "tests"):
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


@pytest.fixture(scope="module")
def scored_world(tmp_path_factory):
    """The churn test world (planted churn warning), a trained model, every day after its
    training window scored, and the action marts built from a project copy whose seeds a
    test may edit."""
    root = tmp_path_factory.mktemp("explained")
    project = _copy_project(root / "project")
    config = GeneratorConfig(seed=9, accounts=200, days=180, churn_warning=PlantedChurnWarning())
    write_generated(generate(config), root / "raw", root / "truth", "parquet")
    db = root / "lawn.duckdb"
    upstream = (
        "+fct_churn_training_examples +dim_accounts +fct_automation_holdout_assignments "
        "+stg_ops__action_reversals +fct_data_day"
    )
    run_dbt(
        ["build", "--select", *upstream.split(), "--exclude-resource-type", "test", "unit_test"],
        db,
        root,
        raw_dir=root / "raw",
        project_dir=project,
    )
    store = root / "store"
    artefact = train(db, store)
    score(db, store, since_training=True)
    return db, store, artefact, project, root


def _build_actions(db, project, root):
    # cautious: only the tests whose parents are all selected (not the bandit registry's
    # relationship tests into action_rules: this world builds no bandit)
    run_dbt(
        ["build", "--select", *ACTION_MODELS.split(), "--indirect-selection", "cautious"],
        db,
        root,
        project_dir=project,
    )


def test_contributions_sum_to_each_scores_logit(scored_world):
    """For every scored row: the stored contributions are coefficient x standardised value,
    recomputed here from the artefact and the feature mart, and they sum to the logit of the
    stored probability (1e-9); the mart's logit and top three agree."""
    db, store, artefact, project, root = scored_world
    scores = query(db, "select * from ml.churn_scores")
    parts = query(db, "select * from ml.churn_score_contributions")
    assert len(scores) > 1000 and len(parts) == len(scores) * (len(FEATURES) + 1)
    spec = load_artefact(store, artefact["version"])["spec"]
    features = query(db, "select * from marts.fct_account_features_daily").set_index(
        ["account_id", "feature_date"]
    )
    keys = pd.MultiIndex.from_arrays([scores["account_id"], pd.to_datetime(scores["feature_date"])])
    features.index = pd.MultiIndex.from_arrays(
        [features.index.get_level_values(0), pd.to_datetime(features.index.get_level_values(1))]
    )
    values = features.loc[keys, list(FEATURES)].astype(float).fillna(pd.Series(spec["fill"]))
    z = ((values - pd.Series(spec["mean"])) / pd.Series(spec["std"])).to_numpy()
    b = np.asarray(spec["coefficients"])
    expected = np.column_stack([np.full(len(z), b[0]), z * b[1:]])  # rows x (intercept + features)
    logits = expected.sum(axis=1)
    assert 1 / (1 + np.exp(-logits)) == pytest.approx(scores["churn_probability"].to_numpy(), rel=1e-12)

    wide = parts.pivot_table(
        index=["account_id", "feature_date"], columns="feature", values="contribution", aggfunc="first"
    )
    wide.index = pd.MultiIndex.from_arrays(
        [wide.index.get_level_values(0), pd.to_datetime(wide.index.get_level_values(1))]
    )
    stored = wide.loc[keys, [INTERCEPT, *FEATURES]].to_numpy()
    assert np.max(np.abs(stored - expected)) < 1e-9
    assert np.max(np.abs(stored.sum(axis=1) - logits)) < 1e-9
    stored_logit = np.log(scores["churn_probability"] / (1 - scores["churn_probability"])).to_numpy()
    assert np.max(np.abs(stored.sum(axis=1) - stored_logit)) < 1e-9

    _build_actions(db, project, root)
    mart = query(db, "select * from marts.fct_churn_scores").set_index(["account_id", "feature_date"])
    mart.index = pd.MultiIndex.from_arrays(
        [mart.index.get_level_values(0), pd.to_datetime(mart.index.get_level_values(1))]
    )
    assert np.max(np.abs(mart.loc[keys, "logit"].to_numpy() - logits)) < 1e-9
    # the top three by absolute contribution, named largest first
    order = np.argsort(-np.abs(expected[:, 1:]), axis=1, kind="stable")[:, :3]
    for row in range(0, len(keys), 97):
        text = mart.loc[keys[row], "top_contributions"]
        assert [part.split("=")[0] for part in text.split("; ")] == [FEATURES[j] for j in order[row]]
        assert float(text.split("; ")[0].split("=")[1]) == pytest.approx(
            expected[row, 1 + order[row, 0]], abs=6e-4
        )


def test_low_confidence_actions_wait_for_review_then_go_out_once(scored_world, tmp_path):
    db, _store, _artefact, project, root = scored_world
    rules_path = project / "seeds" / "actions" / "action_rules.csv"
    rules = pd.read_csv(rules_path, dtype=str, keep_default_na=False)
    _build_actions(db, project, root)
    fired = query(db, "select * from marts.fct_next_best_actions where rule_id = 'churn_risk_retention'")
    assert len(fired) > 10 and not fired["needs_review"].any()  # no thresholds: nothing held
    # hold the less confident half of the retention actions for review
    threshold = float(np.median(fired["churn_probability"]))
    rules.loc[rules["rule_id"] == "churn_risk_retention", "review_below_confidence"] = repr(threshold)
    rules.to_csv(rules_path, index=False)
    _build_actions(db, project, root)
    actions = query(db, "select * from marts.fct_next_best_actions")
    retention = actions[actions["rule_id"] == "churn_risk_retention"].set_index("action_id")
    low = set(retention.index[retention["churn_probability"] < threshold])
    assert low and set(retention.index[retention["needs_review"]]) == low
    assert (actions.loc[actions["rule_id"] != "churn_risk_retention", "needs_review"] == False).all()  # noqa: E712
    queue = query(db, "select * from marts.fct_action_review_queue")
    live = set(retention.index[~retention["is_suppressed"] & ~retention["is_reverted"]])
    assert set(queue["action_id"]) == low & live
    assert (queue["review_reason"] == "low_confidence").all()
    # the reason names the score and its top contributions
    scores = query(db, "select * from marts.fct_churn_scores where is_driving")
    top = scores.set_index(["account_id", "feature_date"])["top_contributions"]
    for action in retention.head(5).itertuples():
        assert action.reason.endswith(top.loc[(action.account_id, action.decided_on)])
        assert action.reason.startswith(f"churn risk {round(action.churn_probability, 3)}")

    as_of = max(actions["decided_on"])
    first = export_actions(db, tmp_path / "out", "run1", as_of=as_of, max_age_days=400)
    out = pd.read_csv(first.csv_path).set_index("action_id")
    sent = set(out.index)
    # the export carries each action's reason as decided
    assert (out["reason"] == actions.set_index("action_id").loc[out.index, "reason"]).all()
    eligible = set(actions.loc[~actions["is_suppressed"] & ~actions["needs_review"], "action_id"])
    assert sent == eligible and not sent & low

    approved = sorted(set(queue["action_id"]))[0]
    rejected = sorted(set(queue["action_id"]))[1]
    (project / "seeds" / "actions" / "action_review_decisions.csv").write_text(
        "action_id,decision,reviewer,decided_at,note\n"
        f"{approved},approve,ana@example.com,2026-06-01 10:00:00,checked the account\n"
        f"{rejected},reject,ana@example.com,2026-06-01 10:05:00,already talking to them\n"
    )
    _build_actions(db, project, root)
    queue = query(db, "select action_id from marts.fct_action_review_queue")
    assert approved not in set(queue["action_id"]) and rejected not in set(queue["action_id"])
    second = export_actions(db, tmp_path / "out", "run2", as_of=as_of, max_age_days=400)
    assert list(pd.read_csv(second.csv_path)["action_id"]) == [approved]
    third = export_actions(db, tmp_path / "out", "run3", as_of=as_of, max_age_days=400)
    assert third.actions == 0
    ledger = query(db, "select action_id, record_type from ops.action_exports")
    assert (ledger["action_id"] == approved).sum() == 1 and rejected not in set(ledger["action_id"])


def test_held_actions_on_a_hand_written_mart(tmp_path):
    """The export rule alone, on the hand-made mart of the hardening tests: an action held for
    review is not sent, a rejected one never, an approved one once."""
    db = make_warehouse(tmp_path / "lawn.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute(f"update {MART} set needs_review = true where action_id in ('act_a01', 'act_a04')")
    first = export_actions(db, tmp_path / "out", "r1", max_age_days=5)
    assert {"act_a01", "act_a04"}.isdisjoint(pd.read_csv(first.csv_path)["action_id"])
    with duckdb.connect(str(db)) as con:
        con.execute(f"update {MART} set review_decision = 'approve' where action_id = 'act_a01'")
        con.execute(f"update {MART} set review_decision = 'reject' where action_id = 'act_a04'")
    second = export_actions(db, tmp_path / "out", "r2", max_age_days=5)
    assert list(pd.read_csv(second.csv_path)["action_id"]) == ["act_a01"]
    assert export_actions(db, tmp_path / "out", "r3", max_age_days=5).actions == 0
