"""`lawn identity-weights`: splink re-estimates the matcher's parameters from the warehouse.
The u probabilities are checked against exact pair frequencies computed here in pandas."""

from __future__ import annotations

import itertools

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.identity_weights import PROFILES_SQL, estimate_match_weights
from tests_py.conftest import query

LEVELS = {
    ("full_name", "missing"), ("full_name", "exact_shared"), ("full_name", "exact"),
    ("full_name", "similar"), ("full_name", "different"),
    ("email_local_part", "same_mailbox"), ("email_local_part", "exact"),
    ("email_local_part", "numbered_variant"), ("email_local_part", "name_variant"),
    ("email_local_part", "typo"), ("email_local_part", "different"),
    ("email_domain", "same"), ("email_domain", "different"),
    ("activity", "sequential"), ("activity", "brief_overlap"), ("activity", "concurrent"),
    ("device", "shared"), ("device", "none"),
}  # fmt: skip


@pytest.fixture(scope="module")
def estimates(built_small_profiles) -> pd.DataFrame:
    return estimate_match_weights(built_small_profiles)


def test_every_level_of_the_sql_matcher_is_estimated(estimates):
    assert set(zip(estimates["comparison"], estimates["level"], strict=True)) == LEVELS
    seed = pd.read_csv("seeds/identity/identity_match_weights.csv")
    assert set(zip(seed["comparison"], seed["level"], strict=True)) == LEVELS
    for _, group in estimates.groupby("comparison"):
        assert group["u_probability"].sum() == pytest.approx(1.0, abs=1e-6)


def test_u_matches_exact_pair_frequencies(built_small_profiles, estimates):
    profiles = query(built_small_profiles, PROFILES_SQL)
    pairs = list(itertools.combinations(profiles.itertuples(), 2))
    same_domain = sum(a.email_domain == b.email_domain for a, b in pairs) / len(pairs)
    same_name = sum(a.full_name is not None and a.full_name == b.full_name for a, b in pairs) / len(pairs)
    u = estimates.set_index(["comparison", "level"])["u_probability"].fillna(0)
    assert u[("email_domain", "same")] == pytest.approx(same_domain, abs=0.01)
    assert u[("full_name", "exact")] + u[("full_name", "exact_shared")] == pytest.approx(same_name, abs=0.005)


def test_cli_writes_the_csv_and_refuses_a_missing_database(built_small, tmp_path, monkeypatch):
    # the command builds the on-demand mart itself (dbt, in a target folder of this test's)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    runner = CliRunner()
    output = tmp_path / "weights.csv"
    result = runner.invoke(app, ["identity-weights", "--db", str(built_small), "--out", str(output)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(built_small), read_only=True) as warehouse:
        kind = warehouse.execute(
            "select table_type from information_schema.tables "
            "where table_schema = 'pii' and table_name = 'pii_user_match_profiles'"
        ).fetchall()
    assert kind == [("VIEW",)]  # no stored copy of the clear-text names
    assert len(pd.read_csv(output)) == len(LEVELS)
    missing = runner.invoke(app, ["identity-weights", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no such database" in missing.output
