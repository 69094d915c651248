"""`lawn power` against statsmodels' own solvers and published textbook values."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nct, norm
from scipy.stats import t as t_dist
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import power_proportions_2indep, proportion_effectsize
from typer.testing import CliRunner

from lawn.cli import app
from lawn.power import achieved_power, minimum_detectable_effect, sample_size
from tests_py.conftest import query
from tests_py.expectations import parse_utc

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
    assert result.n_control_exact == pytest.approx(n1, rel=1e-6)
    assert result.n_treatment == math.ceil(result.n_control * ratio)
    # the rounded-up arms reach the power (statsmodels at the printed arm sizes), one control
    # unit fewer at the planned ratio does not
    reached = achieved_power(
        "proportion", baseline, lift, result.n_control, ratio=ratio, alternative=alternative
    )
    printed_ratio = result.n_treatment / result.n_control
    assert reached.power == pytest.approx(
        NormalIndPower().power(
            effect, nobs1=result.n_control, alpha=0.05, ratio=printed_ratio, alternative=alternative
        ),
        abs=1e-12,
    )
    assert reached.power >= 0.8
    if result.n_control > 2:
        short = NormalIndPower().power(
            effect, nobs1=result.n_control - 1, alpha=0.05, ratio=ratio, alternative=alternative
        )
        assert short < 0.8


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
    assert mde.mde == pytest.approx(abs(d) * 12.0, rel=1e-5)  # statsmodels solves to ~2e-6 only
    back = TTestIndPower().power(mde.mde / 12.0, nobs1=120, alpha=0.05, ratio=ratio, alternative=alternative)
    assert back == pytest.approx(0.8, abs=1e-10)  # ours solves to 1e-14


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


def test_mrr_per_account_reads_every_new_account_not_only_payers(built_small, valid_events):
    """The experiment metric is an account's MRR 30 days after it starts, 0 if not paying
    (seeds/metrics/experiment_metrics.csv): its baseline is the mean and sd over the accounts
    created in the last 28 days whose 30 days are over, each one's MRR as known (received) by
    the end of its 30th day, recomputed here from the raw plan changes and cancellations.
    Before, the mean and sd were those of the paying accounts of the last month only."""
    result = runner.invoke(
        app, ["power", "--metric", "mrr_per_account", "--mde", "10", "--db", str(built_small), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    accounts = query(
        built_small, "select account_id, cast(created_at as date) as created from marts.dim_accounts"
    )
    data_end = query(built_small, "select data_day from marts.fct_data_day").iloc[0, 0]  # the build's today
    accounts["created"] = pd.to_datetime(accounts["created"]).dt.date
    settled = accounts[accounts["created"] + pd.Timedelta(days=30) <= pd.Timestamp(data_end).date()]
    recent = settled[settled["created"] > settled["created"].max() - pd.Timedelta(days=28)]
    changes = valid_events[valid_events["event_name"].isin(["plan_changed", "subscription_canceled"])].copy()
    changes["received"] = changes["received_at"].map(parse_utc).map(lambda t: t.date())
    changes["mrr"] = [
        float(props["mrr_usd"]) if name == "plan_changed" else 0.0
        for name, props in zip(changes["event_name"], changes["props"], strict=True)
    ]
    changes["order"] = (changes["event_name"] == "plan_changed").astype(int)  # a cancellation first
    values = []
    for account_id, created in zip(recent["account_id"], recent["created"], strict=True):
        day = created + pd.Timedelta(days=30)
        known = changes[(changes["account_id"] == account_id) & (changes["received"] <= day)]
        known = known.sort_values(["at", "order", "event_id"])
        values.append(float(known["mrr"].iloc[-1]) if len(known) else 0.0)
    values = pd.Series(values)
    assert len(values) > 5 and (values == 0).any() and (values > 0).any()  # payers and non-payers
    assert payload["measured_on_units"] == len(values)
    assert payload["baseline"] == pytest.approx(values.mean())
    assert payload["sd"] == pytest.approx(values.std(ddof=1))


# ---- R's power.prop.test / power.t.test, the pooled and unpooled z-tests, tails, effect sizes


def _r_power_prop(n: float, p1: float, p2: float, alpha: float = 0.05, strict: bool = False) -> float:
    """R stats::power.prop.test's power expression (two-sided), written out from its source
    formula: pnorm((sqrt(n)|p1-p2| - z sqrt((p1+p2)(1-(p1+p2)/2))) / sqrt(p1 q1 + p2 q2))."""
    z = norm.isf(alpha / 2)
    null = math.sqrt((p1 + p2) * (1 - (p1 + p2) / 2))
    alt = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    power = norm.cdf((math.sqrt(n) * abs(p1 - p2) - z * null) / alt)
    if strict:
        power += norm.cdf((-math.sqrt(n) * abs(p1 - p2) - z * null) / alt)
    return float(power)


def test_power_prop_test_published_examples():
    """R's ?power.prop.test examples (stats/man/power.prop.test.Rd) print power = 0.740 for
    n = 50, p1 = .50, p2 = .75; n = 76.7 for power = .90; p2 = 0.8026 for n = 50, power = .90
    (R default strict = FALSE)."""
    power = achieved_power("proportion", 0.5, 0.25, 50, method="pooled", tails="effect").power
    assert round(power, 3) == 0.740
    assert power == pytest.approx(_r_power_prop(50, 0.5, 0.75), abs=1e-12)  # 0.7401659
    n = sample_size("proportion", 0.5, 0.25, power=0.9, method="pooled", tails="effect")
    assert round(n.n_control_exact, 1) == 76.7 and n.n_control == 77
    assert _r_power_prop(n.n_control_exact, 0.5, 0.75) == pytest.approx(0.9, abs=1e-10)
    mde = minimum_detectable_effect("proportion", 0.5, 50, power=0.9, method="pooled", tails="effect")
    assert round(0.5 + mde.mde, 4) == 0.8026
    # ... and power.prop.test(p1 = .5, p2 = 0.501, sig.level = .001, power = .90) => n = 10451937
    big = sample_size("proportion", 0.5, 0.001, alpha=0.001, power=0.9, method="pooled", tails="effect")
    assert big.n_control == 10451937


@pytest.mark.parametrize("ratio", [1.0, 0.5, 2.5])
@pytest.mark.parametrize(("baseline", "mde"), [(0.5, 0.25), (0.1, 0.02), (0.8, -0.05)])
def test_pooled_both_tails_equals_statsmodels_power_proportions_2indep(ratio, baseline, mde):
    """statsmodels' power_proportions_2indep (pooled null, unpooled alternative, both tails) is
    an independent implementation; its nobs1 arm is the treatment arm here."""
    ours = achieved_power("proportion", baseline, mde, 400, ratio=ratio, method="pooled").power
    theirs = power_proportions_2indep(
        mde, baseline, nobs1=400 * ratio, ratio=1 / ratio, alpha=0.05, return_results=True
    ).power
    assert ours == pytest.approx(float(theirs), abs=1e-12)
    if ratio == 1.0:
        assert ours == pytest.approx(_r_power_prop(400, baseline, baseline + mde, strict=True), abs=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "larger"])
@pytest.mark.parametrize("ratio", [1.0, 3.0])
def test_unpooled_n_equals_the_closed_form(alternative, ratio):
    """n1 = (z_a + z_b)^2 (p1 q1 + p2 q2 / r) / d^2 (effect-side tail only: exact)."""
    p1, p2 = 0.2, 0.25
    z_a = norm.isf(0.05 / 2) if alternative == "two-sided" else norm.isf(0.05)
    closed = (z_a + norm.isf(0.2)) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2) / ratio) / (p2 - p1) ** 2
    ours = sample_size(
        "proportion", p1, p2 - p1, ratio=ratio, alternative=alternative, method="unpooled", tails="effect"
    )
    assert ours.n_control_exact == pytest.approx(closed, rel=1e-9)
    assert ours.n_control == math.ceil(closed)


def test_power_t_test_published_values():
    """R power.t.test (two-sample, sd = 1, default strict = FALSE): n = 20, delta = 1 gives
    power 0.8689528; power = .90 gives n = 22.02110 (one-sided: 17.84713). Checked against a
    noncentral-t computation written here with scipy."""
    power = achieved_power("mean", 0.0, 1.0, 20, sd=1.0, tails="effect").power
    assert power == pytest.approx(0.8689528, abs=5e-8)
    df, nc, crit = 38, 1.0 / math.sqrt(2 / 20), t_dist.isf(0.025, 38)
    assert power == pytest.approx(float(nct.sf(crit, df, nc)), abs=1e-12)
    both = achieved_power("mean", 0.0, 1.0, 20, sd=1.0, tails="both").power
    assert both == pytest.approx(float(nct.sf(crit, df, nc) + nct.cdf(-crit, df, nc)), abs=1e-12)
    assert both > power
    n = sample_size("mean", 0.0, 1.0, power=0.9, sd=1.0, tails="effect")
    assert n.n_control_exact == pytest.approx(22.02110, abs=5e-6) and n.n_control == 23
    one = sample_size("mean", 0.0, 1.0, power=0.9, sd=1.0, alternative="larger")
    # R's uniroot stops at tol = eps^0.25 (1.2e-4): its printed n is that close; ours solves to 1e-12
    assert one.n_control_exact == pytest.approx(17.84713, abs=1.2e-4)
    m = one.n_control_exact
    exact_power = nct.sf(t_dist.isf(0.05, 2 * m - 2), 2 * m - 2, 1.0 / math.sqrt(2 / m))
    assert float(exact_power) == pytest.approx(0.9, abs=1e-10)


def test_effect_size_input_equals_the_lift_route():
    by_lift = sample_size("proportion", 0.3, 0.1)
    by_h = sample_size("proportion", None, None, effect_size=by_lift.effect_size)
    assert by_h.n_control_exact == pytest.approx(by_lift.n_control_exact, rel=1e-10)
    by_d = sample_size("mean", None, None, effect_size=0.5)
    assert by_d.n_control == 64  # Cohen (1992) Table 2, d = 0.5
    assert by_d.mde is None and by_d.baseline is None


def test_cli_methods_tails_exact_n_and_errors():
    result = runner.invoke(
        app,
        ["power", "--baseline", "0.5", "--mde", "0.25", "--method", "pooled", "--tails", "effect",
         "--power", "0.9", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert isinstance(payload["n_control_exact"], float) and isinstance(payload["n_control"], int)
    assert round(payload["n_control_exact"], 1) == 76.7 and payload["n_control"] == 77
    assert "strict=FALSE" in payload["tail_convention"]
    text = runner.invoke(app, ["power", "--baseline", "0.45", "--mde", "0.05"])
    assert "both rejection regions" in text.output and "n_control_exact" in text.output
    for args, message in (
        (["--baseline", "0.4", "--mde", "0.1", "--method", "wald"], "cohen-h, pooled or unpooled"),
        (["--baseline", "0.4", "--mde", "0.1", "--tails", "two"], "both or effect"),
        (["--baseline", "0.4", "--effect-size", "0.2", "--method", "pooled"], "--method cohen-h"),
        (["--baseline", "0.4", "--effect-size", "0.2", "--mde", "0.1"], "not both"),
    ):
        bad = runner.invoke(app, ["power", *args])
        assert bad.exit_code == 2 and message in bad.output, (args, bad.output)


@pytest.mark.parametrize("alternative", ["larger", "smaller"])
@pytest.mark.parametrize("mde", [0.02, -0.02])
@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_one_sided_mde_is_a_magnitude_in_the_alternatives_direction(alternative, mde, ratio):
    """`--mde 0.02 --alternative smaller` asks for a drop from 10% to 8%. Cohen's h is not
    symmetric in the rate: the old code used minus the h of a rise to 12% (n 3020.5 instead
    of statsmodels' 2524.4 for the drop)."""
    baseline = 0.1
    target = baseline + (abs(mde) if alternative == "larger" else -abs(mde))
    effect = proportion_effectsize(target, baseline)
    expected = NormalIndPower().solve_power(
        effect, alpha=0.05, power=0.8, ratio=ratio, alternative=alternative
    )
    result = sample_size("proportion", baseline, mde, ratio=ratio, alternative=alternative)
    assert result.n_control_exact == pytest.approx(expected, rel=1e-6)
    assert result.effect_size == pytest.approx(effect, abs=1e-12)
    assert result.mde == pytest.approx(target - baseline, abs=1e-15)
    reached = achieved_power("proportion", baseline, mde, 2000, ratio=ratio, alternative=alternative)
    assert reached.power == pytest.approx(
        NormalIndPower().power(effect, nobs1=2000, alpha=0.05, ratio=ratio, alternative=alternative),
        abs=1e-12,
    )
    # means are symmetric: d's sign follows the alternative
    t_test = sample_size("mean", 50.0, mde * 100, sd=4.0, ratio=ratio, alternative=alternative)
    d = (abs(mde) if alternative == "larger" else -abs(mde)) * 100 / 4.0
    assert t_test.n_control_exact == pytest.approx(
        TTestIndPower().solve_power(d, alpha=0.05, power=0.8, ratio=ratio, alternative=alternative), rel=1e-5
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--test", "mean", "--baseline", "10", "--sd", "5", "--mde", "nan"],
        ["--test", "mean", "--baseline", "10", "--sd", "5", "--mde", "inf"],
        ["--test", "mean", "--baseline", "10", "--sd", "nan", "--mde", "1"],
        ["--baseline", "0.1", "--mde", "0.02", "--ratio", "inf"],
        ["--effect-size", "nan"],
        ["--effect-size", "inf"],
    ],
)
def test_non_finite_numbers_are_refused_naming_the_option(args):
    """Typer reads "nan" and "inf" as floats; they used to give n = 2 (silently) or a solver
    error with exit 1."""
    option = next(a for a, v in itertools.pairwise(args) if v in ("nan", "inf"))
    result = runner.invoke(app, ["power", *args])
    assert result.exit_code == 2, result.output
    assert f"{option} must be a finite number" in result.output


@pytest.mark.parametrize(
    ("args", "alpha", "target"),
    [
        (["--baseline", "0.1", "--mde", "0.02", "--power", "0.04"], 0.05, 0.04),
        (["--baseline", "0.1", "--mde", "0.02", "--power", "0.3", "--alpha", "0.5"], 0.5, 0.3),
        (["--baseline", "0.1", "--mde", "0.02", "--power", "0.05"], 0.05, 0.05),
    ],
)
def test_target_power_at_or_below_alpha_is_refused(args, alpha, target):
    """A test rejects with probability alpha with no data: no sample size has power below alpha
    (statsmodels' solver returns nan) and power alpha needs none (statsmodels: n -> 0); lawn
    printed n = 1 with exit 0."""
    effect = proportion_effectsize(0.12, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels: sqrt of a negative, no convergence
        theirs = float(np.squeeze(NormalIndPower().solve_power(effect, alpha=alpha, power=target)))
    assert math.isnan(theirs) if target < alpha else theirs < 1e-6
    result = runner.invoke(app, ["power", *args])
    assert result.exit_code == 2, result.output
    assert f"--power {target:g} is not above --alpha {alpha:g}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    mde = runner.invoke(app, ["power", "--baseline", "0.1", "--n", "500", "--solve-for", "mde", *args[4:]])
    assert mde.exit_code == 2 and "is not above --alpha" in mde.output, mde.output


def test_power_uses_the_integer_arms_it_prints():
    """--n 101 --ratio 0.5 prints a treatment arm of 51: the power is statsmodels' for 101 and 51
    units (0.82434), not for 50.5 (0.82187, which lawn printed)."""
    result = runner.invoke(
        app, ["power", "--test", "mean", "--effect-size", "0.5", "--n", "101", "--ratio", "0.5",
              "--solve-for", "power", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["n_control"], payload["n_treatment"]) == (101, 51)
    expected = TTestIndPower().power(0.5, nobs1=101, alpha=0.05, ratio=51 / 101)
    assert payload["power"] == pytest.approx(expected, abs=1e-12)
    assert abs(payload["power"] - TTestIndPower().power(0.5, nobs1=101, alpha=0.05, ratio=0.5)) > 1e-3
    # proportions and the mde solve on the same integer arms
    prop = achieved_power("proportion", 0.2, 0.05, 101, ratio=0.5)
    effect = proportion_effectsize(0.25, 0.2)
    assert prop.power == pytest.approx(NormalIndPower().power(effect, nobs1=101, alpha=0.05, ratio=51 / 101))
    mde = minimum_detectable_effect("mean", 0.0, 101, ratio=0.5, sd=1.0)
    back = TTestIndPower().power(mde.mde, nobs1=101, alpha=0.05, ratio=51 / 101)
    assert back == pytest.approx(0.8, abs=1e-10)


@pytest.mark.parametrize("solve_for", ["power", "mde"])
def test_an_arm_smaller_than_two_is_refused(solve_for):
    """--n 10 --ratio 0.05 is a treatment arm of 1 (0.5 rounded up): no t-test, exit 2."""
    args = ["power", "--test", "mean", "--baseline", "0", "--sd", "1", "--n", "10", "--ratio", "0.05",
            "--solve-for", solve_for]  # fmt: skip
    if solve_for == "power":
        args += ["--mde", "0.5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "--ratio 0.05 gives a treatment arm of 1 unit(s)" in result.output
