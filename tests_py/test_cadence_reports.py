"""Cadence reports (`lawn report --cadence`, lawn/reports/): figures against pandas and planted
truths on a hand-written warehouse (tests_py/cadence_fixture.py), reproduction of a past day
after later data arrived, one-line errors, headless Chromium; then the same on the small world
through two `lawn nightly` runs."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.reports import asof, governance
from lawn.reports.run import build_report, write_cadence_report
from tests_py import cadence_fixture as fx

CADENCES = ("daily", "weekly", "monthly", "quarterly")
PLOTS = {"daily": 4, "weekly": 3, "monthly": 3, "quarterly": 2}  # the fixture has one rollout
CHROMIUM = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def fixture_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cadence_fixture")
    db = fx.write_warehouse(root / "w.duckdb")
    store = fx.write_model_store(root / "store")
    manifest = fx.write_manifest(root / "manifest.json")
    out = root / "out"
    paths = {c: write_cadence_report(db, c, None, out, store, manifest) for c in CADENCES}
    return {"db": db, "store": store, "manifest": manifest, "out": out, "paths": paths, "root": root}


def _md(world: dict, cadence: str) -> str:
    return world["paths"][cadence][1].read_text()


def md_table(markdown: str, heading: str) -> pd.DataFrame:
    """The first Markdown table after the heading (## or ###) named ``heading``, as text."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(rf"#+ {re.escape(heading)}", line))
    first = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("|"))
    rows = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return pd.DataFrame(rows[2:], columns=rows[0])


def bullets(markdown: str, heading: str) -> list[str]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line == f"### {heading}")
    out = []
    for line in lines[start + 2 :]:
        if not line.startswith("- "):
            break
        out.append(line[2:])
    return out


def _num(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column.replace("-", np.nan)).to_numpy(float)


# ---------------------------------------------------------------- hand-written warehouse


def test_daily_figures_equal_pandas_on_the_fixture(fixture_world):
    md = _md(fixture_world, "daily")
    funnel = md_table(md, "Funnel health")
    act = fx.activation()
    act = act[act["entity_type"] == "account"]
    anchor, reached = pd.to_datetime(act["anchor_date"]), pd.to_datetime(act["reached_at"])
    as_of = fx.D
    for row in funnel.itertuples():
        step = act["milestone_name"] == row.step_name
        cur = step & (anchor > as_of - pd.Timedelta(days=28)) & (anchor <= as_of)
        prev = step & (anchor > as_of - pd.Timedelta(days=56)) & (anchor <= as_of - pd.Timedelta(days=28))
        cur_share = (cur & (reached.dt.normalize() <= as_of)).sum() / cur.sum()
        prev_share = (prev & (reached.dt.normalize() <= as_of - pd.Timedelta(days=28))).sum() / prev.sum()
        assert float(row.current_share) == pytest.approx(cur_share, abs=5e-4)
        assert float(row.previous_share) == pytest.approx(prev_share, abs=5e-4)
    # planted: 4 of 10 new accounts sent an invoice by the as-of day (1 more after it); 3 of 5 before
    assert list(funnel["current_share"]) == ["1.000", "0.400"] and list(funnel["previous_share"]) == ["1.000", "0.600"]
    runs = md_table(md, "Failed runs")
    assert list(runs["run_id"]) == ["r3", "r4"]  # r1 is older than 7 data days, r5 is the running one
    assert "- running on the as-of day: 1" in md and "- planned (registered, not started): 1" in md
    experiments = md_table(md, "Experiment velocity")
    assert dict(zip(experiments["experiment_id"], experiments["units_exposed"], strict=True)) == {
        "exp_a": "6", "exp_b": "3", "exp_c": "0"}  # fmt: skip
    dq = md_table(md, "Data quality")
    frame = fx.data_quality()
    frame = frame[pd.to_datetime(frame["received_date"]) > as_of - pd.Timedelta(days=14)]
    expected = frame.groupby("received_date")[["first_delivery_count", "valid_count", "attributed_count"]].sum()
    assert list(dq["received_date"]) == [str(d) for d in expected.index]
    assert np.allclose(_num(dq["data_quality_score"]), expected["attributed_count"] / expected["first_delivery_count"],
                       atol=5e-4)  # fmt: skip
    assert "2 of 14 below the data quality target" in md


def test_weekly_ranking_feedback_rollout_and_qa(fixture_world):
    md = _md(fixture_world, "weekly")
    # the ranking rule: tier (SLO, experiment, movement), then magnitude, then text
    assert bullets(md, "Top 3 risks") == [
        "SLO act (error) breached on 3 day(s) this week",
        "exp_a (treatment) moved tickets (guardrail) by +0.400 [+0.100, +0.700]",
    ]
    wins = bullets(md, "Top 3 wins")
    assert wins[0] == "exp_a (treatment) moved conversion (primary) by +0.050 [+0.020, +0.080]"
    assert len(wins) == 3 and all("(z +" in w for w in wins[1:])  # movements come third
    events = fx.events()
    events["weeks_back"] = (fx.D - pd.to_datetime(events["occurred_date"])).dt.days // 7
    kpis = md_table(md, "Weekly KPIs vs the 4 weeks before").set_index("kpi")
    weekly = events[events["weeks_back"].between(0, 4)]
    for name, series in {
        "active accounts": weekly.groupby("weeks_back")["account_id"].nunique(),
        "signups": weekly[weekly["event_name"] == "signed_up"].groupby("weeks_back").size(),
        "support tickets": weekly[weekly["event_name"] == "support_ticket_created"].groupby("weeks_back").size(),
    }.items():
        series = series.reindex(range(5), fill_value=0)
        z = (series[0] - series[1:].mean()) / series[1:].std(ddof=1)
        assert int(kpis.loc[name, "this_week"]) == series[0]
        assert float(kpis.loc[name, "z"]) == pytest.approx(z, abs=5e-4)
    assert float(kpis.loc["signups", "z"]) == pytest.approx(10 / np.std([9, 10, 11, 10], ddof=1), abs=5e-4)
    # planted: NPS 40 over the last 28 days (10, 9, 9, 7, 3), -25 before (10, 2, 5, 8)
    nps = md_table(md, "NPS").set_index("period")
    assert nps.loc["last 28 days", "nps"] == "40.000" and nps.loc["the 28 days before", "nps"] == "-25.000"
    tickets = md_table(md, "Support tickets by theme").set_index("theme")
    raised = events[events["event_name"] == "support_ticket_created"].assign(
        theme=lambda f: f["properties"].map(lambda p: json.loads(p)["topic"]))  # fmt: skip
    for theme, rows in raised.groupby("theme"):
        assert int(tickets.loc[theme, "this_week"]) == (rows["weeks_back"] == 0).sum()
        assert float(tickets.loc[theme, "weekly_mean_before"]) == pytest.approx(
            rows["weeks_back"].between(1, 4).sum() / 4, abs=5e-4)  # fmt: skip
    # planted: the outcome jumps by exactly 1.5 when an account adopts (parallel trends hold exactly)
    effects = md_table(md, "smart_reminders: 4 accounts adopted")
    assert list(effects["kind"]) == ["simple", "group", "group"] and set(effects["estimate"]) == {"1.500"}
    qa = md_table(md, "Instrumentation QA")
    assert list(qa["flag_reason"]) == ["volume_drop", "stopped"]  # the spike of 06-01 is last week's


def test_monthly_model_review(fixture_world):
    md = _md(fixture_world, "monthly")
    assert "Live model v2, monitored on 2026-06-15" in md  # v2's run is the day's last; v3 is shadow
    auc = md_table(md, "Model performance by cohort and segment")
    frame = fx.monitoring()
    live = frame[(frame["model_version"] == "v2") & (frame["as_of_date"] == fx.AS_OF) & (frame["check_name"] == "auc")]
    live = live.sort_values(["slice_dimension", "slice_value"])
    assert list(auc["slice_value"]) == list(live["slice_value"])
    assert np.allclose(_num(auc["metric_value"]), live["metric_value"])
    drift = md_table(md, "Drift")
    assert list(drift["is_flagged"]) == ["yes", "no"] and "1 of 2 features drifted" in md
    incidents = md_table(md, "Data-quality incidents")
    assert incidents[["start_date", "end_date", "days"]].values.tolist() == [
        ["2026-06-01", "2026-06-02", "2"], ["2026-06-08", "2026-06-08", "1"]]  # fmt: skip
    assert "Live model on 2026-05-15: v1; on 2026-06-15: v2." in md
    assert "-- Test AUC: 0.700\n+- Test AUC: 0.720" in md


def test_quarterly_slo_review_and_catalog_completeness(fixture_world):
    md = _md(fixture_world, "quarterly")
    review = md_table(md, "SLO review").set_index("slo_id")
    slo = fx.slo_status()
    act = slo[slo["slo_id"] == "act"]
    assert int(review.loc["act", "breach_days"]) == (act["status"] == "breach").sum() == 8
    assert int(review.loc["act", "evaluated_days"]) == act["status"].isin(["pass", "breach"]).sum()
    # planted: breaches 04-10..04-14 (recovered 04-15) and 06-10..06-12 (recovered 06-13)
    assert review.loc["act", ["episodes", "recovered", "ongoing"]].tolist() == ["2", "2", "0"]
    assert review.loc["act", "mean_days_to_recover"] == "4.000" and review.loc["act", "max_days_to_recover"] == "5"
    assert review.loc["conv", "revisit"] == "never close to its threshold" and "- conv: never close" in md
    catalog = md_table(md, "Governance: catalog completeness").set_index("layer")
    # planted: 5 lawn model columns, 4 described, owner on 2 (one via config.meta), purpose 1, data_class 1
    assert catalog.loc["all", ["columns", "share_with_description", "share_with_owner", "share_with_purpose",
                               "share_with_data_class", "share_with_pii"]].tolist() == [
        "5", "0.800", "0.400", "0.200", "0.200", "0.000"]  # fmt: skip
    assert set(governance.META_KEYS) >= {"owner", "purpose", "data_class"}


def test_as_of_reproduces_a_past_report_after_later_data(fixture_world, tmp_path):
    """Render a day, add ten later days (new events, late deliveries of old days, a new model,
    more runs and SLO days, a changed manifest), re-render that day: the same bytes."""
    root = tmp_path / "w"
    shutil.copytree(fixture_world["root"], root, ignore=shutil.ignore_patterns("*.wal"))
    db, out = root / "w.duckdb", root / "out"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(before) == 4 * 2 + sum(PLOTS.values()) + 1  # + the catalog snapshot
    fx.add_later_data(db)
    fx.write_manifest(root / "manifest.json")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["nodes"]["model.lawn.fct_b"]["columns"]["c"]["meta"] = {"owner": "x", "data_class": "y"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    runner = CliRunner()
    for cadence in CADENCES:
        result = runner.invoke(app, ["report", "--cadence", cadence, "--as-of", str(fx.AS_OF), "--out", str(out),
                                     "--db", str(db), "--model-store", str(root / "store"),
                                     "--manifest", str(root / "manifest.json")])  # fmt: skip
        assert result.exit_code == 0, result.output
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()
    changed = [str(path) for path in before if before[path] != after[path]]
    assert not changed, changed
    # ...and the later data is there: the new data day's reports differ from the past day's
    later = {c: build_report(db, c, None, tmp_path / "later", root / "store", root / "manifest.json") for c in CADENCES}
    assert all(report.as_of == fx.day(10) for report in later.values())
    newer = write_cadence_report(db, "weekly", fx.day(7), tmp_path / "later", root / "store", root / "manifest.json")
    assert newer[1].read_text() != before[Path("weekly") / str(fx.AS_OF) / "report.md"].decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cadence", "hourly"], "--cadence must be one of daily, weekly, monthly, quarterly; got 'hourly'"),
        (["--as-of", "2026-02-30"], "--as-of must be a date YYYY-MM-DD; got '2026-02-30'"),
        (["--as-of", "15/06/2026"], "--as-of must be a date YYYY-MM-DD; got '15/06/2026'"),
        (["--as-of", "2026-7-1"], "--as-of must be a date YYYY-MM-DD; got '2026-7-1'"),
        (["--as-of", "2026-06-16"], "--as-of 2026-06-16 is after the warehouse's data day 2026-06-15"),
    ],
)
def test_bad_cadence_or_as_of_is_one_line_exit_2(fixture_world, tmp_path, args, message):
    result = CliRunner().invoke(app, ["report", "--db", str(fixture_world["db"]), "--out", str(tmp_path), *args],
                                env={"COLUMNS": "300"})  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"error: {message}"
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_missing_warehouse_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["report", "--db", str(tmp_path / "no.duckdb"), "--out", str(tmp_path)],
                                env={"COLUMNS": "300"})  # fmt: skip
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "no such warehouse" in result.output


def test_due_cadences_follow_the_data_day():
    assert asof.due_cadences(dt.date(2026, 6, 15)) == ["daily", "weekly"]  # a Monday
    assert asof.due_cadences(dt.date(2026, 6, 16)) == ["daily"]
    assert asof.due_cadences(dt.date(2026, 8, 1)) == ["daily", "monthly"]  # a Saturday
    assert asof.due_cadences(dt.date(2026, 7, 1)) == ["daily", "monthly", "quarterly"]
    assert asof.due_cadences(dt.date(2027, 2, 1)) == ["daily", "weekly", "monthly"]  # a Monday, the 1st
    assert asof.period_start("monthly", dt.date(2026, 3, 31)) == dt.date(2026, 3, 1)
    assert asof.period_start("quarterly", dt.date(2026, 6, 15)) == dt.date(2026, 3, 16)


def render_in_chromium(html_path: Path, profile: Path) -> tuple[int, int, str]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: scripts/setup.sh installs it (apt-get install chromium)"
    dom = subprocess.run([chromium, *CHROMIUM, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                          "--dump-dom", html_path.as_uri()], capture_output=True, text=True, timeout=120)  # fmt: skip
    check = re.search(r'id="render-check" data-drawn="(\d+)" data-plots="(\d+)"', dom.stdout)
    assert check, dom.stdout[:500] + dom.stderr[-500:]
    return int(check.group(1)), int(check.group(2)), dom.stdout


def _check_rendered(html_path: Path, profile: Path, plots: int | None = None) -> None:
    drawn, total, dom = render_in_chromium(html_path, profile)
    assert drawn == total > 0 and dom.count('data-drawn="yes"') == total
    if plots is not None:
        assert total == plots
    markdown = html_path.with_name("report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", markdown)
    assert len(images) == total
    for name in images:
        assert (html_path.parent / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("cadence", CADENCES)
def test_each_cadence_renders_in_headless_chromium(fixture_world, tmp_path, cadence):
    _check_rendered(fixture_world["paths"][cadence][0], tmp_path / "profile", PLOTS[cadence])
