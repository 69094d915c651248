"""On-demand models (tag on_demand): no `dbt build` without a selection makes them, whether dbt
applies the default selector of selectors.yml or lawn gives an --exclude (which makes dbt drop
that selector, so lawn/dbt_runner.py adds the same exclusion). pii_user_match_profiles (only
`lawn identity-weights` reads it, and it builds it first) and int_account_activity_daily (no
model reads it) are such models."""

from __future__ import annotations

import yaml
from dbt.graph.cli import DEFAULT_INCLUDES

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
    (exclusion,) = [part["exclude"] for part in union if "exclude" in part]
    assert [f"{part['method']}:{part['value']}" for part in exclusion] == [ON_DEMAND]
    # the rest is dbt's own default selection, so nothing else drops out (sources included)
    included = [f"{part['method']}:{part['value']}" for part in union if "exclude" not in part]
    assert included == DEFAULT_INCLUDES


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


def _listed(args: list[str], tmp_path, kinds: bool = True) -> set[str]:
    """The names `dbt ls` lists: models and data tests (``kinds``), else ``args`` as given."""
    command = ["ls", "--resource-type", "model", "--resource-type", "test", "--output", "name", *args]
    result = dbt_runner.run_dbt(
        command if kinds else args,
        tmp_path / "unused.duckdb",
        target_path=tmp_path / "target",
    )
    assert result.returncode == 0, result.stdout[-2000:]
    # dbt's own log lines start with a colour code and the time; the listing does not
    return {line.strip() for line in result.stdout.splitlines() if line.strip() and "\x1b" not in line}


def test_dbt_leaves_the_mart_and_its_test_out_unless_it_is_selected(tmp_path):
    on_demand = {
        MODEL,
        f"primary_key_{MODEL}_user_id",
        "int_account_activity_daily",
        "primary_key_int_account_activity_daily_account_day_key",
    }
    everything = _listed([], tmp_path)
    assert "dim_users" in everything and not on_demand & everything
    # every resource (sources, exposures, metrics too): the default selector lists what a
    # plain exclusion of the tag lists
    every_kind = ["ls", "--output", "name"]
    assert _listed(every_kind, tmp_path, kinds=False) == _listed(
        [*every_kind, "--exclude", ON_DEMAND], tmp_path, kinds=False
    )
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
