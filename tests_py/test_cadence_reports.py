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

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.reports import asof, governance
from lawn.reports.run import build_report, write_cadence_report
from tests_py import cadence_fixture as fx
from tests_py.metric_expectations import ACTIVITY

CADENCES = ("daily", "weekly", "monthly", "quarterly")
PLOTS = {"daily": 4, "weekly": 3, "monthly": 3, "quarterly": 2}  # the fixture has one rollout
CHROMIUM = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def fixture_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cadence_fixture")
    db = fx.write_warehouse(root / "w.duckdb")
    store = fx.write_model_store(root / "store")
    manifest = fx.write_manifest(root / "manifest.json")
    catalog = fx.write_dictionary(root / "data_dictionary.csv")
    out = root / "out"
    paths = {c: write_cadence_report(db, c, None, out, store, manifest, catalog) for c in CADENCES}
    return {
        "db": db,
        "store": store,
        "manifest": manifest,
        "catalog": catalog,
        "out": out,
        "paths": paths,
        "root": root,
    }


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
    assert list(funnel["current_share"]) == ["1.000", "0.400"] and list(funnel["previous_share"]) == [
        "1.000",
        "0.600",
    ]
    runs = md_table(md, "Failed runs")
    assert list(runs["run_id"]) == ["r3", "r4"]  # r1 is older than 7 data days, r5 is the running one
    assert "- running on the as-of day: 1" in md and "- planned (registered, not started): 1" in md
    experiments = md_table(md, "Experiment velocity")
    # planted exposures (tests_py/cadence_fixture.py): exp_a 7 units by the as-of day, xa7 saw
    # two variants; exp_b 4 (xb4 only before its start), xb5 received and xb6 occurred after the
    # as-of day (probes found the exposed column counting included units only, leaving out
    # units exposed outside the dates, and counting exposures received later)
    assert dict(zip(experiments["experiment_id"], experiments["units_exposed"], strict=True)) == {
        "exp_a": "7",
        "exp_b": "4",
        "exp_c": "0",
    }
    assert dict(zip(experiments["experiment_id"], experiments["units_included"], strict=True)) == {
        "exp_a": "6",
        "exp_b": "3",
        "exp_c": "0",
    }
    dq = md_table(md, "Data quality")
    frame = fx.data_quality()
    frame = frame[pd.to_datetime(frame["received_date"]) > as_of - pd.Timedelta(days=14)]
    expected = frame.groupby("received_date")[
        ["first_delivery_count", "valid_count", "attributed_count"]
    ].sum()
    assert list(dq["received_date"]) == [str(d) for d in expected.index]
    assert np.allclose(
        _num(dq["data_quality_score"]),
        expected["attributed_count"] / expected["first_delivery_count"],
        atol=5e-4,
    )
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
        # active: an activity event (an experiment exposure is none)
        "active accounts": weekly[weekly["event_name"].isin(ACTIVITY)]
        .groupby("weeks_back")["account_id"]
        .nunique(),
        "signups": weekly[weekly["event_name"] == "signed_up"].groupby("weeks_back").size(),
        "support tickets": weekly[weekly["event_name"] == "support_ticket_created"]
        .groupby("weeks_back")
        .size(),
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
        theme=lambda f: f["properties"].map(lambda p: json.loads(p)["topic"])
    )
    for theme, rows in raised.groupby("theme"):
        assert int(tickets.loc[theme, "this_week"]) == (rows["weeks_back"] == 0).sum()
        assert float(tickets.loc[theme, "weekly_mean_before"]) == pytest.approx(
            rows["weeks_back"].between(1, 4).sum() / 4, abs=5e-4
        )
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
    live = frame[
        (frame["model_version"] == "v2") & (frame["as_of_date"] == fx.AS_OF) & (frame["check_name"] == "auc")
    ]
    live = live.sort_values(["slice_dimension", "slice_value"])
    assert list(auc["slice_value"]) == list(live["slice_value"])
    assert np.allclose(_num(auc["metric_value"]), live["metric_value"])
    drift = md_table(md, "Drift")
    assert list(drift["is_flagged"]) == ["yes", "no"] and "1 of 2 features drifted" in md
    incidents = md_table(md, "Data-quality incidents")
    assert incidents[["start_date", "end_date", "days"]].values.tolist() == [
        ["2026-06-01", "2026-06-02", "2"],
        ["2026-06-08", "2026-06-08", "1"],
    ]
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
    assert (
        review.loc["act", "mean_days_to_recover"] == "4.000"
        and review.loc["act", "max_days_to_recover"] == "5"
    )
    assert review.loc["conv", "revisit"] == "never close to its threshold" and "- conv: never close" in md
    catalog = md_table(md, "Governance: catalog completeness").set_index("layer")
    # planted (cadence_fixture.dictionary): 13 columns, one seed column without description
    # and retention class, one column whose meta is inherited
    frame = fx.dictionary()
    assert catalog.loc["all", "columns"] == str(len(frame)) == "13"
    expected = {
        "share_with_description": (frame["description"] != "").mean(),
        "share_with_retention_class": (frame["retention_class"] != "").mean(),
        "share_with_own_meta": (frame["meta_from"] == "own").mean(),
        "share_with_owner": 1.0,
    }
    for column, value in expected.items():
        assert catalog.loc["all", column] == f"{value:.3f}", column
    assert catalog.loc["seed", "share_with_retention_class"] == "0.000"
    assert catalog.loc["marts", "columns"] == "7"
    assert set(governance.META_KEYS) == {"owner", "purpose", "data_class", "retention_class"}


def test_as_of_reproduces_a_past_report_after_later_data(fixture_world, tmp_path):
    """Render a day, add ten later days (new events, late deliveries of old days, a new model,
    more runs and SLO days, a changed manifest), re-render that day: the same bytes."""
    root = tmp_path / "w"
    shutil.copytree(fixture_world["root"], root, ignore=shutil.ignore_patterns("*.wal"))
    db, out = root / "w.duckdb", root / "out"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # + the quarterly's archived data dictionary and retention check
    assert len(before) == 4 * 2 + sum(PLOTS.values()) + 2
    fx.add_later_data(db)
    fx.write_manifest(root / "manifest.json")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["nodes"]["model.lawn.fct_b"]["columns"]["c"]["meta"] = {"owner": "x", "data_class": "y"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    # a later catalog: the archived dictionary of the day is the one read back
    changed = fx.dictionary().assign(data_class="business")
    changed.to_csv(root / "data_dictionary.csv", index=False)
    runner = CliRunner()
    for cadence in CADENCES:
        result = runner.invoke(
            app,
            [
                "report",
                "--cadence",
                cadence,
                "--as-of",
                str(fx.AS_OF),
                "--out",
                str(out),
                "--db",
                str(db),
                "--model-store",
                str(root / "store"),
                "--manifest",
                str(root / "manifest.json"),
                "--catalog",
                str(root / "data_dictionary.csv"),
            ],
        )
        assert result.exit_code == 0, result.output
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()
    changed = [str(path) for path in before if before[path] != after[path]]
    assert not changed, changed
    # ...and the later data is there: the new data day's reports differ from the past day's
    later = {
        c: build_report(
            db,
            c,
            None,
            tmp_path / "later",
            root / "store",
            root / "manifest.json",
            root / "data_dictionary.csv",
        )
        for c in CADENCES
    }
    assert all(report.as_of == fx.day(10) for report in later.values())
    newer = write_cadence_report(
        db, "weekly", fx.day(7), tmp_path / "later", root / "store", root / "manifest.json"
    )
    assert newer[1].read_text() != before[Path("weekly") / str(fx.AS_OF) / "report.md"].decode()


def test_as_of_shows_only_the_slo_evaluations_complete_by_its_end_of_the_data(fixture_world, tmp_path):
    """An SLO row dated D measures outcomes up to D + the milestone's window: a report as of D
    shows, as a build of D would, each SLO's newest evaluation whose windows were complete by
    the end of the data then (the newest event day received by D), not the row dated D."""
    root = tmp_path / "w"
    shutil.copytree(fixture_world["root"], root, ignore=shutil.ignore_patterns("*.wal", "out"))
    db = root / "w.duckdb"
    with duckdb.connect(str(db)) as con:  # act's milestone: a 4-day window
        con.execute(
            "update marts.fct_slo_status set complete_on_date = evaluated_date + 4 where slo_id = 'act'"
        )
    events = fx.events()
    known = events[
        (pd.to_datetime(events["occurred_date"]) <= fx.D)
        & (pd.to_datetime(events["received_at"]) < fx.D + pd.Timedelta(days=1))
    ]
    data_end = pd.to_datetime(known["occurred_date"]).max()
    slos = fx.slo_status()
    days = np.where(slos["slo_id"] == "act", 4, 0)
    slos["complete_on_date"] = pd.to_datetime(slos["complete_on_date"]) + pd.to_timedelta(days, unit="D")
    shown = slos[slos["complete_on_date"] <= data_end].sort_values("evaluated_date").groupby("slo_id").last()
    # by hand: the data ends on the as-of day, so act's newest complete row is 06-11, a breach day
    assert data_end == fx.D and str(shown.loc["act", "evaluated_date"]) == "2026-06-11"
    paths = write_cadence_report(
        db, "daily", fx.AS_OF, tmp_path / "out", fixture_world["store"], fixture_world["manifest"],
        fixture_world["catalog"],
    )  # fmt: skip
    md = paths[1].read_text()
    table = md_table(md, "SLOs")
    assert dict(zip(table["slo_id"], table["evaluated_date"], strict=True)) == {
        slo: str(row.evaluated_date) for slo, row in shown.iterrows()
    }
    assert dict(zip(table["slo_id"], table["status"], strict=True)) == dict(shown["status"])
    breaches = int((shown["status"] == "breach").sum())
    assert breaches == 1 and f"{breaches} of 2 SLOs breach at their newest evaluation" in md


def test_a_different_rerender_keeps_the_archived_report(fixture_world, tmp_path):
    """A mart rebuilt with other values for an old day: the re-render replaces the report and the
    report the day's run wrote is kept beside it, not lost."""
    import duckdb

    root = tmp_path / "w"
    shutil.copytree(fixture_world["root"], root)
    folder = root / "out" / "daily" / str(fx.AS_OF)
    archived = (folder / "report.md").read_text()
    with duckdb.connect(str(root / "w.duckdb")) as con:
        con.execute(
            "update marts.fct_data_quality_daily set attributed_count = 0 where received_date = ?",
            [fx.day(-3)],
        )
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--cadence",
            "daily",
            "--as-of",
            str(fx.AS_OF),
            "--out",
            str(root / "out"),
            "--db",
            str(root / "w.duckdb"),
        ],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 0, result.output
    assert "differed; it was kept in" in result.output
    assert (folder / "superseded-1" / "report.md").read_text() == archived
    assert (folder / "report.md").read_text() != archived
    assert "| 2026-06-12 | 200 | 200 | 1.000 | 0.000 |" in (folder / "report.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cadence", "hourly"], "--cadence must be one of daily, weekly, monthly, quarterly; got 'hourly'"),
        (["--as-of", "2026-02-30"], "--as-of must be a date YYYY-MM-DD; got '2026-02-30'"),
        (["--as-of", "15/06/2026"], "--as-of must be a date YYYY-MM-DD; got '15/06/2026'"),
        (["--as-of", "2026-7-1"], "--as-of must be a date YYYY-MM-DD; got '2026-7-1'"),
        (["--as-of", "2026-06-16"], "--as-of 2026-06-16 is after the warehouse's data day 2026-06-15"),
        # a probe (2026-12-07): a day before the data exited 0 with a page of zeros "data through" it
        (
            ["--as-of", "2026-04-20"],
            "--as-of 2026-04-20 is before the data starts (2026-04-21, the oldest event's day)",
        ),
    ],
)
def test_bad_cadence_or_as_of_is_one_line_exit_2(fixture_world, tmp_path, args, message):
    result = CliRunner().invoke(
        app,
        ["report", "--db", str(fixture_world["db"]), "--out", str(tmp_path), *args],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"error: {message}"
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_missing_warehouse_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(
        app, ["report", "--db", str(tmp_path / "no.duckdb"), "--out", str(tmp_path)], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "no such warehouse" in result.output


@pytest.mark.parametrize(
    "name, content", [("crm_accounts.csv", b"account_id,segment\n"), ("notes.duckdb", b"hello\n")]
)
def test_a_file_that_is_not_a_warehouse_is_one_line_exit_2(tmp_path, name, content):
    # a black-box probe (2026-12-06): exit 1 with DuckDB's "Cannot launch in-memory database
    # in read-only mode!" for a CSV, "IO Error: ... not a valid DuckDB database file!" otherwise
    (tmp_path / name).write_bytes(content)
    result = CliRunner().invoke(
        app, ["report", "--db", str(tmp_path / name), "--out", str(tmp_path / "out")], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "not a DuckDB warehouse" in result.output


def test_due_cadences_follow_the_data_day():
    # calendar periods: the week Monday-Sunday, the month, the quarter, each due on its last day
    assert asof.due_cadences(dt.date(2026, 6, 14)) == ["daily", "weekly"]  # a Sunday
    assert asof.due_cadences(dt.date(2026, 6, 15)) == ["daily"]  # a Monday
    assert asof.due_cadences(dt.date(2026, 7, 31)) == ["daily", "monthly"]  # a Friday
    assert asof.due_cadences(dt.date(2026, 8, 1)) == ["daily"]
    assert asof.due_cadences(dt.date(2026, 6, 30)) == ["daily", "monthly", "quarterly"]
    assert asof.due_cadences(dt.date(2026, 5, 31)) == ["daily", "weekly", "monthly"]  # a Sunday, the last
    assert asof.due_cadences(dt.date(2028, 2, 28)) == ["daily"]  # a leap year: the 29th is the last
    assert asof.due_cadences(dt.date(2026, 12, 31)) == ["daily", "monthly", "quarterly"]
    for day in (dt.date(2026, 6, 14), dt.date(2026, 7, 31), dt.date(2026, 6, 30), dt.date(2026, 5, 31),
                dt.date(2026, 2, 28), dt.date(2026, 4, 30), dt.date(2026, 12, 31)):  # fmt: skip
        due = asof.due_cadences(day)
        if "weekly" in due:  # Monday to Sunday
            assert asof.period_start("weekly", day).weekday() == 0
        if "monthly" in due:  # the calendar month
            assert asof.period_start("monthly", day) == day.replace(day=1)
        if "quarterly" in due:  # the calendar quarter
            assert asof.period_start("quarterly", day) == dt.date(day.year, day.month - 2, 1)
    assert asof.period_start("quarterly", dt.date(2026, 6, 15)) == dt.date(2026, 3, 16)


def render_in_chromium(html_path: Path, profile: Path) -> tuple[int, int, str]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: scripts/setup.sh installs it (apt-get install chromium)"
    dom = subprocess.run(
        [
            chromium,
            *CHROMIUM,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
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


# ---------------------------------------------------------------- the small world, two nightly runs


@pytest.fixture(scope="module")
def nightly_world(nightly_runs):
    """Day 1: the raw events received before the last day; day 2: all of them (new days and late
    deliveries of old ones). A nightly run on each; after run 1 every cadence is rendered for
    day 1's data day, after run 2 again for the same day. The two nights are test_nightly.py's
    first two (one build per worker: tests_py/nightly_world.py); this is a copy of that
    warehouse, its folders and the model store as they were after night 2."""
    return nightly_runs["cadence"]


def test_the_nightly_archives_the_reports_due_on_its_data_day(nightly_world):
    report_dir = nightly_world["work"] / "report"
    for result in nightly_world["results"]:
        for cadence in asof.due_cadences(result.as_of_date):
            folder = report_dir / "cadence" / cadence / str(result.as_of_date)
            assert (folder / "report.html").exists() and (folder / "report.md").exists()
        assert "cadence reports: daily" in result.steps[-1].detail
    assert (report_dir / "report.html").exists()  # the nightly report is still written


def test_as_of_reproduces_the_report_the_days_run_wrote(nightly_world):
    day1, day2 = (result.as_of_date for result in nightly_world["results"])
    assert day1 < day2  # run 2 brought a later data day
    archived = nightly_world["work"] / "report" / "cadence" / "daily" / str(day1)
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--cadence",
            "daily",
            "--as-of",
            str(day1),
            "--db",
            str(nightly_world["work"] / "lawn.duckdb"),
            "--out",
            str(nightly_world["work"] / "again"),
            "--model-store",
            str(nightly_world["store"]),
            "--manifest",
            str(nightly_world["work"] / "target" / "manifest.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    again = nightly_world["work"] / "again" / "daily" / str(day1)
    for name in ("report.md", "report.html"):
        assert (again / name).read_bytes() == (archived / name).read_bytes(), name
    for cadence in CADENCES:  # rendered for day 1 after run 1, and again after run 2
        first, second = (nightly_world["renders"][run][cadence] for run in ("day1", "day2"))
        assert second[1].read_text() == first[1].read_text(), cadence
        assert second[0].read_bytes() == first[0].read_bytes(), cadence


def test_real_figures_equal_pandas_on_the_marts(nightly_world):
    from tests_py.conftest import query

    db = nightly_world["work"] / "lawn.duckdb"
    as_of = nightly_world["results"][1].as_of_date
    daily = nightly_world["latest"]["daily"][1].read_text()
    dq = md_table(daily, "Data quality")
    marts = query(db, "select * from marts.fct_data_quality_daily")
    marts["received_date"] = pd.to_datetime(marts["received_date"])
    window = marts[
        (marts["received_date"] <= pd.Timestamp(as_of))
        & (marts["received_date"] > pd.Timestamp(as_of) - pd.Timedelta(days=14))
    ]
    sums = window.groupby("received_date")[["first_delivery_count", "valid_count", "attributed_count"]].sum()
    # every day of the window from the first receipt on: a day nothing was received is a row of 0
    first = max(marts["received_date"].min(), pd.Timestamp(as_of) - pd.Timedelta(days=13))
    days = pd.date_range(first, as_of)
    sums = sums.reindex(days, fill_value=0)
    assert list(dq["received_date"]) == [str(d.date()) for d in sums.index]
    assert list(dq["first_deliveries"].astype(int)) == list(sums["first_delivery_count"])
    delivered = sums["first_delivery_count"].where(sums["first_delivery_count"] > 0)
    shares = (sums["valid_count"] / delivered).to_numpy()
    assert np.allclose(_num(dq["valid_share"]), shares, atol=5e-4, equal_nan=True)
    silent = int((sums["first_delivery_count"] == 0).sum())
    assert (f"; {silent} with no delivery at all." in daily) == (silent > 0)
    quarterly = nightly_world["latest"]["quarterly"][1].read_text()
    review = md_table(quarterly, "SLO review").set_index("slo_id")
    slo = query(db, "select * from marts.fct_slo_status")
    start = pd.Timestamp(asof.period_start("quarterly", as_of))
    slo = slo[pd.to_datetime(slo["evaluated_date"]).between(start, pd.Timestamp(as_of))]
    expected = slo.groupby("slo_id")["status"].agg(lambda s: int((s == "breach").sum()))
    assert review["breach_days"].astype(int).to_dict() == expected.to_dict()
    monthly = nightly_world["latest"]["monthly"][1].read_text()
    monitoring = query(db, "select * from marts.fct_model_monitoring where not is_shadow")
    newest = monitoring[monitoring["as_of_date"] == monitoring["as_of_date"].max()]
    psi = newest[newest["check_name"] == "feature_psi"].sort_values("subject")
    drift = md_table(monthly, "Drift")
    assert list(drift["subject"]) == list(psi["subject"]) and len(psi) > 0
    assert np.allclose(
        _num(drift["metric_value"]), psi["metric_value"].to_numpy(float), atol=5e-4, equal_nan=True
    )
    assert f"{int(psi['is_flagged'].sum())} of {len(psi)} features drifted" in monthly
    if not (newest["check_name"] == "auc").any():  # the small world's outcomes are not known yet
        assert "No AUC: outcomes not known yet." in monthly
    weekly = nightly_world["latest"]["weekly"][1].read_text()
    events = query(
        db, "select event_name, occurred_date, received_at, account_id, properties from marts.fct_events"
    )
    events = events[
        (pd.to_datetime(events["occurred_date"]) <= pd.Timestamp(as_of))
        & (events["received_at"] < pd.Timestamp(as_of) + pd.Timedelta(days=1))
    ]
    _check_rollout(weekly, events, as_of)
    tickets = events[events["event_name"] == "support_ticket_created"].copy()
    tickets["theme"] = tickets["properties"].map(lambda p: json.loads(p).get("topic"))
    tickets["days_back"] = (pd.Timestamp(as_of) - pd.to_datetime(tickets["occurred_date"])).dt.days
    this_week = tickets[tickets["days_back"] < 7].groupby("theme").size()
    shown = md_table(weekly, "Support tickets by theme").set_index("theme")["this_week"].astype(int)
    assert shown[shown > 0].to_dict() == this_week.to_dict()


def _check_rollout(weekly: str, events: pd.DataFrame, as_of: dt.date) -> None:
    """The report's overall rollout effect equals the estimator run on a panel built here in
    pandas from the same as-of events (adoption = first rollout enablement per account)."""
    from lawn.did import prepare_panel
    from lawn.did_staggered import callaway_santanna

    props = events["properties"].map(json.loads)
    enabled = events[
        (events["event_name"] == "feature_enabled") & (props.map(lambda p: p.get("enabled_by")) == "rollout")
    ]
    if enabled.empty:
        assert "No staggered rollout" in weekly
        return
    feature = props[enabled.index].map(lambda p: p.get("feature_name")).min()  # the first one shown
    enabled = enabled[props[enabled.index].map(lambda p: p.get("feature_name")) == feature]
    days_back = (pd.Timestamp(as_of) - pd.to_datetime(events["occurred_date"])).dt.days
    adopted = (-(days_back[enabled.index] // 7)).groupby(enabled["account_id"]).max()
    uses = events[
        (events["event_name"] == "feature_used")
        & (props.map(lambda p: p.get("feature_name")) == "create_invoice")
    ]
    panel = pd.DataFrame(
        {
            "account_id": uses["account_id"],
            "week": -(days_back[uses.index] // 7),
            "usage": pd.to_numeric(props[uses.index].map(lambda p: p.get("usage_count")), errors="coerce"),
        }
    )
    panel = panel.dropna().groupby(["account_id", "week"], as_index=False)["usage"].mean()
    panel["treated"] = (panel["week"] >= panel["account_id"].map(adopted)).astype(int)
    result = callaway_santanna(prepare_panel(panel, "account_id", "week", "usage", {"treat": "treated"}))
    overall = next(e.estimate for e in result.estimates if e.kind == "simple")
    table = md_table(weekly, f"{feature}: {enabled['account_id'].nunique()} accounts adopted").set_index(
        "label"
    )
    assert float(table.loc["overall", "estimate"]) == pytest.approx(overall, abs=5e-4)


@pytest.mark.parametrize("cadence", CADENCES)
def test_real_reports_render_in_headless_chromium(nightly_world, tmp_path, cadence):
    _check_rendered(nightly_world["latest"][cadence][0], tmp_path / "profile")


def test_thresholds_to_revisit_need_enough_days():
    from lawn.reports.quarterly import review

    def days(n: int, value: float, status: str = "pass") -> pd.DataFrame:
        dates = pd.date_range("2026-01-01", periods=n).date
        return pd.DataFrame(
            {
                "slo_id": "s",
                "evaluated_date": dates,
                "severity": "warn",
                "comparator": ">=",
                "threshold": 0.2,
                "metric_value": value,
                "status": status,
            }
        )

    assert review(days(27, 0.9))["revisit"].iloc[0] == ""  # too few days to call it loose
    assert review(days(28, 0.9))["revisit"].iloc[0] == "never close to its threshold"
    assert review(days(28, 0.29))["revisit"].iloc[0] == ""  # within 50% of the threshold once
    chronic = pd.concat(
        [
            days(20, 0.5),
            days(8, 0.1, "breach").assign(
                evaluated_date=lambda f: f["evaluated_date"] + dt.timedelta(days=20)
            ),
        ]
    )
    row = review(chronic).iloc[0]
    assert row["revisit"] == "chronic breach" and row["breach_share"] == pytest.approx(8 / 28)
    assert row["episodes"] == 1 and row["ongoing"] == 1 and pd.isna(row["max_days_to_recover"])


def test_an_out_folder_that_cannot_be_written_is_one_line_exit_2(fixture_world, tmp_path):
    # a black-box probe (2026-12-06): "FileNotFoundError: [Errno 2] ...", exit 1, at the end
    (tmp_path / "a_file").write_text("not a folder")
    result = CliRunner().invoke(
        app,
        ["report", "--db", str(fixture_world["db"]), "--out", str(tmp_path / "a_file" / "reports")],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    out = tmp_path / "a_file" / "reports"
    assert result.output.startswith(f"error: --out {out}: cannot write reports there")


@pytest.mark.parametrize(
    "option, content, message",
    [
        ("--manifest", None, "cannot be read (No such file or directory)"),
        ("--manifest", "account_id,segment\na1,smb\n", "not a JSON file (give dbt's target/manifest.json)"),
        ("--manifest", '{"metadata": {}}', "not a dbt manifest (no nodes)"),
        ("--catalog", "account_id,segment\na1,smb\n", "not a data dictionary of `lawn catalog`"),
    ],
)  # fmt: skip
def test_a_manifest_or_catalog_that_is_not_one_is_one_line_exit_2(
    fixture_world, tmp_path, option, content, message
):
    # a probe (2026-12-07): a missing --manifest, a CSV given as one, and any CSV given as the
    # --catalog exited 0 (the manifest ignored, the CSV archived as the day's dictionary)
    given = tmp_path / "given"
    if content is not None:
        given.write_text(content)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["report", "--cadence", "quarterly", "--db", str(fixture_world["db"]), "--out", str(out),
         option, str(given)],
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith(f"error: {option} {given}: {message}"), result.output
    assert not list(out.rglob("report.html"))


def test_units_exposed_and_included_equal_the_assignment_mart_on_the_whole_data(built_small, tmp_path):
    """The daily report counts exposures as of its day from fct_events (both time cuts); on a day
    after all the data it must agree with fct_experiment_assignments, which judges inclusion
    (one variant, an exposure inside the dates) in dbt: one rule, two places, checked here."""
    from lawn.reports import daily
    from lawn.reports.reader import Reader

    con = duckdb.connect(str(built_small), read_only=True)
    try:
        later = dt.date(2100, 1, 1)
        frame = daily.experiments(Reader(con, later, later, tmp_path, tmp_path, tmp_path))
        mart = con.execute(
            "select experiment_id, count(*), count(case when is_included then 1 end) "
            "from marts.fct_experiment_assignments group by 1"
        ).fetchall()
    finally:
        con.close()
    expected = {experiment: (exposed, included) for experiment, exposed, included in mart}
    found = {
        row.experiment_id: (row.units_exposed, row.units_included)
        for row in frame.itertuples()
        if row.experiment_id in expected
    }
    assert found == expected and len(expected) >= 2
    assert any(exposed > included for exposed, included in expected.values())
