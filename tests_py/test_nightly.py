"""`lawn nightly` end to end on the small world: an incremental run over two days equals one
full refresh over the same data; a second run on the same data changes nothing; actions
equal the rules restated in pandas; a reverted action goes out as a reversal in the next
export; rollback makes the previous version's scores drive again; exit codes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn import nightly
from lawn.actions import export_actions, revert
from lawn.churn_model import predict, rollback, save_artefact
from lawn.cli import app
from lawn.identity_key import pads
from lawn.nightly import NightlyConfig, run_nightly
from tests_py.conftest import TEST_HASH_KEY, TEST_VARS, query, run_dbt
from tests_py.nightly_world import MARTS
from tests_py.nightly_world import artefact as _artefact
from tests_py.nightly_world import bandit_rows as _bandit_rows
from tests_py.nightly_world import nightly_config as _config
from tests_py.nightly_world import run_ok as _run
from tests_py.nightly_world import snapshot as _snapshot

# the worlds `two_days` and `nightly_runs` are session fixtures (tests_py/conftest.py), built
# once per worker for this file and test_cadence_reports.py (tests_py/nightly_world.py)


def test_incremental_nightly_over_two_days_equals_a_full_refresh(nightly_runs):
    a1, a2, _, b = nightly_runs["runs"]
    assert a1.as_of_date < a2.as_of_date == b.as_of_date  # day 2 brought a new data day
    incremental, refreshed = nightly_runs["after_two_days"], _snapshot(nightly_runs["b"] / "lawn.duckdb")
    for table in MARTS:
        pd.testing.assert_frame_equal(incremental[table], refreshed[table], obj=table)
    assert len(incremental["marts.fct_next_best_actions"]) > 0
    assert incremental["marts.fct_churn_scores"]["is_driving"].any()
    # the same records went out, in two exports instead of one
    sent = "select action_id, record_type from marts.fct_action_exports order by 1, 2"
    sent_a, sent_b = (
        query(nightly_runs["a"] / "lawn.duckdb", sent),
        query(nightly_runs["b"] / "lawn.duckdb", sent),
    )
    pd.testing.assert_frame_equal(sent_a, sent_b)
    assert len(sent_a) > 0


def test_a_second_nightly_on_the_same_data_changes_nothing(nightly_runs):
    _, _, a3, _ = nightly_runs["runs"]
    again = _snapshot(nightly_runs["a"] / "lawn.duckdb")
    for table in MARTS:
        pd.testing.assert_frame_equal(nightly_runs["after_two_days"][table], again[table], obj=table)
    exported = query(
        nightly_runs["a"] / "lawn.duckdb", "select run_id, count(*) as n from ops.action_exports group by 1"
    )
    assert a3.run_id not in set(exported["run_id"])  # nothing new to send
    runs = query(nightly_runs["a"] / "lawn.duckdb", "select status from ops.nightly_runs")
    assert list(runs["status"]) == ["success"] * 3
    assert [step.name for step in a3.steps] == [
        "validate", "build", "retention", "score", "bandit", "actions", "slo", "report"
    ]  # fmt: skip
    # the bandit's re-run of the same night replaced its rows with the same ones
    assert len(nightly_runs["bandit_after_two_days"]["ml.bandit_assignments"]) > 0
    # what the nightly exported carries the arm its bandit step chose, and only for the bandit's rule
    sent = query(
        nightly_runs["a"] / "lawn.duckdb",
        "select exports.rule_id, exports.bandit_arm, chosen.arm from marts.fct_action_exports as exports "
        "left join marts.fct_bandit_assignments as chosen on exports.action_id = chosen.action_id "
        "where exports.record_type = 'action'",
    )
    varied = sent["rule_id"] == "stalled_activation_onboarding"
    assert varied.any() and (sent.loc[varied, "bandit_arm"] == sent.loc[varied, "arm"]).all()
    assert sent.loc[~varied, "bandit_arm"].isna().all()
    for table, rows in nightly_runs["bandit_after_two_days"].items():
        pd.testing.assert_frame_equal(rows, _bandit_rows(nightly_runs["a"] / "lawn.duckdb")[table], obj=table)


def _expected_actions(db: Path) -> pd.DataFrame:
    """The rules of seeds/actions restated in pandas over the features and driving scores."""
    repo = Path(__file__).resolve().parent.parent / "seeds" / "actions"
    rules = pd.read_csv(repo / "action_rules.csv")
    conditions = pd.read_csv(repo / "action_rule_conditions.csv")
    features = query(db, "select * from marts.fct_account_features_daily")
    scores = query(
        db,
        "select account_id, feature_date, churn_probability from ml.churn_scores where not is_shadow",
    )
    inputs = features.merge(scores, on=["account_id", "feature_date"], how="left")
    # the `uplift` input: the driving score of the uplift model that drives the rule
    uplift = query(
        db, "select rule_id, account_id, feature_date, uplift from marts.fct_uplift_scores where is_driving"
    )
    compare = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "=": np.equal}
    expected = []
    for rule in rules[rules["is_enabled"]].itertuples():
        holds = pd.Series(True, index=inputs.index)
        for cond in conditions[conditions["rule_id"] == rule.rule_id].itertuples():
            if cond.input_name == "uplift":
                mine = uplift.loc[uplift["rule_id"] == rule.rule_id, ["account_id", "feature_date", "uplift"]]
                keys = inputs[["account_id", "feature_date"]]
                values = keys.merge(mine, on=["account_id", "feature_date"], how="left")["uplift"].astype(
                    float
                )
                values.index = inputs.index
            else:
                values = inputs[cond.input_name].astype(float)
            holds &= values.notna() & compare[cond.comparator](values, cond.threshold)
        days = inputs.loc[holds, ["account_id", "feature_date"]].sort_values(["account_id", "feature_date"])
        for account, group in days.groupby("account_id"):
            previous = None
            for day in pd.to_datetime(group["feature_date"]):
                if previous is None or (day - previous).days > rule.cooldown_days:
                    expected.append((rule.rule_id, account, day.date()))
                previous = day
    return pd.DataFrame(expected, columns=["rule_id", "account_id", "decided_on"])


def test_actions_equal_the_rules_restated_in_pandas(nightly_runs):
    db = nightly_runs["a"] / "lawn.duckdb"
    actions = query(db, "select * from marts.fct_next_best_actions")
    actions["decided_on"] = pd.to_datetime(actions["decided_on"]).dt.date
    expected = _expected_actions(db)
    key = ["rule_id", "account_id", "decided_on"]
    got = actions[key].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected.sort_values(key).reset_index(drop=True))
    assert set(expected["rule_id"]) >= {"churn_risk_retention", "stalled_activation_onboarding"}
    # ids are the documented hash; churn actions carry the driving score and version
    first = actions.iloc[0]
    digest = hashlib.sha256(f"{first.rule_id}:{first.account_id}:{first.decided_on}".encode()).hexdigest()
    assert first.action_id == "act_" + digest[:16]
    churn = actions[actions["rule_id"] == "churn_risk_retention"]
    assert (churn["model_version"] == "v1-test").all() and (churn["churn_probability"] >= 0.2).all()
    assert actions.loc[actions["rule_id"] != "churn_risk_retention", "model_version"].isna().all()
    # the holdout: salted sha256 bucket < 10% of 10,000, as registered
    held = {
        account
        for account in actions["account_id"]
        if int(hashlib.sha256(f"lawn-automation-2026:{account}".encode()).hexdigest()[:6], 16) % 10000 < 1000
    }
    assert set(actions.loc[actions["is_suppressed"], "account_id"]) == held
    exported = query(db, "select action_id from ops.action_exports where record_type = 'action'")["action_id"]
    assert not set(exported) & set(actions.loc[actions["is_suppressed"], "action_id"])


def test_automation_lift_equals_pandas(nightly_runs):
    from scipy.stats import norm

    db = nightly_runs["a"] / "lawn.duckdb"
    actions = query(
        db, "select rule_id, account_id, decided_on, is_suppressed from marts.fct_next_best_actions"
    )
    features = query(
        db,
        "select account_id, feature_date, mrr_usd, milestones_reached from marts.fct_account_features_daily",
    )
    rules = pd.read_csv(Path(__file__).resolve().parent.parent / "seeds" / "actions" / "action_rules.csv")
    lift = query(db, "select * from marts.fct_automation_lift").set_index("rule_id")
    values = features.set_index(["account_id", "feature_date"])
    last = features["feature_date"].max()
    for rule in rules.itertuples():
        first = actions[actions["rule_id"] == rule.rule_id].groupby("account_id")["decided_on"].min()
        counts = {True: [0, 0], False: [0, 0]}  # held out -> [observed, with outcome]
        for account, day in first.items():
            held = bool(
                actions[(actions["account_id"] == account) & (actions["rule_id"] == rule.rule_id)][
                    "is_suppressed"
                ].iloc[0]
            )
            end = day + pd.Timedelta(days=rule.outcome_window_days)
            if end > last:
                continue
            before, after = (
                values.loc[(account, day), rule.outcome_input],
                values.loc[(account, end), rule.outcome_input],
            )
            hit = after > before if rule.outcome_direction == "up" else (before > 0 and after == 0)
            counts[held][0] += 1
            counts[held][1] += int(hit)
        row = lift.loc[rule.rule_id]
        assert (row.automated_observed, row.automated_outcomes) == tuple(counts[False])
        assert (row.holdout_observed, row.holdout_outcomes) == tuple(counts[True])
        if counts[True][0] and counts[False][0]:
            p1, p0 = counts[False][1] / counts[False][0], counts[True][1] / counts[True][0]
            se = np.sqrt(p1 * (1 - p1) / counts[False][0] + p0 * (1 - p0) / counts[True][0])
            assert row.lift == pytest.approx(p1 - p0, abs=1e-12)
            if se > 0:
                assert row.lift_ci_lower == pytest.approx(p1 - p0 - norm.ppf(0.975) * se, abs=1e-9)
                assert row.p_value == pytest.approx(2 * norm.sf(abs(p1 - p0) / se), abs=1e-9)
        decided = actions[actions["rule_id"] == rule.rule_id]
        assert row.actions_suppressed == decided["is_suppressed"].sum()


def test_a_reverted_action_goes_out_as_a_reversal_in_the_next_export(nightly_runs, tmp_path):
    db = nightly_runs["a"] / "lawn.duckdb"
    sent = query(
        db, "select action_id, run_id from ops.action_exports where record_type = 'action' order by 1"
    )
    target = sent["action_id"].iloc[0]
    result = CliRunner().invoke(
        app, ["actions", "revert", target, "--reason", "wrong segment", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(app, ["actions", "revert", target, "--db", str(db)])
    assert again.exit_code == 2 and "already reverted" in again.output
    unknown = CliRunner().invoke(app, ["actions", "revert", "act_0000", "--db", str(db)])
    assert unknown.exit_code == 2 and "unknown action id" in unknown.output
    export = export_actions(db, tmp_path, "after-revert", max_age_days=100)
    records = pd.read_csv(export.csv_path)
    assert list(records["record_type"]) == ["reversal"] and records["action_id"].iloc[0] == target
    assert records["reversal_reason"].iloc[0] == "wrong segment"
    assert "account_id" not in records.columns and records["account_key"].str.fullmatch("[0-9a-f]{64}").all()
    pd.testing.assert_frame_equal(pd.read_parquet(export.parquet_path).astype(str), records.astype(str))
    assert len(pd.read_csv(export_actions(db, tmp_path, "next", max_age_days=100).csv_path)) == 0
    # the whole run: every action it exported, and nothing is deleted
    first_run = sent["run_id"].iloc[0]
    reverted = revert(db, run_id=first_run, reason="bad run")
    assert set(reverted) | {target} >= set(sent.loc[sent["run_id"] == first_run, "action_id"])
    run_dbt(["build", "--select", "fct_next_best_actions", "--exclude-resource-type", "unit_test"], db,
            nightly_runs["a"], raw_dir=None, dbt_vars=TEST_VARS)  # fmt: skip
    marked = query(db, "select action_id, is_reverted, reversal_reason from marts.fct_next_best_actions")
    flagged = marked[marked["is_reverted"]].set_index("action_id")
    assert flagged.loc[target, "reversal_reason"] == "wrong segment"
    assert set(flagged.index) == set(reverted) | {target}
    assert query(db, "select count(*) as n from ops.action_exports")["n"].iloc[0] >= len(sent) + 1


def test_rollback_makes_the_previous_versions_scores_drive(nightly_runs):
    from lawn.churn_scoring import score
    from lawn.model_monitoring import monitor

    db, store, last_day = nightly_runs["b"] / "lawn.duckdb", nightly_runs["store"], nightly_runs["last_day"]
    save_artefact(store, _artefact("v2-test", last_day - dt.timedelta(days=30), intercept=-6.0))  # low risk
    score(db, store, since_training=True)
    # v2 re-decides history: actions sent under v1 may no longer be decided, yet the ledger
    # keeps them whole (and its consistency test passes) and they can still be reverted
    run_dbt(["build", "--select", "fct_churn_scores+", "fct_action_exports+"], db, nightly_runs["b"],
            dbt_vars=TEST_VARS)  # fmt: skip
    decided = set(query(db, "select action_id from marts.fct_next_best_actions")["action_id"])
    sent = query(db, "select * from marts.fct_action_exports where record_type = 'action'")
    gone = sent[~sent["action_id"].isin(decided) & (sent["rule_id"] == "churn_risk_retention")]
    assert len(gone) > 0 and set(gone["model_version"]) == {"v1-test"}
    revert(db, [gone["action_id"].iloc[0]], reason="model replaced")
    out = export_actions(db, nightly_runs["b"] / "exports", "after-v2", max_age_days=0)
    reversal = pd.read_csv(out.csv_path).query("record_type == 'reversal'")
    assert list(reversal["action_id"]) == [gone["action_id"].iloc[0]]
    assert reversal["model_version"].iloc[0] == "v1-test"  # as it was sent
    assert rollback(store) == "v1-test"
    rescored = score(db, store, shadow="v2-test", since_training=True)  # v2 stays on as a shadow
    checks = monitor(db, store, shadow="v2-test")
    assert set(checks.loc[checks["is_shadow"], "model_version"]) == {"v2-test"}
    assert set(checks.loc[~checks["is_shadow"], "model_version"]) == {"v1-test"}
    rescored = rescored[rescored["model_version"] == "v1-test"]
    run_dbt(["build", "--select", "fct_churn_scores", "--exclude-resource-type", "unit_test"], db,
            nightly_runs["b"], dbt_vars=TEST_VARS)  # fmt: skip
    driving = query(db, "select * from marts.fct_churn_scores where is_driving")
    assert set(driving["model_version"]) == {"v1-test"}
    shadows = query(db, "select * from marts.fct_churn_scores where is_shadow")
    assert set(shadows["model_version"]) == {"v2-test"} and not shadows["is_driving"].any()
    assert (
        query(db, "select count(distinct model_version) as n from marts.fct_churn_scores")["n"].iloc[0] == 2
    )
    # the driving scores are v1's logistic function of the features
    features = query(db, "select * from marts.fct_account_features_daily")
    merged = driving.merge(features, on=["account_id", "feature_date"])
    spec = json.loads((store / "v1-test" / "model.json").read_text())["spec"]
    assert np.allclose(merged["churn_probability"], predict(merged, spec), atol=1e-12)
    assert len(merged) == len(rescored)


def _fake_step(config, state):
    return "skipped in this test"


def test_exit_codes_step_failure_and_error_slo_breach(tmp_path, monkeypatch):
    db = tmp_path / "slo.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_slo_status as select * from (values "
            "('user_activation_7d', date '2026-07-01', true, 'breach', 'error', 0.31, 0.4), "
            "('trial_conversion_14d', date '2026-07-01', true, 'breach', 'warn', 0.1, 0.2)) "
            "as t(slo_id, evaluated_date, is_latest, status, severity, metric_value, threshold)"
        )
    steps = [(name, _fake_step) for name, _ in nightly.STEPS]
    steps[4] = ("slo", nightly.step_slo)
    monkeypatch.setattr(nightly, "STEPS", steps)
    config = NightlyConfig(
        db_path=db, model_store=tmp_path, export_dir=tmp_path, report_dir=tmp_path, hash_key=TEST_HASH_KEY
    )
    result = run_nightly(config)
    assert result.exit_code == nightly.EXIT_SLO_BREACH
    assert [b["slo_id"] for b in result.slo_breaches] == ["trial_conversion_14d", "user_activation_7d"]
    config.fail_on_slo_breach = False
    assert run_nightly(config).exit_code == 0

    def broken(config, state):
        raise nightly.StepFailed("dbt build failed: 1 test failed")

    steps[1] = ("build", broken)
    failed = run_nightly(config)
    assert failed.exit_code == nightly.EXIT_STEP_FAILED and [s.name for s in failed.steps] == [
        "validate",
        "build",
    ]
    log = json.loads((tmp_path / "runs" / f"{failed.run_id}.json").read_text())
    assert log["exit_code"] == 1 and log["steps"][-1]["detail"] == "dbt build failed: 1 test failed"

    def crashing(config, state):
        raise OSError("disk full")

    steps[1] = ("build", _fake_step)
    steps[3] = ("actions", crashing)
    crashed = run_nightly(config)  # an unexpected error is a failed step, not a traceback
    assert crashed.exit_code == 1 and crashed.steps[-1].detail == "OSError: disk full"


def test_nightly_cli_stops_on_a_broken_raw_file(small_parquet, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in (small_parquet / "raw").glob("*.parquet"):
        (raw / path.name).write_bytes(path.read_bytes())
    (raw / "crm_accounts.parquet").write_bytes(b"not parquet")
    result = CliRunner().invoke(
        app,
        ["nightly", "--raw-dir", str(raw), "--db", str(tmp_path / "x.duckdb"), "--report-dir", str(tmp_path)],
        env={"LAWN_IDENTITY_HASH_KEY": TEST_HASH_KEY.secret.decode()},
    )
    # the gate's refusal is bad input, exit 2, as `lawn load` says of the same file (a probe,
    # 2026-12-07: the nightly said 1); no report was written, and the last line says so
    assert result.exit_code == 2, result.output
    assert "crm_accounts" in result.output
    assert "report: none (the night stopped before its report step)" in result.output
    assert "report: None" not in result.output


# as root, in a closed network: no sandbox, no GPU, no background connections
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_report_renders_in_headless_chromium(nightly_runs, tmp_path):
    import re
    import shutil
    import subprocess

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: scripts/setup.sh installs it (apt-get install chromium)"
    report = nightly_runs["a"] / "report" / "report.html"
    command = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
    ]
    dom = subprocess.run(
        [*command, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120
    )
    check = re.search(r'id="render-check" data-drawn="(\d+)" data-plots="(\d+)"', dom.stdout)
    assert check, dom.stdout[:500] + dom.stderr[-500:]
    # the 8 plots, and the bandit section's: one per bandit and context, one regret plot per
    # bandit with a closed reward window (no live uplift model here: its section is one line)
    from lawn import bandit_report

    db = nightly_runs["a"] / "lawn.duckdb"
    contexts = query(db, "select distinct bandit_id, context from ml.bandit_allocations")
    regret = bandit_report.regret_by_day(bandit_report.load_bandit_report(db))
    plots = 8 + len(contexts) + regret["bandit_id"].nunique()
    assert len(contexts) >= 1
    assert check.group(1) == check.group(2) == str(plots)  # every plot decoded with a non-zero size
    assert dom.stdout.count('data-drawn="yes"') == plots
    for section in (
        "Daily health",
        "Weekly readout",
        "Top wins",
        "Top risks",
        "SLO status",
        "Automation lift",
        "Uplift models",
        "Bandits",
    ):
        assert section in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run([*command, "--window-size=1100,2400", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
    markdown = (report.parent / "report.md").read_text()
    assert "## Weekly readout" in markdown and markdown.count("![") == plots
    assert "## Bandits" in markdown and "No live uplift model" in markdown
    for name in ("funnel", "retention", "mrr_waterfall", "readouts", "data_quality", "slo_status",
                 "model_monitoring", "actions"):  # fmt: skip
        assert (report.parent / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_schedules_call_lawn_nightly_with_options_it_has():
    import re

    root = Path(__file__).resolve().parent.parent
    help_text = CliRunner().invoke(app, ["nightly", "--help"], env={"COLUMNS": "200"}).output
    for path in (root / ".github" / "workflows" / "nightly.yml", root / "ops" / "lawn-nightly.cron"):
        line = next(line for line in path.read_text().splitlines() if "lawn nightly" in line)
        options = re.findall(r"(--[a-z-]+)", line.split("lawn nightly", 1)[1].split(">>")[0])
        assert all(option in help_text for option in options), (path, options)
    assert "cron:" in (root / ".github" / "workflows" / "nightly.yml").read_text()


def test_time_to_action_equals_the_ledger_recomputed(nightly_runs):
    """Hours from insight (end of the decision day) to hand-off, per exported action and as the
    monthly median of the health mart, recomputed in pandas from the raw ledger rows."""
    db = nightly_runs["a"] / "lawn.duckdb"
    ledger = query(
        db, "select action_id, decided_on, exported_at from ops.action_exports where record_type = 'action'"
    )
    insight = pd.to_datetime(ledger["decided_on"]) + pd.Timedelta(days=1)
    # whole minutes from midnight, in hours (dbt.datediff counts minute boundaries)
    ledger["hours"] = ((pd.to_datetime(ledger["exported_at"]) - insight).dt.total_seconds() // 60) / 60
    mart = query(
        db, "select action_id, hours_to_action from marts.fct_action_exports where record_type = 'action'"
    )
    merged = ledger.merge(mart, on="action_id", validate="one_to_one")
    assert len(merged) == len(ledger) > 0
    assert np.allclose(merged["hours_to_action"], merged["hours"])
    ledger["month_start"] = pd.to_datetime(ledger["decided_on"]).dt.to_period("M").dt.start_time
    expected = ledger.groupby("month_start")["hours"].agg(["size", "median"])
    health = query(
        db, "select month_start, actions_exported, median_hours_to_action from marts.fct_growth_system_health"
    )
    health = health.set_index(pd.to_datetime(health["month_start"]))
    for month, row in expected.iterrows():
        assert health.loc[month, "actions_exported"] == row["size"]
        assert health.loc[month, "median_hours_to_action"] == pytest.approx(row["median"])
    assert (health.loc[~health.index.isin(expected.index), "actions_exported"] == 0).all()


def test_the_identity_key_leaks_nowhere_and_keys_are_pythons_hmac(nightly_runs):
    """The nightly took its key from LAWN_IDENTITY_HASH_KEY: no file the runs wrote (dbt's
    target/, logs, manifest, run results, compiled SQL, exports, report, run logs) holds the
    key, in clear or hex, nor its padded forms; the warehouse holds only the padded forms.
    Every vendor-facing key equals Python's hmac.new(key, id, sha256)."""
    secret = TEST_HASH_KEY.secret
    inner, outer = pads(secret)
    # the part before the quote too: rendered into SQL the quote would be doubled
    needles = [
        secret,
        secret.split(b"'")[0],
        secret.hex().encode(),
        inner.hex().encode(),
        outer.hex().encode(),
    ]
    scanned = 0
    for work in (nightly_runs["a"], nightly_runs["b"]):
        for path in work.rglob("*"):
            if not path.is_file() or path.name.startswith("lawn.duckdb"):
                continue
            data = path.read_bytes()
            scanned += 1
            assert not [n for n in needles if n in data], path
        warehouse = (work / "lawn.duckdb").read_bytes()
        assert secret not in warehouse and secret.hex().encode() not in warehouse
    assert scanned > 100 and (nightly_runs["a"] / "target" / "manifest.json").exists()
    db = nightly_runs["a"] / "lawn.duckdb"

    def mac(value: str) -> str:
        return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()

    actions = query(db, "select action_id, account_id, account_key from marts.fct_next_best_actions")
    assert len(actions) > 0 and (actions["account_id"].map(mac) == actions["account_key"]).all()
    sent = pd.concat(pd.read_csv(p) for p in (nightly_runs["a"] / "exports").glob("*/actions.csv"))
    sent = sent.merge(actions, on="action_id", suffixes=("", "_mart"))
    assert len(sent) > 0 and (sent["account_id"].map(mac) == sent["account_key"]).all()
    users = query(
        db,
        "select users.person_id, users.person_key, pii_users.email, users.email_key, users.account_id "
        "from marts.dim_users as users left join pii.pii_users as pii_users "
        "on users.person_id = pii_users.person_id",
    )
    pseudo = query(db, "select * from marts.dim_users_pseudonymous")
    assert (users["person_id"].map(mac) == users["person_key"]).all()
    emails = users.dropna(subset=["email"])
    assert len(emails) > 0 and (emails["email"].map(mac) == emails["email_key"]).all()
    assert set(pseudo.columns).isdisjoint({"email", "email_sha256", "person_id", "account_id"})
    assert set(pseudo["email_key"].dropna()) == set(emails["email_key"])
    plain = {hashlib.sha256(e.encode()).hexdigest() for e in emails["email"]}  # the old, reversible form
    assert not plain & set(pseudo["email_key"].dropna())
    keyed_accounts = set(users["account_id"].dropna().map(mac))
    assert set(pseudo["account_key"].dropna()) == keyed_accounts


def test_a_real_nightly_killed_mid_export_then_rerun_sends_each_record_once(nightly_runs, two_days, tmp_path):
    """SIGKILL a real nightly process (its own dbt build, scoring and export) after the export
    was staged and its files written under temporary names; the re-run completes that export
    from the ledger, and the reversal it carried went out exactly once."""
    import shutil

    folders, _ = two_days
    shutil.copy(nightly_runs["b"] / "lawn.duckdb", tmp_path / "lawn.duckdb")
    db = tmp_path / "lawn.duckdb"
    sent = query(db, "select action_id from ops.action_exports where record_type = 'action' order by 1")
    target = next(
        a
        for a in sent["action_id"]
        if a not in set(query(db, "select action_id from ops.action_reversals")["action_id"])
    )
    revert(db, [target], reason="planted before the kill")
    script = (
        "import sys, pathlib\n"
        "from tests_py.test_nightly import _config\n"
        "from lawn.nightly import run_nightly\n"
        "work, raw, store = (pathlib.Path(a) for a in sys.argv[1:4])\n"
        "run_nightly(_config(work, raw, store))\n"
    )
    env = dict(os.environ, LAWN_FAULT_INJECT="export:written:kill")
    killed = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(folders["day2"]), str(nightly_runs["store"])],
        env=env, cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    [log] = (tmp_path / "report" / "runs").glob("*.json")
    dead = json.loads(log.read_text())
    assert dead["status"] == "running" and dead["current_step"] == "actions"
    staged = query(db, f"select status from ops.export_batches where run_id = '{dead['run_id']}'")
    assert list(staged["status"]) == ["staged"]
    assert not (tmp_path / "exports" / dead["run_id"] / "actions.csv").exists()
    rerun = _run(_config(tmp_path, folders["day2"], nightly_runs["store"]))
    assert json.loads(log.read_text())["status"] == "interrupted"
    runs = query(
        db, f"select status from ops.nightly_runs where run_id in ('{dead['run_id']}', '{rerun.run_id}')"
    )
    assert sorted(runs["status"]) == ["interrupted", "success"]
    files = {p.parent.name: pd.read_csv(p) for p in (tmp_path / "exports").glob("*/actions.csv")}
    assert set(files) == {dead["run_id"], rerun.run_id}
    reversals = [a for f in files.values() for a in f.loc[f["record_type"] == "reversal", "action_id"]]
    assert reversals == [target]
    ledger = query(db, "select run_id, action_id from ops.action_exports where run_id in "
                       f"('{dead['run_id']}', '{rerun.run_id}')")  # fmt: skip
    for run_id, frame in files.items():
        assert sorted(frame["action_id"]) == sorted(ledger.loc[ledger["run_id"] == run_id, "action_id"])
    everything = query(
        db, "select action_id, record_type, count(*) as n from ops.action_exports group by 1, 2"
    )
    assert (everything["n"] == 1).all()  # across every run of this warehouse: once each


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``: with the fork server (lawn/dbt_forkserver.py) the process
    running dbt is a grandchild of the nightly, a child of the server."""
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_nightly_killed_during_its_dbt_build_takes_dbt_with_it(two_days, tmp_path, monkeypatch):
    """SIGKILL a real nightly while its dbt build runs: dbt dies with it (no orphan keeps
    writing to the warehouse), the lock is free, the warehouse opens, and the next run closes
    the killed one as interrupted in the build step."""
    import time

    folders, _ = two_days
    store = tmp_path / "store"
    script = (
        "import sys, pathlib\n"
        "from tests_py.test_nightly import _config\n"
        "from lawn.nightly import run_nightly\n"
        "work, raw, store = (pathlib.Path(a) for a in sys.argv[1:4])\n"
        "run_nightly(_config(work, raw, store, full_refresh=True))\n"
    )
    nightly_process = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path), str(folders["day1"]), str(store)],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline, dbt = time.monotonic() + 300, []
    while time.monotonic() < deadline and not dbt:
        logs = list((tmp_path / "report" / "runs").glob("*.json"))
        building = logs and json.loads(logs[0].read_text() or "{}").get("current_step") == "build"
        dbt = _children(nightly_process.pid) if building else []
        time.sleep(0.5)
    assert dbt, "the nightly never reached its dbt build"
    time.sleep(3)  # dbt is connected and writing
    dbt = _descendants(nightly_process.pid)  # the fork server and the run it forked, or a plain dbt
    os.kill(nightly_process.pid, signal.SIGKILL)
    assert nightly_process.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in dbt):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in dbt), "dbt outlived the nightly that started it"
    steps = [(name, _fake_step) for name, _ in nightly.STEPS]
    monkeypatch.setattr(nightly, "STEPS", steps)
    rerun = run_nightly(_config(tmp_path, folders["day1"], store))  # opens the warehouse, takes the lock
    assert rerun.exit_code == 0
    records = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "report" / "runs").glob("*.json")}
    killed = next(r for r in records.values() if r["run_id"] != rerun.run_id)
    assert (killed["status"], killed["failed_step"], killed["closed_by"]) == (
        "interrupted",
        "build",
        rerun.run_id,
    )
