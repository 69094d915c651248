"""Figures of the nightly report (lawn/report.py) and the weekly KPIs (lawn/reports/weekly.py)
against hand counts: the month a "this month" line names, the weeks a baseline may hold, a
flat baseline, and which events make an account active."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd

from lawn.report import weekly_readout
from lawn.report_data import ReportData
from lawn.reports import weekly
from lawn.reports.reader import Reader
from lawn.settings import var


def _empty(*columns: str) -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in columns})


def _report_data(as_of: dt.date, movements: pd.DataFrame) -> ReportData:
    frames = {
        "readouts": _empty(
            "experiment_id", "variant", "metric_name", "metric_role", "absolute_lift", "ci_low", "ci_high",
            "p_value", "is_significant", "is_trustworthy",
        ),
        "automation_lift": _empty("rule_id", "outcome_name", "lift", "p_value", "p_value_bh",
                                  "is_outcome_higher_better"),
        "slo_latest": _empty("slo_id", "status", "severity", "metric_value", "threshold"),
        "root_causes": _empty("slo_id", "dimension_name", "dimension_value", "contribution", "adverse_rank"),
        "monitoring": _empty("model_version", "is_shadow", "check_name", "is_flagged", "slice_dimension"),
        "quality": _empty("data_quality_score"),
        "movements": movements,
    }  # fmt: skip
    return ReportData(as_of, frames)


def test_this_months_mrr_is_the_data_days_month_not_the_newest_month_with_a_movement():
    """April 1st with no movement yet in April: +0, not March's +947 (the probe's world)."""
    march = pd.DataFrame(
        {
            "month_start": [pd.Timestamp("2026-03-01")] * 3,
            "movement_type": ["new", "expansion", "churn"],
            "movement_usd": [597.0, 350.0, -49.0],
            "accounts": [3, 1, 1],
        }
    )
    wins, risks = weekly_readout(_report_data(dt.date(2026, 4, 1), march))
    assert "new, expansion and reactivation MRR this month: +0 USD" in wins
    assert not any("churned MRR" in risk for risk in risks)
    wins, risks = weekly_readout(_report_data(dt.date(2026, 3, 31), march))
    assert "new, expansion and reactivation MRR this month: +947 USD" in wins
    assert "churned MRR this month: -49 USD" in risks


def _weeks(values: list[int], observed: list[bool]) -> pd.DataFrame:
    frame = pd.DataFrame({"weeks_back": range(len(values)), "observed": observed})
    for name in weekly.KPIS:
        frame[name] = values
    return frame


def test_weeks_before_the_data_start_are_no_baseline():
    """Data from the middle of week 2 back: weeks 3 and 4 read 0 events because the data did not
    exist yet; the baseline is weeks 1 and 2 alone (mean 4.5, sd 0.707: z (4 - 4.5) / 0.707)."""
    kpis = weekly.movements(_weeks([4, 5, 4, 0, 0], [True, True, False, False, False]))
    row = kpis.iloc[0]
    assert row.baseline_weeks == 1 and math.isnan(row.z)  # one week: no sd
    kpis = weekly.movements(_weeks([4, 5, 4, 0, 0], [True, True, True, False, False]))
    row = kpis.iloc[0]
    base = pd.Series([5.0, 4.0])
    assert row.baseline_weeks == 2 and row.baseline_mean == base.mean()
    assert math.isclose(row.z, (4 - base.mean()) / base.std(ddof=1))
    # a week that itself begins before the data start gets no z
    kpis = weekly.movements(_weeks([4, 0, 0, 0, 0], [False, False, False, False, False]))
    assert kpis["z"].isna().all()


def test_a_change_over_a_flat_baseline_is_a_movement():
    """Errors 4 this week against 1, 1, 1, 1: a sd of 0, so any change is infinitely many."""
    kpis = weekly.movements(_weeks([4, 1, 1, 1, 1], [True] * 5))
    errors = kpis.set_index("kpi").loc["errors shown"]
    assert errors.z == math.inf and errors.baseline_sd == 0
    same = weekly.movements(_weeks([1, 1, 1, 1, 1], [True] * 5))
    assert (same["z"] == 0).all()
    assert weekly.z_score(0, pd.Series([1.0, 1.0])) == -math.inf


def test_active_accounts_count_the_projects_activity_events_only(tmp_path):
    """The weekly KPI reads the dbt var activity_event_names, the list retention uses: an
    account whose only event of the week is a cancellation or a paid invoice is not active.
    Checked on a small warehouse against a pandas count of the same rows."""
    as_of = dt.date(2026, 4, 12)
    rows = [  # (event, days before as_of, account)
        ("logged_in", 0, "a"), ("feature_used", 2, "b"), ("subscription_canceled", 1, "c"),
        ("invoice_paid", 3, "d"), ("invoice_paid", 3, "a"), ("logged_in", 8, "c"), ("plan_changed", 9, "d"),
    ]  # fmt: skip
    events = pd.DataFrame(
        {
            "event_name": [r[0] for r in rows],
            "occurred_date": [as_of - dt.timedelta(days=r[1]) for r in rows],
            "received_at": [pd.Timestamp(as_of - dt.timedelta(days=r[1])) for r in rows],
            "account_id": [r[2] for r in rows],
            "properties": ["{}"] * len(rows),
        }
    )
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_events as select * from events")
        con.execute(
            "create table marts.fct_data_day as select ?::date as data_day, ?::date as data_start_date",
            [as_of, as_of - dt.timedelta(days=60)],
        )
    active = events[events["event_name"].isin(var("activity_event_names"))]
    week_of = (pd.Timestamp(as_of) - pd.to_datetime(active["occurred_date"])).dt.days // 7
    expected = active.groupby(week_of)["account_id"].nunique()
    assert list(expected.items()) == [(0, 2), (1, 1)]  # a, b; then c (d only paid or changed plan)
    with duckdb.connect(str(db), read_only=True) as con:
        reader = Reader(con, as_of, as_of - dt.timedelta(days=6), tmp_path, tmp_path, tmp_path)
        weeks = weekly.kpi_weeks(reader)
    counted = weeks.set_index("weeks_back")["active accounts"]
    assert counted[0] == expected[0] and counted[1] == expected[1] and counted[2] == 0
    assert weeks["observed"].all()


def test_the_monthly_report_of_a_warehouse_never_monitored_says_so(tmp_path):
    """After a night whose score step failed (or a feed too young for a churn model), the
    monitoring mart was never built: the monthly report says there is no monitoring (exit 0)
    instead of failing on the missing table."""
    from typer.testing import CliRunner

    from lawn.cli import app
    from tests_py import cadence_fixture as fx

    db = fx.write_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("drop table marts.fct_model_monitoring")
    result = CliRunner().invoke(
        app,
        ["report", "--cadence", "monthly", "--as-of", str(fx.AS_OF), "--out", str(tmp_path / "out"),
         "--db", str(db), "--model-store", str(fx.write_model_store(tmp_path / "store")),
         "--manifest", str(fx.write_manifest(tmp_path / "manifest.json")),
         "--catalog", str(fx.write_dictionary(tmp_path / "data_dictionary.csv"))],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "monthly" / str(fx.AS_OF) / "report.md").read_text()
    assert page.count("No churn-model monitoring on or before the as-of day.") == 3
