"""Experiment marts: assignments and unit metrics against pandas from the raw events, the
readout against statsmodels (`lawn readout`), and a planted sample-ratio mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from lawn.cli import app
from lawn.generator import GeneratorConfig, generate
from lawn.generator.writers import write_generated
from lawn.settings import SRM_ALPHA
from tests_py.conftest import query, run_dbt

runner = CliRunner()
EXPERIMENTS = ("exp_onboarding_checklist", "exp_annual_plan_nudge")


def _person_ids(db: Path, small_data) -> pd.Series:
    """dbt person_id -> the generator's person, through the person's founding user_id."""
    truth = small_data.truth["identities"]
    owner = truth[truth["identifier_type"] == "user_id"].set_index("identifier_value")["person_id"]
    users = query(db, "select person_id, primary_user_id from marts.dim_users where is_identified")
    return users.set_index("person_id")["primary_user_id"].map(owner)


@pytest.fixture(scope="module")
def exposures(valid_events, small_data) -> pd.DataFrame:
    truth = small_data.truth["identities"]
    owner = truth[truth["identifier_type"] == "user_id"].set_index("identifier_value")["person_id"]
    frame = valid_events[valid_events["event_name"] == "experiment_exposed"].copy()
    frame["experiment_id"] = frame["props"].map(lambda p: p["experiment_id"])
    frame["variant"] = frame["props"].map(lambda p: p["variant"])
    frame["unit"] = (
        frame["user_id"]
        .map(owner)
        .where(frame["experiment_id"] == "exp_onboarding_checklist", frame["account_id"])
    )
    frame["at"] = pd.to_datetime(frame["at"])
    return frame


def test_assignments_equal_pandas(built_small, small_data, exposures):
    registry = small_data.raw["experiment_registry"].set_index("experiment_id")
    mart = query(built_small, "select * from marts.fct_experiment_assignments")
    persons = _person_ids(built_small, small_data)
    mart["unit"] = mart["unit_id"].map(persons).where(mart["unit_type"] == "user", mart["unit_id"])
    for experiment_id, group in exposures.groupby("experiment_id"):
        start = pd.Timestamp(registry.loc[experiment_id, "start_date"])
        end = pd.Timestamp(registry.loc[experiment_id, "end_date"])
        inside = group[(group["at"].dt.normalize() >= start) & (group["at"].dt.normalize() <= end)]
        first = inside.sort_values(["at", "event_id"]).groupby("unit")["variant"].first()
        variants = group.groupby("unit")["variant"].nunique()
        included = first[variants.reindex(first.index) == 1]
        actual = mart[(mart["experiment_id"] == experiment_id) & mart["is_included"]].set_index("unit")[
            "variant"
        ]
        assert actual.sort_index().to_dict() == included.sort_index().to_dict(), experiment_id
        assert len(included) >= 3
        excluded = mart[(mart["experiment_id"] == experiment_id) & ~mart["is_included"]]
        assert len(excluded) == group["unit"].nunique() - len(included)


def test_ticket_and_mrr_metrics_equal_pandas(built_small, small_data, valid_events):
    """support_tickets_per_account (28 days after first exposure, and the 28 before) and
    mrr_per_account (30 days after) recomputed from the raw events."""
    units = query(
        built_small,
        "select unit_id, metric_name, metric_value, pre_value, first_exposed_at "
        "from marts.fct_experiment_unit_metrics where experiment_id = 'exp_annual_plan_nudge'",
    )
    events = valid_events.assign(at=pd.to_datetime(valid_events["at"]))
    tickets = events[events["event_name"] == "support_ticket_created"]
    changes = events[events["event_name"] == "plan_changed"].sort_values(["at", "event_id"])
    checked = 0
    for row in units.itertuples():
        start = pd.Timestamp(row.first_exposed_at)
        if row.metric_name == "support_tickets_per_account":
            mine = tickets[tickets["account_id"] == row.unit_id]
            after = ((mine["at"] >= start) & (mine["at"] < start + pd.Timedelta(days=28))).sum()
            before = ((mine["at"] >= start - pd.Timedelta(days=28)) & (mine["at"] < start)).sum()
            assert (row.metric_value, row.pre_value) == (after, before), row
        elif row.metric_name == "mrr_per_account":
            mine = changes[
                (changes["account_id"] == row.unit_id) & (changes["at"] <= start + pd.Timedelta(days=30))
            ]
            expected = float(mine["props"].iloc[-1]["mrr_usd"]) if len(mine) else 0.0
            assert row.metric_value == pytest.approx(expected), row
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("experiment_id", EXPERIMENTS)
def test_readout_mart_equals_statsmodels(built_small, experiment_id):
    result = runner.invoke(app, ["readout", experiment_id, "--db", str(built_small), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["agrees_with_mart"] and not payload["disagreements"]
    assert "treatment" in {row["variant"] for row in payload["rows"]}
    assert all(
        0 <= row["p_value_bh"] <= 1 for row in payload["rows"] if row["p_value_bh"] == row["p_value_bh"]
    )


def test_readout_fails_when_the_mart_disagrees(built_small):
    """Recomputing with another mixture sd than the mart's makes the sequential figures differ."""
    result = runner.invoke(
        app, ["readout", EXPERIMENTS[0], "--db", str(built_small), "--sequential-relative-tau", "0.3"]
    )
    assert result.exit_code == 1
    assert "DISAGREES" in result.output and "sequential_ci_low" in result.output


@pytest.mark.parametrize("tolerance", ["nan", "-1", "inf"])
def test_readout_refuses_a_tolerance_that_cannot_fail(built_small, tolerance):
    """With --tolerance nan every comparison was False, so a disagreeing mart (the run above)
    passed with exit 0."""
    result = runner.invoke(
        app,
        ["readout", EXPERIMENTS[0], "--db", str(built_small), "--sequential-relative-tau", "0.3",
         "--tolerance", tolerance],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--tolerance must be a finite number >= 0" in result.output


def test_readout_rejects_unknown_experiments(built_small):
    result = runner.invoke(app, ["readout", "exp_nope", "--db", str(built_small)])
    assert result.exit_code == 2 and "unknown experiment" in result.output


def test_clean_data_has_no_sample_ratio_mismatch(built_small):
    srm = query(
        built_small, "select experiment_id, srm_p_value from intermediate.int_experiment_sample_ratios"
    )
    assert len(srm) == 2 and (srm["srm_p_value"] > SRM_ALPHA).all()


def test_a_planted_sample_ratio_mismatch_is_caught(tmp_path):
    """A logging bug loses 40% of the treatment's exposures: the readout is untrustworthy."""
    config = GeneratorConfig(seed=5, accounts=120, days=90, srm_lost_treatment_share=0.4)
    write_generated(generate(config), tmp_path / "raw", tmp_path / "truth", "parquet")
    db = tmp_path / "lawn.duckdb"
    run_dbt(
        ["build", "--select", "+fct_experiment_readouts", "--exclude-resource-type", "test", "unit_test"],
        db,
        tmp_path,
        raw_dir=tmp_path / "raw",
    )
    readouts = query(
        db,
        "select distinct experiment_id, srm_p_value, has_sample_ratio_mismatch, is_trustworthy "
        "from marts.fct_experiment_readouts",
    ).set_index("experiment_id")
    broken = readouts.loc["exp_onboarding_checklist"]
    assert broken["srm_p_value"] < SRM_ALPHA
    assert broken["has_sample_ratio_mismatch"] and not broken["is_trustworthy"]
    assert readouts.loc["exp_annual_plan_nudge", "is_trustworthy"]


def test_automation_holdout_assignment_equals_python(built_small, small_data):
    """The salted-hash bucket of every account equals Python's sha256, and held-out accounts
    are exactly those below the registered share."""
    import hashlib

    holdouts = pd.read_csv("seeds/metrics/automation_holdouts.csv").set_index("holdout_id")
    mart = query(built_small, "select * from marts.fct_automation_holdout_assignments")
    assert len(mart) == len(small_data.raw["crm_accounts"]) * len(holdouts)
    for row in mart.itertuples():
        salt, share = holdouts.loc[row.holdout_id, ["salt", "holdout_share"]]
        bucket = int(hashlib.sha256(f"{salt}:{row.account_id}".encode()).hexdigest()[:6], 16) % 10000
        assert row.hash_bucket == bucket
        assert row.is_held_out == (bucket < share * 10000)


def test_sequential_interval_can_be_read_daily_without_inflating_false_positives():
    """A/A experiments looked at every day for 30 days: reading the fixed-horizon p-value at
    every look rejects far more often than 5%; the always-valid (mixture SPRT) p-value of the
    readout, at any look, at most 5% of the time."""
    from lawn.readout import _sequential

    rng = np.random.default_rng(12)
    simulations, days, per_day, alpha = 1000, 30, 40, 0.05
    naive = sequential = 0
    for _ in range(simulations):
        treated = rng.normal(0, 1, (days, per_day)).sum(axis=1).cumsum()  # running sums at each look
        control = rng.normal(0, 1, (days, per_day)).sum(axis=1).cumsum()
        n = per_day * np.arange(1, days + 1)
        lift = (treated - control) / n
        se = np.sqrt(2 / n)
        naive += bool((2 * stats.norm.sf(np.abs(lift / se)) < alpha).any())
        sequential += any(
            _sequential(lift[d], se[d], 0.1, alpha)["sequential_p_value"] < alpha for d in range(days)
        )
    assert naive / simulations > 0.15  # peeking at a fixed-horizon test inflates false positives
    assert sequential / simulations <= alpha


def test_a_piped_readout_table_shows_every_figure_whole(capsys):
    """Piped or redirected, rich cut cells to fit 80 columns: a lift of -9.726e-05 printed
    as "-9.72…" (reads as -9.72) and the metric names lost their ends."""
    from lawn.cli_stats import _print_readout
    from lawn.readout import ReadoutCheck

    row = {"variant": "treatment", "metric_name": "support_tickets_per_user", "units": 90,
           "absolute_lift": -9.726e-05, "ci_low": -0.008009, "ci_high": 0.007814, "p_value": 0.981,
           "p_value_bh": 0.981, "cuped_lift": -9.1e-05, "srm_p_value": 0.33}  # fmt: skip
    check = ReadoutCheck("experiment", "exp_x", "exp_x", "fct_experiment_readouts", pd.DataFrame([row]), [])
    _print_readout(check)
    text = capsys.readouterr().out
    assert "…" not in text
    for shown in ("support_tickets_per_user", "-9.726e-05", "[-0.008009, 0.007814]", "-9.1e-05"):
        assert shown in text, text
