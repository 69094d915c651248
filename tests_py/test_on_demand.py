"""On-demand models (tag on_demand): no `dbt build` without a selection makes them, whether dbt
applies the default selector of selectors.yml or lawn gives an --exclude (which makes dbt drop
that selector, so lawn/dbt_runner.py adds the same exclusion). pii_user_match_profiles is the
one such model: only `lawn identity-weights` reads it, and it builds it first."""

from __future__ import annotations

import yaml

from lawn import dbt_runner
from lawn.dbt_runner import ON_DEMAND, with_default_exclusion
from lawn.paths import REPO_ROOT

MODEL = "pii_user_match_profiles"
# any data test on a seed: what lawn build's --exclude names (lawn/seed_tests.py)
SEED_TEST = "primary_key_stg_tracking_plan__reason_codes_reason_code"


def _default_selector() -> dict:
    selectors = yaml.safe_load((REPO_ROOT / "selectors.yml").read_text())["selectors"]
    (default,) = [selector for selector in selectors if selector.get("default")]
    return default


def test_the_default_selector_leaves_out_exactly_the_on_demand_tag():
    union = _default_selector()["definition"]["union"]
    assert {"method": "fqn", "value": "*"} in union
    (exclusion,) = [part["exclude"] for part in union if "exclude" in part]
    assert [f"{part['method']}:{part['value']}" for part in exclusion] == [ON_DEMAND]


def test_an_exclusion_without_a_selection_keeps_the_default_one():
    assert with_default_exclusion(["build", "--exclude", "a", "b"]) == [
        "build",
        "--exclude",
        ON_DEMAND,
        "a",
        "b",
    ]
    assert with_default_exclusion(["build", "--full-refresh"]) == ["build", "--full-refresh"]
    # a selection names what to build, on-demand models included
    for args in (["build", "--select", MODEL, "--exclude", "a"], ["ls", "-s", MODEL, "--exclude", "a"]):
        assert with_default_exclusion(args) == args
    assert with_default_exclusion(["build", "--exclude", "a"], select=[MODEL]) == ["build", "--exclude", "a"]
    # --exclude-resource-type is not --exclude: dbt keeps the default selector then
    plain = ["build", "--exclude-resource-type", "unit_test"]
    assert with_default_exclusion(plain) == plain


def _listed(args: list[str], tmp_path) -> set[str]:
    result = dbt_runner.run_dbt(
        ["ls", "--resource-type", "model", "--resource-type", "test", "--output", "name", *args],
        tmp_path / "unused.duckdb",
        target_path=tmp_path / "target",
    )
    assert result.returncode == 0, result.stdout[-2000:]
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


def test_dbt_leaves_the_mart_and_its_test_out_unless_it_is_selected(tmp_path):
    on_demand = {MODEL, f"primary_key_{MODEL}_user_id"}
    everything = _listed([], tmp_path)
    assert "dim_users" in everything and not on_demand & everything
    # lawn build's form: the seed tests it leaves out, by name
    assert not on_demand & _listed(["--exclude", SEED_TEST], tmp_path)
    # (a selection builds it: the built_small_profiles fixture, read by test_public_marts)
    # negative control: without lawn's addition, dbt drops the default selector on --exclude
    raw = dbt_runner.dbt_invocation(
        ["ls", "--output", "name", "--exclude", SEED_TEST], tmp_path / "x.duckdb", target_path=tmp_path / "t2"
    )
    assert ON_DEMAND in raw.command
    bare = [part for part in raw.command if part != ON_DEMAND]
    listed = dbt_runner.subprocess.run(bare, env=raw.env, cwd=raw.cwd, capture_output=True, text=True)
    assert MODEL in listed.stdout.split()
