"""Instrumentation QA (`fct_instrumentation_qa_daily`): planted breaks are found with the
right event, platform and days; the same world without them raises no flag; expected volumes
equal a pandas recomputation from the raw file; and a hand-written feed, built from the
contract alone, raises exactly the flags its story calls for."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lawn.generator import GeneratorConfig, PlantedOutage, PlantedSdkBreak, generate
from lawn.generator.writers import write_generated
from tests_py.conftest import query, run_dbt
from tests_py.expectations import parse_utc

# big enough that ios feature_used clears the minimum-volume guard, small enough to build in ~15 s
BASE = GeneratorConfig(seed=11, accounts=120, days=90)
SDK_BREAK = PlantedSdkBreak("ios", "feature_used", 60)
# Tue-Wed outage; the backlog arrives 30 h after it ends: the first day's backfill misses the
# 48 h mark, the second day's makes it
OUTAGE = PlantedOutage(43, 2, 30.0)
PLANTED = GeneratorConfig(seed=11, accounts=120, days=90, sdk_break=SDK_BREAK, outage=OUTAGE)
BUILD = ["build", "-s", "+fct_instrumentation_qa_daily", "--full-refresh", "--indirect-selection", "cautious"]
MART = "marts.fct_instrumentation_qa_daily"


def _build_world(config: GeneratorConfig, root: Path) -> tuple[Path, dict[str, pd.DataFrame]]:
    data = generate(config)
    write_generated(data, root / "raw", root / "truth", "csv")
    db_path = root / "lawn.duckdb"
    run_dbt(BUILD, db_path, root, raw_dir=root / "raw")
    return db_path, {"raw": data.raw["raw_events"], **data.truth}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return _build_world(PLANTED, tmp_path_factory.mktemp("qa_planted"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return _build_world(BASE, tmp_path_factory.mktemp("qa_clean"))


def _flags(db_path: Path) -> pd.DataFrame:
    frame = query(db_path, f"select * from {MART} where is_flagged")
    frame["activity_date"] = pd.to_datetime(frame["activity_date"]).dt.date
    return frame


def _day(config: GeneratorConfig, day: int) -> dt.date:
    return config.start_date + dt.timedelta(days=day)


# --- the generator plants -------------------------------------------------------------------


def test_plants_change_only_what_they_plant():
    """Against the same world without plants: the planted feed lacks exactly the ios
    feature_used events from the break day on, and only deliveries that would have arrived
    during the outage arrive later (after it ends)."""
    config_clean = GeneratorConfig(seed=3, accounts=20, days=40)
    config_planted = GeneratorConfig(
        seed=3,
        accounts=20,
        days=40,
        sdk_break=PlantedSdkBreak("ios", "feature_used", 30),
        outage=PlantedOutage(10, 2, 6.0),
    )
    before = generate(config_clean).raw["raw_events"]
    data = generate(config_planted)
    after = data.raw["raw_events"]
    occurred = before["occurred_at"].map(parse_utc)
    received = before["received_at"].map(parse_utc)
    start = dt.datetime.combine(config_planted.start_date, dt.time())
    broken = (
        (before["source"] == "ios")
        & (before["event_name"] == "feature_used")
        & (occurred >= start + dt.timedelta(days=30))
    )
    assert broken.sum() > 0
    keep = before[~broken]
    assert len(after) == len(keep)
    merged = keep.drop(columns="received_at").assign(was=received[~broken].values)
    merged = merged.reset_index(drop=True)
    after_sorted = after.sort_values(["event_id", "received_at"]).reset_index(drop=True)
    merged = merged.sort_values(["event_id", "was"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        merged.drop(columns="was"), after_sorted.drop(columns="received_at"), check_like=True
    )
    outage_from, outage_to = start + dt.timedelta(days=10), start + dt.timedelta(days=12)
    now = after_sorted["received_at"].map(parse_utc)
    moved = merged["was"] != now
    held = (merged["was"] >= outage_from) & (merged["was"] < outage_to)
    assert (moved == held).all()
    assert (now[held] >= outage_to + dt.timedelta(hours=6)).all()
    assert (now[held] < outage_to + dt.timedelta(hours=7)).all()
    truth = data.truth["instrumentation"]
    assert set(truth["plant"]) == {"sdk_break", "outage"}
    assert truth.loc[truth["plant"] == "sdk_break", "affected_events"].sum() == broken.sum()
    assert truth.loc[truth["plant"] == "outage", "is_backfilled_within_48h"].all()
    # off by default: no truth table, nothing drawn from the random stream
    assert "instrumentation" not in generate(config_clean).truth


# --- the planted world ----------------------------------------------------------------------


def test_sdk_break_is_flagged_on_the_right_event_platform_and_day(planted):
    db_path, truth = planted
    flags = _flags(db_path)
    stopped = flags[flags["is_stopped"]]
    assert len(stopped) >= 5
    assert set(zip(stopped["event_name"], stopped["source"], stopped["platform"], strict=True)) == {
        ("feature_used", "ios", "ios")
    }
    break_date = _day(PLANTED, SDK_BREAK.start_day)
    assert stopped["activity_date"].min() == break_date
    assert (stopped["activity_date"] < _day(PLANTED, SDK_BREAK.start_day + 28)).all()
    planted_dates = set(pd.to_datetime(truth["instrumentation"]["affected_date"]).dt.date)
    assert set(stopped["activity_date"]) <= planted_dates
    # nothing about that event on that platform before the release
    series = query(
        db_path,
        f"select * from {MART} where event_name = 'feature_used' and source = 'ios' "
        f"and activity_date < '{break_date}' and is_flagged",
    )
    assert series.empty


def test_outage_days_are_flagged_late_and_their_backfill_timed(planted):
    db_path, truth = planted
    flags = _flags(db_path)
    outage_truth = truth["instrumentation"].query("plant == 'outage'")
    outage_dates = set(pd.to_datetime(outage_truth["affected_date"]).dt.date)
    late = flags[flags["is_late_gap"]]
    assert set(late["activity_date"]) <= outage_dates
    day_rows = late[late["rollup_level"] == "day"].set_index("activity_date")
    assert set(day_rows.index) == outage_dates
    expected_48h = dict(
        zip(
            pd.to_datetime(outage_truth["affected_date"]).dt.date,
            outage_truth["is_backfilled_within_48h"].astype(bool),
            strict=True,
        )
    )
    assert sorted(expected_48h.values()) == [False, True]  # the plant covers both cases
    for day, within in expected_48h.items():
        assert bool(day_rows.loc[day, "is_backfilled_within_48h"]) == within
        reason = "late_backfilled_48h" if within else "late_backfilled_after_48h"
        assert reason in day_rows.loc[day, "flag_reason"].split("|")
    # and every busy platform series was flagged on both outage days
    platform_late = late[late["rollup_level"] == "platform"]
    assert ("feature_used", "web") in set(
        zip(platform_late["event_name"], platform_late["source"], strict=True)
    )


def test_planted_world_raises_no_other_flag(planted):
    db_path, _ = planted
    flags = _flags(db_path)
    explained = flags["is_stopped"] | flags["is_late_gap"]
    assert flags[~explained].empty, flags[~explained].to_string()


def test_clean_world_raises_no_flag(clean):
    db_path, _ = clean
    flags = _flags(db_path)
    assert flags.empty, flags.to_string()
    judged = query(
        db_path,
        f"select count(*) as n from {MART} where rollup_level != 'version' and expected_count >= 10",
    )
    assert judged["n"][0] > 250  # the volume guard still lets hundreds of series-days be judged


def _placed_first_deliveries(raw: pd.DataFrame) -> pd.DataFrame:
    """First deliveries placed on their activity day, restated in pandas: the earliest
    delivery of each event_id; the UTC day it occurred, or the day it was received when the
    client time is more than an hour ahead or more than 30 days behind."""
    frame = raw.copy()
    frame["received"] = frame["received_at"].map(parse_utc)
    frame["occurred"] = frame["occurred_at"].map(lambda text: parse_utc(text, require_offset=True))
    frame = frame.sort_values(["event_id", "received"]).drop_duplicates("event_id")
    implausible = (
        frame["occurred"].isna()
        | (frame["occurred"] > frame["received"] + dt.timedelta(minutes=60))
        | (frame["occurred"] < frame["received"] - dt.timedelta(days=30))
    )
    frame["day"] = np.where(implausible, frame["received"].dt.date, frame["occurred"].dt.date)
    frame["platform"] = frame["context"].map(lambda text: json.loads(text).get("platform"))
    frame["on_time"] = frame["received"] < pd.to_datetime(frame["day"]) + pd.Timedelta(days=1)
    return frame


def test_expected_volumes_equal_a_pandas_recomputation(planted):
    """event_count, on_time_count and expected_count (median of the same weekday 1-4 weeks
    back, zero-filled) of every platform and day row, from the raw file."""
    db_path, truth = planted
    placed = _placed_first_deliveries(truth["raw"])
    mart = query(
        db_path,
        f"select rollup_level, activity_date, event_name, source, platform, event_count, "
        f"on_time_count, expected_count from {MART} where rollup_level in ('platform', 'day')",
    )
    mart["activity_date"] = pd.to_datetime(mart["activity_date"]).dt.date
    last = placed["day"].max()
    rows = []
    groups = [("day", ("(all)", "(all)", "(all)"), placed)] + [
        ("platform", key, frame) for key, frame in placed.groupby(["event_name", "source", "platform"])
    ]
    for level, key, frame in groups:
        days = pd.date_range(frame["day"].min(), last).date
        counts = frame.groupby("day").size().reindex(days, fill_value=0)
        on_time = frame.groupby("day")["on_time"].sum().reindex(days, fill_value=0)
        values = counts.to_numpy()
        for i, day in enumerate(days):
            lags = [values[i - 7 * k] for k in range(1, 5) if i - 7 * k >= 0]
            rows.append(
                {
                    "rollup_level": level,
                    "activity_date": day,
                    "event_name": key[0],
                    "source": key[1],
                    "platform": key[2],
                    "pd_count": int(values[i]),
                    "pd_on_time": int(on_time.iloc[i]),
                    "pd_expected": float(np.median(lags)) if len(lags) == 4 else np.nan,
                }
            )
    expected = pd.DataFrame(rows)
    joined = mart.merge(expected, on=["rollup_level", "activity_date", "event_name", "source", "platform"])
    assert len(joined) == len(mart) == len(expected)
    assert (joined["event_count"] == joined["pd_count"]).all()
    assert (joined["on_time_count"] == joined["pd_on_time"]).all()
    np.testing.assert_allclose(joined["expected_count"], joined["pd_expected"], equal_nan=True)
    assert joined["pd_expected"].notna().sum() > 1000


# --- a hand-written feed --------------------------------------------------------------------

FIXTURE_START = dt.date(2026, 1, 5)  # a Monday
FIXTURE_DAYS = 42


def _event(
    series: str, day: int, k: int, name: str, source: str, version: int, props: dict, late: bool = False
):
    """One envelope row as a client SDK sends it: its own device, a UTC client clock."""
    occurred = dt.datetime.combine(FIXTURE_START + dt.timedelta(days=day), dt.time(9)) + dt.timedelta(
        minutes=k
    )
    received = (
        dt.datetime.combine(FIXTURE_START + dt.timedelta(days=day + 1), dt.time(12))
        if late
        else occurred + dt.timedelta(seconds=2)
    )
    platform = {"web": "web", "ios": "ios", "android": "android"}[source]
    return {
        "event_id": f"{series}-{day:02d}-{k:02d}",
        "event_name": name,
        "schema_version": str(version),
        "source": source,
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "received_at": received.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "anonymous_id": f"anon-{series}-{k:02d}",
        "device_id": f"dev-{series}-{k:02d}",
        "user_id": None,
        "account_id": None,
        "context": json.dumps({"platform": platform, "app_version": "5.1.0", "locale": "en-GB"}),
        "properties": json.dumps(props),
    }


def _hand_written_feed() -> pd.DataFrame:
    rows = []
    for day in range(FIXTURE_DAYS):
        # web page views: 20 a day; from day 36 the SDK stops sending referrer and utm_source;
        # day 38 reaches us only the next day at noon (a collector backlog)
        for k in range(20):
            props = {"page_path": "/pricing"}
            if day < 36:
                props |= {"referrer": "https://www.google.com/", "utm_source": "google"}
            rows.append(_event("pv", day, k, "page_viewed", "web", 1, props, late=day == 38))
        # ios logins: 30 a day until the app release of day 35 stops sending them
        if day < 35:
            rows += [_event("li", day, k, "logged_in", "ios", 1, {"login_method": "sso"}) for k in range(30)]
        # android feature use: v2 every day; the last v1 clients upgrade after day 13
        v2 = {
            "feature_name": "reports",
            "feature_category": "reporting",
            "usage_count": 1,
            "duration_seconds": 30,
        }
        rows += [_event("f2", day, k, "feature_used", "android", 2, v2) for k in range(30)]
        if day < 14:
            v1 = {"feature_name": "reports", "usage_count": 1}
            rows += [_event("f1", day, k, "feature_used", "android", 1, v1) for k in range(5)]
        # web logins: 40 a day until day 37, when a release sends them from one screen only
        logins = 40 if day < 37 else 10
        rows += [
            _event("lw", day, k, "logged_in", "web", 1, {"login_method": "password"}) for k in range(logins)
        ]
        # android logins: 15 devices a day; on day 33 a retry loop sends every one three times
        for k in range(15):
            for repeat in range(3 if day == 33 else 1):
                event = _event("la", day, k, "logged_in", "android", 1, {"login_method": "google"})
                event["event_id"] += f"-{repeat}"
                rows.append(event)
        # an event nobody put in the tracking plan: a stray test on day 10, then a release
        unknown = {10: 1, 30: 6, 31: 7}.get(day, 0)
        rows += [_event("un", day, k, "checkout_v3", "web", 1, {"step": 1}) for k in range(unknown)]
    return pd.DataFrame(rows)


def test_hand_written_feed_raises_exactly_its_story(tmp_path):
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    _hand_written_feed().to_csv(raw_dir / "raw_events.csv", index=False)
    db_path = tmp_path / "lawn.duckdb"
    run_dbt(BUILD, db_path, tmp_path, raw_dir=raw_dir)
    flags = _flags(db_path)
    got = {
        (
            r.rollup_level,
            (r.activity_date - FIXTURE_START).days,
            r.event_name,
            r.source,
            r.schema_version,
            reason,
        )
        for r in flags.itertuples()
        for reason in r.flag_reason.split("|")
    }
    want = (
        {("platform", d, "logged_in", "ios", "(all)", "stopped") for d in range(35, 42)}
        | {("version", d, "page_viewed", "web", "1", "fill_rate_drop") for d in range(36, 42)}
        | {("version", d, "feature_used", "android", "1", "retirement_due") for d in (40, 41)}
        | {("platform", d, "logged_in", "web", "(all)", "volume_drop") for d in range(37, 42)}
        | {("platform", 33, "logged_in", "android", "(all)", "volume_spike")}
        | {
            ("platform", 30, "checkout_v3", "web", "(all)", "new_unknown_event"),
            ("platform", 38, "page_viewed", "web", "(all)", "late_backfilled_48h"),
            ("day", 38, "(all)", "(all)", "(all)", "late_backfilled_48h"),
        }
    )
    assert got == want, f"missing {sorted(want - got)}; unexpected {sorted(got - want)}"
    late = query(
        db_path,
        f"select late_count, within_48h_count, property_fill_rate from {MART} "
        f"where event_name = 'page_viewed' and activity_date = '{FIXTURE_START + dt.timedelta(days=38)}' "
        "and rollup_level = 'version'",
    )
    assert late.iloc[0].tolist() == [20, 20, pytest.approx(1 / 3)]


def test_cli_plants_write_their_truth_and_bad_options_exit_2(tmp_path):
    from typer.testing import CliRunner

    from lawn.cli import app

    runner = CliRunner()
    base = ["generate", "--accounts", "4", "--days", "30", "--seed", "5"]
    out = ["--out-dir", str(tmp_path / "raw"), "--truth-dir", str(tmp_path / "truth")]
    plants = ["--sdk-break-platform", "android", "--sdk-break-day", "20", "--outage-start-day", "10"]
    result = runner.invoke(app, [*base, *out, *plants])
    assert result.exit_code == 0, result.output
    truth = pd.read_csv(tmp_path / "truth" / "truth_instrumentation.csv")
    assert truth.groupby("plant").size().to_dict() == {"outage": 2, "sdk_break": 10}
    assert set(truth.loc[truth["plant"] == "sdk_break", "platform"]) == {"android"}
    for bad, word in (
        (["--sdk-break-platform", "backend"], "web, ios or android"),
        (["--outage-start-day", "30"], "not within the 30 days"),
        (["--outage-start-day", "3", "--outage-days", "0"], "outage days"),
    ):
        result = runner.invoke(app, [*base, *out, *bad])
        assert result.exit_code == 2, result.output
        assert word in result.output
        assert "Traceback" not in result.output


def test_report_section_lists_the_last_week_of_flags(tmp_path):
    """The nightly report's query on the hand-written feed: exactly the flags of days 35-41,
    newest first; the section falls back to one sentence when there is none."""
    from lawn.report import instrumentation_section
    from lawn.report_data import QUERIES

    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    _hand_written_feed().to_csv(raw_dir / "raw_events.csv", index=False)
    db_path = tmp_path / "lawn.duckdb"
    run_dbt(BUILD, db_path, tmp_path, raw_dir=raw_dir)
    listed = query(db_path, QUERIES["instrumentation"])
    listed["activity_date"] = pd.to_datetime(listed["activity_date"]).dt.date
    flags = _flags(db_path)
    week = flags[flags["activity_date"] >= FIXTURE_START + dt.timedelta(days=35)]
    assert len(listed) == len(week) == 7 + 6 + 2 + 2 + 5  # stopped, fill, retirement, late, drop
    assert listed["activity_date"].is_monotonic_decreasing
    assert set(listed["flag_reason"]) == set(week["flag_reason"])
    page, markdown = instrumentation_section(listed, limit=5)
    assert "22 flags in the last 7 days of data (first 5 shown)." in page
    assert page.count("<tr>") == 6 and markdown[2].count("\n") == 6
    page, markdown = instrumentation_section(listed.iloc[0:0])
    assert markdown == ["No instrumentation flags in the last 7 days of data."]
