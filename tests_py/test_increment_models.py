"""The increment's heavy models (docs/incremental_increment_models.md).

int_identity_links, cheaper: pairs counted per receive day in int_identity_link_days
(incremental, tests_py/test_incremental_identity_links.py) and added up, the blocked keys
left out, the type and value of each key read back from the key.

On the hand-written feed of test_incremental_identity (raw envelope and tracking plan, not
lawn's generator: blocked user_ids 'guest' and '0', a late February event received in March,
a row the loader landed late, and on day 2 Ann signing up again from the visitor's browser,
which merges two people), the model equals an independent pandas computation of the pairs
from int_identity_observations, after one full refresh and after day 1 from scratch plus an
incremental run (EXCEPT ALL both ways between the two). A negative control without the
blocked keys' filter shows the pandas comparison catches pairs of blocked values.

int_event_volumes_filled, incremental: on the same feed plus, on day 2, an event name the
tracking plan does not know (a new series), a late event of a series seen on day 1 and a
late event two days before its series' first day, day 1 from scratch then both days
incrementally (and once more with no new data) equals one full refresh, as does
fct_instrumentation_qa_daily built on it; the run rebuilds the late events' days and the
recent days, not the days between them. Negative controls: rebuilt days taken from receive
times alone miss the late events' days; without the post-hook that settles the kept rows'
first day, or without the zero-filled days an earlier first day adds, the comparison fails.
A first day that moves later (a rule change re-judges a delivery) deletes the kept days
before it; without that delete the comparison fails."""

from __future__ import annotations

import re
import shutil
from itertools import combinations
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.paths import REPO_ROOT
from tests_py.conftest import query, run_dbt
from tests_py.test_incremental_identity import (
    BATCH_1,
    BATCH_2,
    LATE_LANDED,
    _event,
    _write_events,
    build_two_steps,
    except_all_counts,
)

LINKS = "intermediate.int_identity_links"
ARGS = ["build", "--select", "+int_identity_links", "--exclude", "test_type:data", "test_type:unit"]
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "macros", "models", "seeds", "snapshots",
                 "tests", "analyses")  # fmt: skip
LINK_COLUMNS = ["left_key", "right_key", "left_type", "left_value", "right_type", "right_value",
                "first_seen_at", "event_count"]  # fmt: skip


def _expected_links(db_path: Path) -> pd.DataFrame:
    """Every pair of usable identifiers on one event, computed in pandas from the
    observations: per event, every two of its unblocked keys, smaller key on the left."""
    observations = query(
        db_path,
        "select event_id, occurred_at, identifier_key, identifier_type, identifier_value"
        " from intermediate.int_identity_observations where not is_blocked",
    )
    rows = []
    for _, event in observations.groupby("event_id"):
        ordered = event.sort_values("identifier_key").to_dict("records")
        for left, right in combinations(ordered, 2):
            rows.append(
                {
                    "left_key": left["identifier_key"],
                    "right_key": right["identifier_key"],
                    "left_type": left["identifier_type"],
                    "left_value": left["identifier_value"],
                    "right_type": right["identifier_type"],
                    "right_value": right["identifier_value"],
                    "occurred_at": left["occurred_at"],
                }
            )
    pairs = pd.DataFrame(rows)
    keys = ["left_key", "right_key", "left_type", "left_value", "right_type", "right_value"]
    grouped = pairs.groupby(keys, as_index=False).agg(
        first_seen_at=("occurred_at", "min"), event_count=("occurred_at", "size")
    )
    return _sorted(grouped)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[LINK_COLUMNS].copy()
    frame["event_count"] = frame["event_count"].astype("int64")
    return frame.sort_values(["left_key", "right_key"]).reset_index(drop=True)


def _links(db_path: Path) -> pd.DataFrame:
    return _sorted(query(db_path, f"select * from {LINKS}"))


def _project_with_links(root: Path, old: str, new: str) -> Path:
    """A copy of the dbt project whose int_identity_links has ``old`` replaced by ``new``."""
    return _project_with(root, Path("models/intermediate/identity/int_identity_links.sql"), old, new)


def _project_with(root: Path, relative: Path, old: str, new: str) -> Path:
    """A copy of the dbt project whose file ``relative`` has ``old`` replaced by ``new``."""
    root.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    model = root / relative
    text = model.read_text()
    assert text.count(old) == 1
    model.write_text(text.replace(old, new))
    return root


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """One full refresh of both days; and day 1 from scratch, then both days incrementally."""
    work = tmp_path_factory.mktemp("increment_models")
    one_step, two_steps, _ = build_two_steps(work, ARGS, BATCH_1, BATCH_1 + BATCH_2 + LATE_LANDED)
    return work, one_step, two_steps


def test_links_equal_the_pairs_computed_in_pandas(worlds):
    _, one_step, two_steps = worlds
    for db_path in (one_step, two_steps):
        expected, got = _expected_links(db_path), _links(db_path)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    links = _links(one_step)
    # the day-2 merge: Ann's new user_id is linked to the visitor's browser
    merged = links[(links["left_key"] == "anonymous_id:anon_v") & (links["right_key"] == "user_id:u_ann2")]
    assert merged["event_count"].tolist() == [2]
    # blocked user_ids link nothing
    assert not links["right_key"].isin(["user_id:null", "user_id:0"]).any()
    # the late February event adds to Dora's pair and moves nothing else
    dora = links[(links["left_key"] == "anonymous_id:anon_d") & (links["right_key"] == "user_id:u_dora")]
    assert dora["event_count"].tolist() == [5]


def test_the_increment_equals_a_full_refresh(worlds):
    _, one_step, two_steps = worlds
    only_two, only_one, rows = except_all_counts(two_steps, one_step, LINKS)
    assert (only_two, only_one) == (0, 0) and rows > 0


def test_without_the_blocked_keys_the_comparison_fails(worlds, tmp_path):
    """Negative control: adding up the link days without leaving out the blocked keys
    links the junk user_ids 'guest' and '0' to Bob's browser and device (the feed of
    tests_py/test_incremental_identity.py; 'null' is a null marker, missing from staging on)."""
    work, one_step, _ = worlds
    project = _project_with_links(
        tmp_path / "project",
        "        blocked_left.identifier_key is null\n        and blocked_right.identifier_key is null\n",
        "        1 = 1\n",
    )
    broken = tmp_path / "broken.duckdb"
    shutil.copy(one_step, broken)
    run_dbt([*ARGS, "--full-refresh"], broken, tmp_path / "t", raw_dir=work / "raw_all", project_dir=project)
    got = _links(broken)
    expected = _expected_links(broken)
    assert len(got) > len(expected)
    only_broken, only_good, _ = except_all_counts(broken, one_step, LINKS)
    assert only_broken > 0 and only_good == 0
    extra = got[~got["left_key"].isin(expected["left_key"]) | ~got["right_key"].isin(expected["right_key"])]
    assert set(extra["right_key"]) == {"user_id:guest", "user_id:0"}


VOLUMES = "intermediate.int_event_volumes_filled"
QA = "marts.fct_instrumentation_qa_daily"
VOLUME_ARGS = ["build", "--select", "+fct_instrumentation_qa_daily", "--exclude", "test_type:data",
               "test_type:unit"]  # fmt: skip
# Day 2 extras: an event name the tracking plan does not know (UNKNOWN_EVENT, quarantined,
# a series of its own), Bob's late page view of 2 March, a series day 1 already has, and
# Ann's late feature use of 27 February (the mobile app synced it on 12 March), two days
# before the feature_used series' first day (1 March).
VOLUME_EXTRAS = [
    _event("h30", "report_exported", "2026-03-11T11:00:00Z", "2026-03-11T11:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_h1", report="mrr"),
    _event("h31", "page_viewed", "2026-03-02T15:00:00Z", "2026-03-12T09:30:00Z",
           "anon_b", "dev_b", "", "", page_path="/docs"),
    _event("h32", "feature_used", "2026-02-27T14:00:00Z", "2026-03-12T10:00:00Z",
           "anon_a", "dev_a", "u_ann", "acc_h1", feature_name="exports", usage_count=1),
]  # fmt: skip
# A device whose clock is three years behind: its page view of 5 March says 2023-05-01,
# quarantined OCCURRED_TOO_LONG_AGO (counted on its receive day); on day 2 the SDK sends it
# again (same event_id): a redelivery, marked duplicate with no reason code of its own, so
# its own activity day is 1 May 2023.
SKEWED = _event("h33", "page_viewed", "2023-05-01T10:00:00Z", "2026-03-05T10:00:00Z",
                "anon_z", "dev_z", "", "", page_path="/")  # fmt: skip
VOLUME_DAY_1 = [SKEWED]
VOLUME_EXTRAS.append({**SKEWED, "received_at": "2026-03-11T10:05:00Z"})
# the days between the late events and the recent ones, which the increment keeps
KEPT_DAYS = ["2026-02-26", "2026-02-28", "2026-03-01", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]


def _rebuilt(target: Path) -> tuple[list[str], str]:
    """The days the last incremental run compiled into the model as rebuilt: the listed
    days, and the day after which every day is rebuilt."""
    compiled = target / "target" / "compiled" / "lawn" / "models" / "intermediate" / "quality"
    text = (compiled / "int_event_volumes_filled.sql").read_text()
    kept = re.search(r"where not \((.*?activity_date > cast\('[0-9-]+' as date\))\)", text, re.S).group(1)
    listed = re.findall(r"cast\('([0-9-]+)' as date\)", kept.split(" or ")[0]) if " in (" in kept else []
    after = re.findall(r"activity_date > cast\('([0-9-]+)' as date\)", kept)
    assert len(after) == 1, kept
    return listed, after[0]


def _received_since(target: Path) -> str:
    """The receive time the last incremental run read first deliveries from."""
    compiled = target / "target" / "compiled" / "lawn" / "models" / "intermediate" / "quality"
    text = (compiled / "int_event_volumes_filled.sql").read_text()
    found = set(re.findall(r"received_at >= cast\('([0-9: -]+)' as timestamp\)", text))
    assert len(found) == 1, found
    return found.pop()


def _only_in(left: Path, right: Path, table: str) -> pd.DataFrame:
    """The rows of ``table`` in ``left`` that ``right`` lacks (EXCEPT ALL)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as one (read_only)")
        con.execute(f"attach '{right}' as two (read_only)")
        return con.execute(f"select * from one.{table} except all select * from two.{table}").df()


@pytest.fixture(scope="module")
def volume_worlds(tmp_path_factory):
    """One full refresh of both days; day 1 from scratch, then both days incrementally; a
    copy of the latter after day 1."""
    work = tmp_path_factory.mktemp("increment_volumes")
    _write_events(work / "raw_all", BATCH_1 + VOLUME_DAY_1 + BATCH_2 + LATE_LANDED + VOLUME_EXTRAS)
    _write_events(work / "raw_first", BATCH_1 + VOLUME_DAY_1)
    one_step = work / "one_step.duckdb"
    run_dbt([*VOLUME_ARGS, "--full-refresh"], one_step, work / "t1", raw_dir=work / "raw_all")
    two_steps = work / "two_steps.duckdb"
    run_dbt([*VOLUME_ARGS, "--full-refresh"], two_steps, work / "t2", raw_dir=work / "raw_first")
    after_first = work / "after_first.duckdb"
    shutil.copy(two_steps, after_first)
    run_dbt(VOLUME_ARGS, two_steps, work / "t2", raw_dir=work / "raw_all")
    return work, one_step, two_steps, after_first


def test_volumes_increment_equals_a_full_refresh(volume_worlds):
    work, one_step, two_steps, after_first = volume_worlds
    # int_events_validated too: the volumes read its property counts (docs/full_build_cost.md)
    for table in ("intermediate.int_events_validated", VOLUMES, QA):
        only_two, only_one, rows = except_all_counts(two_steps, one_step, table)
        assert (only_two, only_one) == (0, 0) and rows > 0, table
    # the run rebuilt the late events' days (Dora's invoice of 25 February, Ann's feature
    # use of 27 February, Bob's page view of 2 March), the receive days of the window (72 h
    # before day 1's last receive time, 10 March 18:00, on) and every day after the last
    # other day with events (6 March); not the days between
    # (and the skewed redelivery's own day, 1 May 2023: a day no row has, rebuilt for nothing)
    listed, after = _rebuilt(work / "t2")
    assert listed == ["2023-05-01", "2026-02-25", "2026-02-27", "2026-03-02", "2026-03-08",
                      "2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12"]  # fmt: skip
    assert after == "2026-03-06"
    # deliveries (with their property counts) are read from the window's start (10 March 18:00:01
    # minus 72 h): the listed days with events before it (none) would move it back, the
    # days without (2023, the late events' days) cannot hold an older delivery
    assert _received_since(work / "t2") == "2026-03-07 18:00:01"
    # the redelivery counts nowhere: the skewed page view still counts once, on 5 March
    early = "rollup_level = 'version' and activity_date < date '2026-02-20'"
    assert query(two_steps, f"select * from {VOLUMES} where {early}").empty
    got = query(two_steps, f"select * from {VOLUMES}")
    # the new event name is a series of its own, first seen on day 2, flagged unknown,
    # zero-filled to the last day of data
    new = got[(got["event_name"] == "report_exported") & (got["rollup_level"] == "version")]
    new = new.sort_values("activity_date")
    assert new["activity_date"].astype(str).tolist() == ["2026-03-11", "2026-03-12"]
    assert new["event_count"].tolist() == [1, 0] and new["quarantined_count"].tolist() == [1, 0]
    assert new["is_unknown_event"].tolist() == [True, True]
    # Bob's late page view of 2 March counts on 2 March, on its version row and its day row
    day = got[(got["rollup_level"] == "day") & (got["activity_date"].astype(str) == "2026-03-02")]
    before = query(after_first, f"select * from {VOLUMES}")
    day_before = before[
        (before["rollup_level"] == "day") & (before["activity_date"].astype(str) == "2026-03-02")
    ]
    assert day["event_count"].tolist() == [day_before["event_count"].iloc[0] + 1]
    # the days before and between the rebuilt ones kept day 1's counts: every row of day 1
    # on those days is there (first day and flag aside, which the post-hooks settle)
    days = ", ".join(f"date '{day}'" for day in ["2026-02-20", "2026-02-21", *KEPT_DAYS])
    settled = "is_unknown_event, first_seen_date"
    kept = f"select * exclude ({settled}) from {VOLUMES} where activity_date in ({days})"
    with duckdb.connect() as con:
        con.execute(f"attach '{after_first}' as one (read_only)")
        con.execute(f"attach '{two_steps}' as two (read_only)")
        differ = con.execute(
            f"select count(*) from ({kept.replace(VOLUMES, 'one.' + VOLUMES)}"
            f" except all {kept.replace(VOLUMES, 'two.' + VOLUMES)})"
        ).fetchone()[0]
        kept_rows = con.execute(
            f"select count(*) from ({kept.replace(VOLUMES, 'one.' + VOLUMES)})"
        ).fetchone()[0]
    assert differ == 0 and kept_rows > 0
    # Ann's late feature use moved the feature_used series' first day from 1 March to 27
    # February: its kept rows carry the new first day, and 28 February (kept, no event) is
    # a zero-filled row the run added
    feature = got[(got["event_name"] == "feature_used") & (got["rollup_level"] == "version")]
    feature = feature.sort_values("activity_date")
    assert set(feature["first_seen_date"].astype(str)) == {"2026-02-27"}
    assert feature["activity_date"].astype(str).tolist()[:3] == ["2026-02-27", "2026-02-28", "2026-03-01"]
    assert feature["event_count"].tolist()[:3] == [1, 0, 1]
    old_feature = before[(before["event_name"] == "feature_used") & (before["rollup_level"] == "version")]
    assert set(old_feature["first_seen_date"].astype(str)) == {"2026-03-01"}


def test_volumes_increment_with_no_new_data_equals_a_full_refresh(volume_worlds, tmp_path):
    work, one_step, two_steps, _ = volume_worlds
    again = tmp_path / "again.duckdb"
    shutil.copy(two_steps, again)
    run_dbt(VOLUME_ARGS, again, tmp_path / "t", raw_dir=work / "raw_all")
    for table in (VOLUMES, QA):
        only_two, only_one, rows = except_all_counts(again, one_step, table)
        assert (only_two, only_one) == (0, 0) and rows > 0, table
    # the lookback window (72 h before the newest receive time, 12 March 10:00) still holds
    # the late events received on 11 and 12 March: their occurred days are rebuilt again
    listed, after = _rebuilt(tmp_path / "t")
    assert listed[:4] == ["2023-05-01", "2026-02-25", "2026-02-27", "2026-03-02"] and after == "2026-03-09"


def test_volumes_rebuilt_from_receive_days_alone_fail(volume_worlds, tmp_path):
    """Negative control: without the activity days in the rebuilt days (receive days
    only), the late events' days (25 and 27 February, 2 March) are not rebuilt and the
    increment differs from the full refresh on them."""
    work, one_step, _, after_first = volume_worlds
    project = _project_with(
        tmp_path / "project",
        Path("macros/quality/volume_rebuild_days.sql"),
        "            select activity_date from rewritten\n",
        "            select cast(received_at as date) from rewritten\n",
    )
    stale = tmp_path / "stale.duckdb"
    shutil.copy(after_first, stale)
    run_dbt(VOLUME_ARGS, stale, tmp_path / "t", raw_dir=work / "raw_all", project_dir=project)
    # receive days from the watermark (10 March 18:00) minus 72 h on: the late-landed row
    # received on 8 March is the first
    receive_days = ["2026-03-08", "2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12"]
    assert _rebuilt(tmp_path / "t") == (receive_days, "2026-03-06")
    only_stale, only_full, _ = except_all_counts(stale, one_step, VOLUMES)
    assert only_stale > 0 and only_full > 0
    with duckdb.connect() as con:
        con.execute(f"attach '{stale}' as one (read_only)")
        con.execute(f"attach '{one_step}' as two (read_only)")
        days = con.execute(
            f"select distinct cast(activity_date as varchar) from (select * from two.{VOLUMES}"
            f" except all select * from one.{VOLUMES}) order by 1"
        ).fetchall()
    # the full refresh's rows the stale table lacks start on the late invoice's day: the
    # late events' days, the invoice series it started on 25 February (zero-filled days,
    # and its first day on the rebuilt rows)
    missing = [day for (day,) in days]
    assert {"2026-02-25", "2026-02-27", "2026-03-02"} <= set(missing) and min(missing) == "2026-02-25"


@pytest.mark.parametrize(
    ("hook", "what"),
    [
        # the kept rows of feature_used keep 1 March as their first day
        ("settle_volume_first_seen_dates('update')", "first day"),
        # the zero-filled days an earlier first day adds (28 February for feature_used, the
        # kept days of the invoice series first seen on 25 February) are missing
        ("rebuilt_grid", "zero-filled days"),
    ],
)
def test_volumes_without_first_day_settling_fail(volume_worlds, tmp_path, hook, what):
    """Negative controls: without the post-hook that gives the kept rows their series'
    new first day, or without the zero-filled kept days the model adds (the grid limited
    to the rebuilt days, as when only the rebuilt days were written), the increment
    differs from the full refresh exactly in those rows."""
    work, one_step, _, after_first = volume_worlds
    model = Path("models/intermediate/quality/int_event_volumes_filled.sql")
    if what == "first day":
        project = _project_with(tmp_path / "project", model, f'"{{{{ {hook} }}}}",', "")
    else:
        project = _project_with(
            tmp_path / "project", model, "            or not exists (\n", "            and not exists (\n"
        )
    broken = tmp_path / "broken.duckdb"
    shutil.copy(after_first, broken)
    run_dbt(VOLUME_ARGS, broken, tmp_path / "t", raw_dir=work / "raw_all", project_dir=project)
    extra, missing = _only_in(broken, one_step, VOLUMES), _only_in(one_step, broken, VOLUMES)
    if what == "first day":
        # the same rows, with the old first day: feature_used's kept days at two levels
        assert len(extra) == len(missing) > 0
        assert set(extra["first_seen_date"].astype(str)) == {"2026-03-01"}
        assert set(missing["first_seen_date"].astype(str)) == {"2026-02-27"}
        assert set(extra["event_name"]) == {"feature_used"}
        assert set(extra["activity_date"].astype(str)) == {"2026-03-01", "2026-03-03", "2026-03-04",
                                                           "2026-03-05", "2026-03-06"}  # fmt: skip
    else:
        assert len(extra) == 0 and len(missing) > 0
        assert set(missing["activity_date"].astype(str)) <= set(KEPT_DAYS)
        assert (missing["event_count"] == 0).all()
        assert set(missing["event_name"]) == {"feature_used", "first_invoice_sent"}


LOGGED_IN_PLAN_ROW = "logged_in,1,identity,live,2025-01-06,growth,A user authenticated.\n"
PLAN = Path("seeds/tracking_plan/tracking_plan_events.csv")


def test_unknown_flag_reaches_the_kept_days(tmp_path):
    """The tracking plan drops logged_in between the two runs: deliveries validated from
    then on are UNKNOWN_EVENT, older ones stay valid (int_events_validated does not judge
    stored rows again). The series' flag is the one over all its days, on the kept days
    too, as a full rebuild of the volumes from the same int_events_validated gives it; a
    negative control without the post-hook leaves the kept days unflagged."""
    day_2 = [row for row in BATCH_2 if row["event_id"] == "h14"]  # Bob logs in on 12 March
    _write_events(tmp_path / "raw_first", BATCH_1)
    _write_events(tmp_path / "raw_all", BATCH_1 + day_2)
    first = tmp_path / "first.duckdb"
    run_dbt([*VOLUME_ARGS, "--full-refresh"], first, tmp_path / "t0", raw_dir=tmp_path / "raw_first")
    dropped = _project_with(tmp_path / "dropped", PLAN, LOGGED_IN_PLAN_ROW, "")
    unflagged = _project_with(
        tmp_path / "unflagged",
        Path("models/intermediate/quality/int_event_volumes_filled.sql"),
        '"{{ spread_unknown_event_flag() }}",',
        "",
    )
    (unflagged / PLAN).write_text((dropped / PLAN).read_text())
    built = {}
    for name, project in (("dropped", dropped), ("unflagged", unflagged)):
        incremental, rebuilt = tmp_path / f"{name}.duckdb", tmp_path / f"{name}_rebuilt.duckdb"
        shutil.copy(first, incremental)
        raw = tmp_path / "raw_all"
        run_dbt(VOLUME_ARGS, incremental, tmp_path / f"{name}_t", raw_dir=raw, project_dir=project)
        shutil.copy(incremental, rebuilt)
        rebuild = [
            "run",
            "--select",
            "int_event_volumes_filled",
            "fct_instrumentation_qa_daily",
            "--full-refresh",
        ]
        run_dbt(rebuild, rebuilt, tmp_path / f"{name}_t2", project_dir=project)
        built[name] = (incremental, rebuilt)
    # the rebuild day is after the series' first day (4 March), so its early days are kept
    assert _rebuilt(tmp_path / "dropped_t")[0][0] == "2026-03-09"
    incremental, rebuilt = built["dropped"]
    flags = query(
        incremental,
        f"select distinct is_unknown_event from {VOLUMES} where event_name = 'logged_in'"
        " and rollup_level = 'version'",
    )
    assert flags["is_unknown_event"].tolist() == [True]
    for table in (VOLUMES, QA):
        only_incremental, only_rebuilt, rows = except_all_counts(incremental, rebuilt, table)
        assert (only_incremental, only_rebuilt) == (0, 0) and rows > 0, table
    incremental, rebuilt = built["unflagged"]
    only_incremental, only_rebuilt, _ = except_all_counts(incremental, rebuilt, VOLUMES)
    stale = query(
        incremental,
        f"select count(*) as n from {VOLUMES} where event_name = 'logged_in' and not is_unknown_event",
    )["n"].iloc[0]
    assert only_incremental == only_rebuilt == stale > 0


def test_kept_rows_before_the_first_day_are_deleted(volume_worlds, tmp_path):
    """A first day that moves later (its only delivery re-judged onto a later day) leaves
    zero-filled kept rows before the new first day; the post-hook deletes them. Planted
    here: day 1's table gets a zero row of the page_viewed series on 23 February, three
    days before its first day (26 February), a kept day of the increment. The increment
    equals the full refresh; without the delete hook exactly that row is left."""
    work, one_step, _, after_first = volume_worlds
    plant = (
        f"insert into {VOLUMES} select * replace (date '2026-02-23' as activity_date, 0 as event_count,"
        " 0 as sender_count, 0 as valid_count, 0 as quarantined_count, 0 as on_time_count,"
        " 0 as within_48h_count, 0 as declared_property_count, 0 as present_property_count,"
        f" null as last_received_at) from {VOLUMES} where event_name = 'page_viewed'"
        " and rollup_level = 'version' and activity_date = date '2026-02-26'"
    )
    model = Path("models/intermediate/quality/int_event_volumes_filled.sql")
    hook = "\"{{ settle_volume_first_seen_dates('delete') }}\","
    kept_delete = _project_with(tmp_path / "project", model, hook, "")
    results = {}
    for name, project in (("with", REPO_ROOT), ("without", kept_delete)):
        db_path = tmp_path / f"{name}.duckdb"
        shutil.copy(after_first, db_path)
        with duckdb.connect(str(db_path)) as con:
            assert con.execute(plant).fetchone()[0] == 1
        run_dbt(VOLUME_ARGS, db_path, tmp_path / f"t_{name}", raw_dir=work / "raw_all", project_dir=project)
        results[name] = (_only_in(db_path, one_step, VOLUMES), _only_in(one_step, db_path, VOLUMES))
    extra, missing = results["with"]
    assert len(extra) == len(missing) == 0
    extra, missing = results["without"]
    assert len(missing) == 0 and len(extra) == 1
    assert extra["activity_date"].astype(str).tolist() == ["2026-02-23"]
