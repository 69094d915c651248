"""`lawn did`: estimators against statsmodels, the planted staggered rollout recovered, a
placebo adoption date in the pre-period giving an interval that covers zero."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from typer.testing import CliRunner

from lawn.cli import app
from lawn.did import did_2x2, did_twfe, event_study, prepare_panel
from lawn.generator import GeneratorConfig, generate
from tests_py.rollout_panel import rollout_panel

runner = CliRunner()
WORLD = GeneratorConfig(seed=3, accounts=1000, days=150)


def _toy_panel(seed: int = 0, units: int = 40, periods: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for unit in range(units):
        adopt = [3, 5, None][unit % 3]
        level = rng.normal()
        for t in range(periods):
            treated = int(adopt is not None and t >= adopt)
            rows.append(
                {
                    "unit": f"u{unit}",
                    "t": t,
                    "y": level + 0.1 * t + 0.8 * treated + rng.normal(scale=0.5),
                    "treated": treated,
                    "group": int(adopt is not None),
                    "post": int(t >= 4),
                }
            )
    return pd.DataFrame(rows)


def test_2x2_equals_statsmodels_cluster_ols():
    frame = _toy_panel()
    panel = prepare_panel(frame, "unit", "t", "y", {"group": "group", "post": "post"})
    ours = did_2x2(panel).estimates[0]
    fit = smf.ols("y ~ group * post", frame).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["unit"])[0]}, use_t=True
    )
    assert ours.estimate == pytest.approx(fit.params["group:post"], abs=1e-10)
    assert ours.std_error == pytest.approx(fit.bse["group:post"], rel=1e-10)
    assert ours.p_value == pytest.approx(fit.pvalues["group:post"], rel=1e-8)


def test_twfe_and_event_study_equal_dummy_regressions():
    frame = _toy_panel(seed=1)
    panel = prepare_panel(frame, "unit", "t", "y", {"treat": "treated"})
    groups = pd.factorize(frame["unit"])[0]
    fit = smf.ols("y ~ treated + C(unit) + C(t)", frame).fit(cov_type="cluster", cov_kwds={"groups": groups})
    ours = did_twfe(panel).estimates[0]
    assert ours.estimate == pytest.approx(fit.params["treated"], abs=1e-9)
    # same CR1 sandwich; statsmodels' K counts every dummy, fixest's (and ours) the regressor and
    # the 8 period effects only (unit effects are nested in the unit clusters)
    n, k = len(frame), len(fit.params)
    periods = frame["t"].nunique()
    rescale = np.sqrt((n - k) / (n - 1 - periods))
    assert ours.std_error == pytest.approx(fit.bse["treated"] * rescale, rel=1e-8)
    # event study: the relative-period coefficients equal a dummy regression's
    study = event_study(panel, leads=2, lags=2)
    adopt = frame[frame["treated"] == 1].groupby("unit")["t"].min()
    relative = (frame["t"] - frame["unit"].map(adopt)).clip(-2, 2)
    for e in (-2, 0, 1, 2):
        frame[f"e{e + 2}"] = (relative == e).astype(float)
    dummies = smf.ols("y ~ e0 + e2 + e3 + e4 + C(unit) + C(t)", frame).fit()
    got = {estimate.name: estimate.estimate for estimate in study.estimates}
    for e in (-2, 0, 1, 2):
        assert got[f"event_{e}"] == pytest.approx(dummies.params[f"e{e + 2}"], abs=1e-8)
    assert 0 <= study.pre_trend_p_value <= 1


@pytest.fixture(scope="module")
def rollout(tmp_path_factory):
    panel = rollout_panel(generate(WORLD), WORLD)
    path = tmp_path_factory.mktemp("did") / "rollout.csv"
    panel.to_csv(path, index=False)
    return panel, path


def _true_simple_att(panel: pd.DataFrame) -> float:
    """The truth aggregated like the estimator: post cells (cohort, week) weighted by cohort size."""
    adopters = panel.dropna(subset=["adoption_week"]).drop_duplicates("account_id")
    sizes = adopters["adoption_week"].value_counts()
    lifts = adopters.groupby("adoption_week")["true_lift"].first()
    cells = [
        (g, t, sizes[g] * 2 * (1 + 0.002 * (7 * t + 3)) * lifts[g])
        for g in sizes.index
        for t in range(int(g), int(panel["week"].max()) + 1)
    ]
    return sum(value for _, _, value in cells) / sum(sizes[g] for g, _, _ in cells)


def _run(path, *extra) -> dict:
    result = runner.invoke(
        app,
        ["did", "--input", str(path), "--unit", "account_id", "--time", "week", "--outcome", "avg_usage",
         "--treat", "treated", "--bootstrap", "199", "--json", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_staggered_rollout_effect_is_recovered(rollout, tmp_path):
    panel, path = rollout
    plot = tmp_path / "event_study.png"
    payload = _run(path, "--plot", str(plot))
    cs = next(r for r in payload["results"] if r["design"] == "callaway_santanna")
    simple = next(e for e in cs["estimates"] if e["name"] == "simple")
    truth = _true_simple_att(panel)
    assert simple["ci_low"] <= truth <= simple["ci_high"], (simple, truth)
    assert simple["ci_low"] > 0  # and it is distinguishable from no effect
    assert set(cs["details"]["cohort_sizes"]) == {"7", "10", "13"}  # three adoption waves
    study = next(r for r in payload["results"] if r["design"] == "event_study")
    assert study["pre_trend_p_value"] > 0.05  # adoption is not random, but trends are parallel
    assert plot.exists() and plot.stat().st_size > 10_000


def test_placebo_adoption_in_the_pre_period_covers_zero(rollout, tmp_path):
    """Only weeks before the first real wave; adopters 'adopt' four weeks early."""
    panel, _ = rollout
    placebo = panel[panel["week"] < panel["adoption_week"].min()].copy()
    placebo["treated"] = (placebo["week"] >= placebo["adoption_week"] - 4).fillna(False).astype(int)
    path = tmp_path / "placebo.csv"
    placebo.to_csv(path, index=False)
    cs = next(r for r in _run(path)["results"] if r["design"] == "callaway_santanna")
    simple = next(e for e in cs["estimates"] if e["name"] == "simple")
    assert simple["ci_low"] <= 0 <= simple["ci_high"], simple


def test_bad_input_is_a_one_line_error(rollout):
    _, path = rollout
    base = ["did", "--input", str(path), "--unit", "account_id", "--time", "week"]
    for extra, message in (
        (["--outcome", "nope", "--treat", "treated"], "not in the panel"),
        (["--outcome", "avg_usage"], "give --group and --post"),
        (["--outcome", "avg_usage", "--group", "treated"], "needs both --group and --post"),
    ):
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 2 and message in result.output, result.output
    missing = runner.invoke(
        app, ["did", "--input", "/nope.csv", "--unit", "u", "--time", "t", "--outcome", "y", "--treat", "d"]
    )
    assert missing.exit_code == 2 and "no such file" in missing.output
