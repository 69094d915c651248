"""`lawn did` on the small panels a black-box probe broke it with: unit ids spelled like
missing values, exact fits, a singular lead covariance, a lost only-treated unit, no
never-treated unit, and a bad --leads. Figures are checked against pyfixest (fixest's
feols), numpy on pyfixest's covariance, and csdid (the Python port of R did)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from lawn.cli import app
from lawn.did import prepare_panel, wald_on_rank
from lawn.did_staggered import callaway_santanna

pf = pytest.importorskip("pyfixest")
runner = CliRunner()

# one treated unit (a, from 2003) and one comparison unit: the event study's unit and period
# effects and event dummies reproduce every outcome
TWO = (
    "id,year,y,d\na,2001,1.0,0\na,2002,2.0,0\na,2003,5.0,1\na,2004,6.5,1\n"
    "b,2001,1.5,0\nb,2002,2.2,0\nb,2003,3.1,0\nb,2004,3.9,0\n"
)
# the same plus two comparison units
BASE = TWO + (
    "c,2001,0.7,0\nc,2002,1.9,0\nc,2003,2.6,0\nc,2004,4.2,0\n"
    "d,2001,1.1,0\nd,2002,1.8,0\nd,2003,3.3,0\nd,2004,4.0,0\n"
)
NA_WORDS = ["NA", "N/A", "NULL", "None", "nan", "null", "#N/A"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _did(path: Path, *extra: str, unit: str = "id", time: str = "year", outcome: str = "y", treat: str = "d"):
    return runner.invoke(
        app,
        ["did", "--input", str(path), "--unit", unit, "--time", time, "--outcome", outcome, "--treat", treat,
         *extra],
    )  # fmt: skip


def _payload(path: Path, *extra: str, **names: str) -> dict:
    result = _did(path, "--json", *extra, **names)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _design(payload: dict, design: str) -> dict:
    return next(r for r in payload["results"] if r["design"] == design)


def _quiet_feols(formula: str, data: pd.DataFrame, vcov):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov=vcov)


# ---------------------------------------------------------------- 1. NA words as unit ids


def test_unit_ids_spelled_like_missing_values_are_units(tmp_path):
    """Namibia's `NA`, and `N/A`, `NULL`, `None`, `nan`, `null`, `#N/A` as unit ids: every one is
    a unit (pandas' default NA words used to drop them). TWFE equals pyfixest on the frame built
    here in Python (no CSV reader involved)."""
    rng = np.random.default_rng(7)
    rows = []
    for i, unit in enumerate(NA_WORDS):
        level = rng.normal()
        for year in range(2001, 2006):
            treated = int(i < 3 and year >= 2003 + i % 2)
            y = round(level + 0.3 * (year - 2000) + 1.5 * treated + rng.normal(), 6)
            rows.append((unit, year, y, treated))
    frame = pd.DataFrame(rows, columns=["id", "year", "y", "d"])
    path = _write(tmp_path, "na_units.csv", frame.to_csv(index=False))
    assert "NA," in path.read_text()  # the ids are written as the bare words
    twfe = _design(_payload(path, "--estimator", "twfe"), "twfe")
    assert twfe["units"] == len(NA_WORDS) and twfe["observations"] == len(frame)
    assert not any("left out" in w for w in twfe["warnings"])
    fit = _quiet_feols("y ~ d | id + year", frame, {"CRV1": "id"})
    estimate = twfe["estimates"][0]
    assert estimate["estimate"] == pytest.approx(fit.coef()["d"], abs=1e-10)
    assert estimate["std_error"] == pytest.approx(fit.se()["d"], rel=1e-8)


def test_missing_words_in_the_outcome_and_flag_are_missing_but_not_in_the_period(tmp_path):
    """`NA`, `#N/A`, `null` in the outcome or the 0/1 column: the row is left out (counted);
    the estimate equals pyfixest on the panel without those rows. `NA` as a period is a label
    that cannot be ordered: refused naming it."""
    frame = pd.read_csv(io.StringIO(BASE))
    spelled = frame.astype(str)
    spelled.loc[5, "y"] = "NA"  # b 2002
    spelled.loc[10, "y"] = " #N/A "  # c 2003, with a spreadsheet's padding
    spelled.loc[13, "d"] = "null"  # d 2002
    path = _write(tmp_path, "holes.csv", spelled.to_csv(index=False))
    twfe = _design(_payload(path, "--estimator", "twfe", "--se", "iid"), "twfe")
    assert any("3 row(s) left out for a missing value (y: 2, d: 1)" in w for w in twfe["warnings"])
    kept = frame.drop(index=[5, 10, 13])
    fit = _quiet_feols("y ~ d | id + year", kept, "iid")
    assert twfe["observations"] == len(kept)
    assert twfe["estimates"][0]["estimate"] == pytest.approx(fit.coef()["d"], abs=1e-10)
    assert twfe["estimates"][0]["std_error"] == pytest.approx(fit.se()["d"], rel=1e-8)
    period = frame.astype(str)
    period.loc[6, "year"] = "NA"
    bad = _did(_write(tmp_path, "na_period.csv", period.to_csv(index=False)))
    assert bad.exit_code == 2 and "'NA'" in bad.output and "cannot order the periods of year" in bad.output


def test_every_estimator_failing_still_says_which_rows_were_left_out(tmp_path):
    """The only treated unit's treated outcomes are blank: every estimator fails, and the one-line
    error also gives the input warning (it is the reason)."""
    text = BASE.replace("a,2003,5.0,1", "a,2003,,1").replace("a,2004,6.5,1", "a,2004,,1")
    result = _did(_write(tmp_path, "lost.csv", text))
    assert result.exit_code == 2
    assert "2 row(s) left out for a missing value (y: 2); the first at line 4 of lost.csv" in result.output
    assert "twfe: treat never varies" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- 2. degenerate fits


def test_exact_fit_has_no_inference(tmp_path):
    """One treated and one comparison unit: pyfixest's event-study residuals are zero (an exact
    fit), so lawn shows the coefficients (equal to pyfixest's) with no se, interval, p or
    pre-trend F (it used to print F = -1.3e+58 and se 5.9e-15 with p 1.8e-15)."""
    path = _write(tmp_path, "two.csv", TWO)
    payload = _payload(path)
    frame = pd.read_csv(path)
    frame["rel"] = np.where(frame["id"] == "a", frame["year"] - 2003, -1)
    fit = _quiet_feols("y ~ i(rel, ref=-1) | id + year", frame, {"CRV1": "id"})
    assert np.abs(fit.resid()).max() < 1e-9 * np.abs(frame["y"]).max()  # exact, by fixest
    study = _design(payload, "event_study")
    got = {e["event"]: e for e in study["estimates"]}
    assert sorted(got) == [-2, 0, 1]
    for event, estimate in got.items():
        assert estimate["estimate"] == pytest.approx(fit.coef()[f"rel::{event}"], abs=1e-9)
        assert (estimate["std_error"], estimate["ci_low"], estimate["ci_high"], estimate["p_value"]) == (
            None, None, None, None,
        )  # fmt: skip
    assert study["pre_trend_f"] is None and study["pre_trend_p_value"] is None
    assert study["details"]["exact_fit"] is True and any("exact fit" in w for w in study["warnings"])
    # TWFE: residuals are not zero, but with two clusters the CRV1 variance is (fixest agrees)
    twfe = _design(payload, "twfe")
    fit = _quiet_feols("y ~ d | id + year", frame, {"CRV1": "id"})
    assert twfe["estimates"][0]["estimate"] == pytest.approx(fit.coef()["d"], abs=1e-12)
    assert fit.se()["d"] < 1e-12 * abs(fit.coef()["d"])
    assert twfe["estimates"][0]["std_error"] is None and twfe["estimates"][0]["p_value"] is None
    assert any("no standard error for treat" in w for w in twfe["warnings"])
    text = _did(path)
    assert text.exit_code == 0 and "F = -" not in text.output and "se -" in text.output


def test_callaway_santanna_zero_variance_has_no_interval():
    """CS on the same panel: each cell compares one treated with one comparison unit, so the
    influence functions are zero and there is no standard error (it printed se 0 and a
    zero-width interval). The cells equal the differences of changes computed here by hand."""
    frame = pd.read_csv(io.StringIO(TWO))
    ours = callaway_santanna(prepare_panel(frame, "id", "year", "y", {"treat": "d"}))
    wide = frame.pivot(index="year", columns="id", values="y")
    by_hand = {  # varying base: t-1 before 2003, 2002 from 2003 on
        2002: (wide.loc[2002, "a"] - wide.loc[2001, "a"]) - (wide.loc[2002, "b"] - wide.loc[2001, "b"]),
        2003: (wide.loc[2003, "a"] - wide.loc[2002, "a"]) - (wide.loc[2003, "b"] - wide.loc[2002, "b"]),
        2004: (wide.loc[2004, "a"] - wide.loc[2002, "a"]) - (wide.loc[2004, "b"] - wide.loc[2002, "b"]),
    }
    cells = {e.period: e for e in ours.estimates if e.kind == "att_gt"}
    assert {t: cells[t].estimate for t in cells} == pytest.approx(by_hand, abs=1e-12)
    assert all(e.std_error is None and e.ci_low is None and e.p_value is None for e in ours.estimates)
    assert any("no standard error for 13 estimate(s)" in w for w in ours.warnings)


def test_callaway_santanna_zero_variance_is_na_in_csdid_too():
    """csdid (R did) needs five never-treated units: the comparison unit copied at shifted levels
    (the same changes, so still no variation). csdid's standard errors are NaN or at rounding
    level (7.9e-17: it only drops an exact 0; R did drops se <= 10 sqrt(eps)); lawn reports
    none."""
    from csdid.att_gt import ATTgt

    frame = pd.read_csv(io.StringIO(TWO))
    copies = [frame[frame["id"] == "b"].assign(id=f"b{k}", y=lambda x, k=k: x["y"] + k) for k in range(1, 5)]
    frame = pd.concat([frame, *copies], ignore_index=True)
    ours = callaway_santanna(prepare_panel(frame, "id", "year", "y", {"treat": "d"}))
    frame["g"] = np.where(frame["id"] == "a", 2003, 0)
    frame["sid"] = frame["id"].factorize()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ATTgt(yname="y", tname="year", idname="sid", gname="g", data=frame,
                      control_group=["nevertreated"]).fit(est_method="dr", bstrap=False)  # fmt: skip
    cells = [e for e in ours.estimates if e.kind == "att_gt"]
    assert [e.estimate for e in cells] == pytest.approx(list(model.results["att"]), abs=1e-12)
    theirs = np.nan_to_num(np.asarray(model.results["se"], dtype=float))
    assert (theirs < 1e-12 * frame["y"].abs().max()).all()
    assert all(e.std_error is None for e in cells)


# ---------------------------------------------------------------- 3. singular lead covariance

SING = """unit,period,y,treated
A,1,-1.926,0
A,2,-0.65,0
A,3,0.219,0
A,4,1.134,0
A,5,0.308,0
A,6,1.345,1
A,7,1.313,1
A,8,3.047,1
B,1,2.108,0
B,2,0.801,0
B,3,1.277,0
B,4,4.035,0
B,5,2.838,0
B,6,1.103,0
B,7,2.951,0
B,8,2.072,0
C,1,-0.917,0
C,2,-0.943,0
C,3,0.524,0
C,4,0.108,0
C,5,-0.219,0
C,6,0.98,0
C,7,1.601,0
C,8,-0.672,0
"""


def test_pre_trend_test_uses_the_rank_of_the_leads_covariance(tmp_path):
    """Three clusters, one treated: the CRV1 covariance of the three leads has rank 1. The test is
    the Wald statistic on the estimable restriction over 1, F(1, G - 1), computed here with numpy
    from pyfixest's covariance (an SVD, not lawn's eigendecomposition)."""
    path = _write(tmp_path, "sing.csv", SING)
    payload = _payload(path, "--estimator", "event-study", unit="unit", time="period", treat="treated")
    study = _design(payload, "event_study")
    frame = pd.read_csv(path)
    frame["rel"] = np.where(frame["unit"] == "A", (frame["period"] - 6).clip(lower=-4, upper=4), -1)
    fit = _quiet_feols("y ~ i(rel, ref=-1) | unit + period", frame, {"CRV1": "unit"})
    names = list(fit.coef().index)
    lead = [names.index(f"rel::{e}") for e in (-4, -3, -2)]
    b, v = fit.coef().iloc[lead].to_numpy(), fit._vcov[np.ix_(lead, lead)]
    u, s, _ = np.linalg.svd(v)
    rank = int(np.linalg.matrix_rank(v, rtol=1e-10))
    assert rank == 1
    wald = float(np.sum((u[:, :rank].T @ b) ** 2 / s[:rank]))
    df = frame["unit"].nunique() - 1
    assert study["pre_trend_f"] == pytest.approx(wald / rank, rel=1e-8)
    assert study["pre_trend_p_value"] == pytest.approx(float(stats.f.sf(wald / rank, rank, df)), rel=1e-8)
    details = study["details"]
    assert details["pre_trend_leads"] == 3 and details["pre_trend_testable"] == 1
    assert details["pre_trend_df"] == [1, 2]
    text = _did(path, "--estimator", "event-study", unit="unit", time="period", treat="treated")
    assert "joint pre-trend test (3 leads, 1 testable): F(1, 2) =" in text.output


def test_wald_on_rank_is_never_negative_and_equals_the_full_rank_wald():
    """A covariance with rounding-level negative eigenvalues gives a nonnegative statistic on its
    rank; a full-rank one gives b' V^-1 b (numpy solve)."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 4))
    full = a @ a.T
    b = rng.normal(size=4)
    wald, rank = wald_on_rank(b, full)
    assert rank == 4 and wald == pytest.approx(float(b @ np.linalg.solve(full, b)), rel=1e-10)
    direction = rng.normal(size=4)
    singular = np.outer(direction, direction) + np.diag([-1e-15, 1e-16, -3e-16, 0.0])
    wald, rank = wald_on_rank(b, singular)
    assert rank == 1 and wald >= 0
    assert wald == pytest.approx(float(direction @ b) ** 2 / float(direction @ direction) ** 2, rel=1e-8)


# ---------------------------------------------------------------- 4. the only treated unit lost


def test_cs_says_why_no_treated_unit_is_left(tmp_path):
    """The only treated unit is not observed before its first treated period: CS gives that reason
    (as the event study does), not "no unit is treated after the first period"."""
    path = _write(tmp_path, "miss.csv", BASE.replace("a,2002,2.0,0", "a,2002,,0"))
    result = _did(path, "--estimator", "cs")
    assert result.exit_code == 2, result.output
    assert "no treated unit is left" in result.output and "'a'" in result.output
    assert "period just before their first treated one" in result.output
    assert "no unit is treated after the first period" not in result.output


# ---------------------------------------------------------------- 5. no never-treated unit


def _no_never_treated_panel() -> pd.DataFrame:
    """Cohorts 3, 5 and 7, three units each, periods 1..8; no unit is never treated."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(9):
        adopt = (3, 5, 7)[i // 3]
        level = rng.normal()
        for t in range(1, 9):
            y = level + 0.2 * t + 1.5 * (t >= adopt) + rng.normal()
            rows.append((f"u{i}", t, y, int(t >= adopt), adopt))
    return pd.DataFrame(rows, columns=["unit", "month", "sales", "treated", "g"])


@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_no_never_treated_unit_uses_the_last_cohort_as_comparison_only(base_period):
    """R did (pre_process_did) and csdid: with no never-treated unit and not-yet-treated controls,
    the last cohort is a comparison group only and periods from its adoption on are dropped.
    Every ATT(g,t) and event-time aggregate equals csdid's, and no cell of cohort 7 is made."""
    from csdid.att_gt import ATTgt

    frame = _no_never_treated_panel()
    ours = callaway_santanna(
        prepare_panel(frame, "unit", "month", "sales", {"treat": "treated"}), "not_yet_treated", base_period
    )
    by_name = {e.name: e for e in ours.estimates}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ATTgt(yname="sales", tname="month", idname="uid", gname="g",
                      data=frame.assign(uid=frame["unit"].factorize()[0]),
                      control_group=["notyettreated"]).fit(est_method="dr", base_period=base_period,
                                                           bstrap=False)  # fmt: skip
    results = model.results
    cells = [e for e in ours.estimates if e.kind == "att_gt"]
    assert len(cells) == len(results["att"]) and not [e for e in cells if e.group == 7]
    for g, t, att, se in zip(results["group"], results["year"], results["att"], results["se"], strict=True):
        cell = by_name[f"att(g={int(g)},t={int(t)})"]
        assert cell.estimate == pytest.approx(att, abs=1e-10)
        if np.isfinite(se):
            assert cell.std_error == pytest.approx(se, abs=1e-8)
        else:  # universal base: the reference cell
            assert cell.std_error is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.aggte(typec="dynamic", bstrap=False)
    events = {int(e): (att, se) for e, att, se in zip(model.atte["egt"], model.atte["att_egt"],
                                                       model.atte["se_egt"], strict=True)}  # fmt: skip
    ours_events = {e.event: e for e in ours.estimates if e.kind == "dynamic"}
    assert sorted(ours_events) == sorted(events)
    for event, (att, se) in events.items():
        assert ours_events[event].estimate == pytest.approx(att, abs=1e-10)
        if np.isfinite(se):
            assert ours_events[event].std_error == pytest.approx(se, abs=1e-8)
    assert ours.periods == 6
    assert any("the last cohort (7) is the comparison group only" in w for w in ours.warnings)


def test_no_never_treated_unit_and_one_cohort_is_refused(tmp_path):
    frame = _no_never_treated_panel()
    frame["treated"] = (frame["month"] >= 5).astype(int)
    path = _write(tmp_path, "one_cohort.csv", frame.to_csv(index=False))
    result = _did(path, "--estimator", "cs", "--control", "not_yet_treated",
                  unit="unit", time="month", outcome="sales", treat="treated")  # fmt: skip
    assert result.exit_code == 2 and "no comparison group" in result.output, result.output


# ---------------------------------------------------------------- 8. options checked up front


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--leads", "0"], "--leads must be at least 1"),
        (["--lags", "-1"], "--lags must be at least 0"),
        (["--bootstrap", "-5"], "--bootstrap must be 0"),
    ],
)
def test_bad_event_study_options_exit_2(tmp_path, extra, message):
    result = _did(_write(tmp_path, "base.csv", BASE), *extra)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "failed" not in result.output
