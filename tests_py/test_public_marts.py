"""Issue 16 items 5 and 6: `lawn readout` and `lawn identity-weights` read public marts only
(the registry dim_experiments, the restricted comparison mart pii_user_match_profiles), and
the automation holdout's readout is recomputed from unit-level outcomes
(fct_automation_unit_outcomes), like an experiment's from fct_experiment_unit_metrics.

Every mart is checked against an independent computation: the registry file and seed read
with pandas, HMAC-SHA256 from Python's hmac, active days and namesakes counted in pandas,
per-rule counts re-aggregated from the units."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.automation_readout import count_disagreements, count_units, recompute_lift
from lawn.cli import app
from lawn.paths import REPO_ROOT
from tests_py.conftest import TEST_HASH_KEY, query

READERS = ("lawn/readout.py", "lawn/automation_readout.py", "lawn/identity_weights.py")


@pytest.mark.parametrize("module", READERS)
def test_readers_name_no_staging_or_intermediate_relation(module):
    source = (REPO_ROOT / module).read_text()
    assert not re.findall(r"\b(?:staging|intermediate)\.\w+", source), module
    # it does read the warehouse, through marts (or the restricted pii schema)
    assert re.findall(r"\b(?:marts|pii)\.\w+", source)


def test_dim_experiments_is_the_registry_file_plus_the_holdout_seed(built_small):
    raw = query(built_small, "select * from raw.experiment_registry")
    seed = pd.read_csv(REPO_ROOT / "seeds" / "metrics" / "automation_holdouts.csv")
    dim = query(built_small, "select * from marts.dim_experiments").set_index("experiment_id")
    assert sorted(dim.index) == sorted([*raw["experiment_id"].str.strip(), *seed["holdout_id"]])
    for row in raw.itertuples():
        got = dim.loc[row.experiment_id.strip()]
        assert got.experiment_kind == "experiment" and got.primary_metric == row.primary_metric.strip()
        assert got.holdout_share == pytest.approx(float(row.holdout_share))
        assert got.minimum_detectable_effect == pytest.approx(float(row.minimum_detectable_effect))
    for row in seed.itertuples():
        got = dim.loc[row.holdout_id]
        assert got.experiment_kind == "automation_holdout" and got.holdout_share == row.holdout_share
        assert (
            got.start_date == pd.Timestamp(row.registered_at[:10]).date()
            or str(got.start_date)[:10] == (row.registered_at[:10])
        )
        assert pd.isna(got.primary_metric) and pd.isna(got.end_date)


def _key(value: str) -> str:
    return hmac.new(TEST_HASH_KEY.secret, value.encode(), hashlib.sha256).hexdigest()


def test_match_profiles_equal_a_pandas_recomputation(built_small_profiles):
    built_small = built_small_profiles
    mart = query(built_small, "select * from pii.pii_user_match_profiles").set_index("user_id")
    profiles = query(
        built_small, "select * from intermediate.int_identity_user_profiles where email is not null"
    ).set_index("user_id")
    assert sorted(mart.index) == sorted(profiles.index) and len(mart) > 50
    clear = [
        "account_id",
        "deterministic_component",
        "first_name",
        "last_name",
        "full_name",
        "email_local_part",
    ]
    for column in clear:
        pd.testing.assert_series_equal(mart[column], profiles.loc[mart.index, column], check_names=False)
    # the domain is keyed: HMAC-SHA256 under the build's key, as Python computes it
    expected_domain = profiles.loc[mart.index, "email_domain"].map(lambda d: None if d is None else _key(d))
    assert (mart["email_domain_key"].fillna("-") == expected_domain.fillna("-")).all()
    assert not set(profiles["email_domain"].dropna()) & set(mart["email_domain_key"].dropna())
    # namesakes: profiles of the account with the same full name
    named = profiles[profiles["full_name"].notna()]
    counts = named.groupby(["account_id", "full_name"]).size()
    ordered = profiles.loc[mart.index]
    pairs = zip(ordered["account_id"], ordered["full_name"], strict=True)
    expected = [0 if name is None else counts.get((account, name), 0) for account, name in pairs]
    assert mart["namesake_count"].tolist() == expected
    # active days: distinct dates of the user_id's unblocked observations
    observed = query(
        built_small,
        "select identifier_value as user_id, occurred_at from intermediate.int_identity_observations "
        "where identifier_type = 'user_id' and not is_blocked",
    )
    days = observed.assign(day=observed["occurred_at"].dt.strftime("%Y-%m-%d")).groupby("user_id")["day"]
    for user_id, text in mart["active_dates"].items():
        want = sorted(set(days.get_group(user_id))) if user_id in days.groups else None
        assert (text.split("|") if text is not None else None) == want, user_id
    # device keys: keyed left_key of the anonymous/device ids linked to the user_id
    links = query(
        built_small,
        "select right_value as user_id, left_key from intermediate.int_identity_links "
        "where left_type in ('anonymous_id', 'device_id') and right_type = 'user_id'",
    )
    keyed = (
        links.assign(key=links["left_key"].map(_key))
        .groupby("user_id")["key"]
        .apply(lambda k: sorted(set(k)))
    )
    for user_id, text in mart["device_keys"].items():
        assert (text.split("|") if text is not None else []) == keyed.get(user_id, []), user_id


def test_unit_outcomes_add_up_to_the_lift_mart(built_small):
    units = query(built_small, "select * from marts.fct_automation_unit_outcomes")
    lift = query(built_small, "select * from marts.fct_automation_lift")
    assert len(units) > 0 and set(units["variant"]) == {"automated", "holdout"}
    assert units.loc[~units["is_observable"], "metric_value"].isna().all()
    assert set(units.loc[units["is_observable"], "metric_value"]) <= {0.0, 1.0}
    counts = count_units(units, lift[["rule_id", "outcome_name"]], 0.1)
    assert count_disagreements(lift, counts) == []
    # the held-out flag is the registered salted hash bucket (an independent recomputation)
    for row in units.head(50).itertuples():
        bucket = (
            int(hashlib.sha256(f"lawn-automation-2026:{row.unit_id}".encode()).hexdigest()[:6], 16) % 10000
        )
        assert (row.variant == "holdout") == (bucket < 1000)


def test_readout_dispatches_on_the_registry(built_small, tmp_path):
    runner = CliRunner()
    auto = runner.invoke(app, ["readout", "automation_2026", "--db", str(built_small), "--json"])
    assert auto.exit_code == 0, auto.output
    unknown = runner.invoke(app, ["readout", "nope", "--db", str(built_small)])
    assert unknown.exit_code == 2 and "automation_2026" in unknown.stderr and "exp_" in unknown.stderr
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()
    old = runner.invoke(app, ["readout", "automation_2026", "--db", str(bare)])
    assert old.exit_code == 2 and "no marts.dim_experiments" in old.stderr and "Traceback" not in old.output


# ---- hand-written units: what the counting and the comparison must do


def _units() -> pd.DataFrame:
    rows = [  # rule, account, variant, observable, outcome
        ("r_up", "a1", "automated", True, 1.0), ("r_up", "a2", "automated", True, 1.0),
        ("r_up", "a3", "automated", True, 0.0), ("r_up", "a4", "automated", False, None),
        ("r_up", "a5", "holdout", True, 0.0), ("r_up", "a6", "holdout", True, 1.0),
        ("r_zero", "a1", "automated", True, 0.0), ("r_zero", "a5", "holdout", False, None),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["rule_id", "unit_id", "variant", "is_observable", "metric_value"])


def test_count_units_by_hand():
    rules = pd.DataFrame({"rule_id": ["r_up", "r_zero", "r_none"], "outcome_name": ["up", "zero", "none"]})
    counts = count_units(_units(), rules, 0.1).set_index("rule_id")
    assert counts.loc["r_up", ["automated_units", "holdout_units"]].tolist() == [4, 2]
    assert counts.loc["r_up", ["automated_observed", "automated_outcomes"]].tolist() == [3, 2]
    assert counts.loc["r_up", ["holdout_observed", "holdout_outcomes"]].tolist() == [2, 1]
    assert counts.loc["r_zero", ["automated_units", "holdout_units", "holdout_observed"]].tolist() == [
        1,
        1,
        0,
    ]
    assert counts.loc["r_none", ["automated_units", "holdout_units"]].tolist() == [0, 0]
    lift = recompute_lift(counts.reset_index()).set_index("rule_id")
    # 2/3 - 1/2, unpooled Wald standard error written out
    se = np.sqrt((2 / 3) * (1 / 3) / 3 + 0.5 * 0.5 / 2)
    assert lift.loc["r_up", "lift"] == pytest.approx(2 / 3 - 1 / 2, abs=1e-12)
    assert lift.loc["r_up", "lift_ci_upper"] == pytest.approx(1 / 6 + 1.959963984540054 * se, abs=1e-9)
    assert np.isnan(lift.loc["r_zero", "lift"])  # the holdout has nothing observable yet
    # a mart whose count differs from its units is named
    mart = counts.reset_index().copy()
    mart.loc[mart["rule_id"] == "r_up", "holdout_outcomes"] = 2
    assert count_disagreements(mart, counts.reset_index()) == ["r_up holdout_outcomes: mart 2 vs units 1"]
    assert count_disagreements(mart[mart["rule_id"] != "r_none"], counts.reset_index())[0] == (
        "r_none: only in the units"
    )


def test_readers_are_listed():
    assert all((REPO_ROOT / module).exists() for module in READERS)
    assert Path(REPO_ROOT / "models/pii/_restricted_match__models.yml").exists()


def test_identity_weights_on_a_warehouse_without_the_mart_says_build(tmp_path):
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()
    result = CliRunner().invoke(
        app, ["identity-weights", "--db", str(bare), "--out", str(tmp_path / "w.csv")]
    )
    assert (
        result.exit_code == 2
        and "no pii_user_match_profiles inputs yet (intermediate.int_identity_user_profiles): "
        "run `lawn build` first"
        in " ".join(result.stderr.split())
    )
    assert "Traceback" not in result.output and not (tmp_path / "w.csv").exists()
