"""`lawn power` against statsmodels' own solvers and published textbook values."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize
from typer.testing import CliRunner

from lawn.cli import app
from lawn.power import achieved_power, minimum_detectable_effect, sample_size
from tests_py.conftest import query

runner = CliRunner()


def _rate_with_h(baseline: float, h: float) -> float:
    """The rate p2 whose Cohen's h against ``baseline`` is exactly ``h``."""
    return math.sin((h + 2 * math.asin(math.sqrt(baseline))) / 2) ** 2


@pytest.mark.parametrize(("d", "expected"), [(0.5, 64), (0.8, 26)])
def test_means_match_cohens_table(d, expected):
    """Cohen (1992), A Power Primer, Table 2: two-sample t-test, alpha .05 two-sided, power .80."""
    assert sample_size("mean", baseline=10.0, mde=d, sd=1.0).n_control == expected


@pytest.mark.parametrize(("h", "expected"), [(0.5, 63), (0.8, 25)])
def test_proportions_match_cohens_table(h, expected):
    """Cohen (1992), Table 2, difference between proportions (effect size h)."""
    baseline = 0.3
    result = sample_size("proportion", baseline=baseline, mde=_rate_with_h(baseline, h) - baseline)
    assert result.effect_size == pytest.approx(h)
    assert result.n_control == expected


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
@pytest.mark.parametrize("ratio", [1.0, 0.5, 3.0])
@pytest.mark.parametrize(("baseline", "mde"), [(0.1, 0.02), (0.45, 0.05), (0.8, -0.04)])
def test_proportion_sample_sizes_equal_statsmodels(alternative, ratio, baseline, mde):
    lift = -abs(mde) if alternative == "smaller" else abs(mde)
    result = sample_size(
        "proportion", baseline, lift, alpha=0.05, power=0.8, ratio=ratio, alternative=alternative
    )
    effect = proportion_effectsize(baseline + lift, baseline)
    n1 = NormalIndPower().solve_power(effect, alpha=0.05, power=0.8, ratio=ratio, alternative=alternative)
    assert result.n_control == math.ceil(n1)
    assert result.n_treatment == math.ceil(result.n_control * ratio)
    # the rounded-up size reaches the power, one unit fewer does not
    reached = achieved_power(
        "proportion", baseline, lift, result.n_control, ratio=ratio, alternative=alternative
    )
    assert reached.power >= 0.8
    if result.n_control > 2:
        short = achieved_power(
            "proportion", baseline, lift, result.n_control - 1, ratio=ratio, alternative=alternative
        )
        assert short.power < 0.8


@pytest.mark.parametrize("alternative", ["two-sided", "larger"])
@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_mean_power_and_mde_equal_statsmodels(alternative, ratio):
    result = achieved_power("mean", 50.0, 3.0, 120, ratio=ratio, alternative=alternative, sd=12.0)
    expected = TTestIndPower().power(3.0 / 12.0, nobs1=120, alpha=0.05, ratio=ratio, alternative=alternative)
    assert result.power == pytest.approx(expected, abs=1e-12)
    mde = minimum_detectable_effect("mean", 50.0, 120, ratio=ratio, alternative=alternative, sd=12.0)
    d = TTestIndPower().solve_power(
        None, nobs1=120, alpha=0.05, power=0.8, ratio=ratio, alternative=alternative
    )
    assert mde.mde == pytest.approx(abs(d) * 12.0, rel=1e-9)


def test_proportion_mde_inverts_the_power_curve():
    result = minimum_detectable_effect("proportion", 0.2, 800, alpha=0.05, power=0.9)
    back = achieved_power("proportion", 0.2, result.mde, 800, alpha=0.05)
    assert back.power == pytest.approx(0.9, abs=1e-5)  # statsmodels root-finder tolerance


def test_cli_json_and_bad_input():
    ok = runner.invoke(app, ["power", "--baseline", "0.45", "--mde", "0.05", "--json"])
    assert ok.exit_code == 0, ok.output
    payload = json.loads(ok.stdout)
    assert payload["n_control"] == sample_size("proportion", 0.45, 0.05).n_control
    for args, message in (
        (["--baseline", "1.5", "--mde", "0.1"], "strictly between 0 and 1"),
        (["--test", "mean", "--baseline", "3", "--mde", "1"], "positive --sd"),
        (["--baseline", "0.4"], "needs --mde"),
        (["--baseline", "0.4", "--mde", "0.1", "--alternative", "up"], "two-sided, larger or smaller"),
    ):
        bad = runner.invoke(app, ["power", *args])
        assert bad.exit_code == 2 and message in bad.output, (args, bad.output)


def test_metric_reads_baseline_and_traffic_from_the_marts(built_small):
    result = runner.invoke(
        app, ["power", "--metric", "user_created_invoice", "--mde", "0.1", "--db", str(built_small), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rows = query(
        built_small,
        "select anchor_date, is_reached_in_window from marts.fct_activation "
        "where milestone_name = 'user_created_invoice' and is_window_complete",
    )
    last = rows["anchor_date"].max()
    recent = rows[rows["anchor_date"] > last - pd.Timedelta(days=28)]
    assert payload["baseline"] == pytest.approx(recent["is_reached_in_window"].mean())
    assert payload["measured_on_units"] == len(recent)
    assert payload["daily_eligible_units"] == pytest.approx(len(recent) / 28, abs=1e-4)
    expected_days = (payload["n_control"] + payload["n_treatment"]) / (len(recent) / 28)
    assert payload["expected_duration_days"] == pytest.approx(expected_days, abs=0.05)
    unknown = runner.invoke(app, ["power", "--metric", "nope", "--mde", "0.1", "--db", str(built_small)])
    assert unknown.exit_code == 2 and "unknown metric" in unknown.output
