"""Incremental identity links (docs/incremental_identity_links.md): int_identity_link_days
counts identifier pairs per receive day and an incremental run recounts only the days of
its lookback window; int_identity_link_totals adds the days up per pair, again only for the
pairs whose days were recounted; int_identity_links keeps the pairs of unblocked keys.

Hand-written feed (raw envelope and tracking plan, not lawn's generator), on top of the
two days of test_incremental_identity: on day 2 a pair seen for the first time (Ann's new
user_id on the visitor's browser), pairs seen again (Bob's and Dora's), Dora's event of
10 March (inside the lookback window) delivered a second time, a late February event and a
row the loader landed late; on day 1 an event of Bob's whose device_id and user_id are both
junk ('0'), a pair that names nobody.

- Every table equals an independent pandas computation from int_identity_observations (the
  totals: from the link days), and
  the two-step world (day 1 from scratch, then both days incrementally) equals one full
  refresh (EXCEPT ALL both ways) for the link days, the links and the identity tables and
  marts after them.
- The increment read only the receive days of its window (the compiled predicate).
- Erasure of Bob, then an incremental build, equals a full refresh; without the per-day
  step of lawn/privacy.py (negative control) exactly the junk pair's row is left over, and
  without its drop of the totals (negative control) the junk pair's total stays (its link
  day, 4 March, is older than the totals' window) and reaches the links.
- Retention cutting a receive day in the middle: the next build recounts that day from the
  observations left."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from itertools import combinations
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import lawn.privacy
from lawn.privacy import erase
from lawn.retention import load_policies, load_targets
from tests_py.conftest import query, run_dbt
from tests_py.test_incremental_identity import (
    BATCH_1,
    BATCH_2,
    LATE_LANDED,
    _event,
    build_two_steps,
    except_all_counts,
)

LINK_DAYS = "intermediate.int_identity_link_days"
LINK_TOTALS = "intermediate.int_identity_link_totals"
LINKS = "intermediate.int_identity_links"
COMPARED = [
    LINK_DAYS,
    LINK_TOTALS,
    LINKS,
    "intermediate.int_identity_observations",
    "intermediate.int_identity_user_overlaps",
    "intermediate.int_identity_map",
    "pii.pii_user_match_profiles",
    "marts.dim_identifiers",
    "marts.dim_users",
    "marts.fct_identity_merges",
]
SELECT = [
    "+dim_identifiers",
    "+dim_users",
    "+fct_identity_merges",
    "+pii_user_match_profiles",
    "+pii_identifiers",
]
ARGS = ["build", "--select", *SELECT, "--exclude", "test_type:data", "test_type:unit"]
# Bob's login from a client that sent '0' for both its device and its user: a pair of two
# blocked values, on no one's identifier but on Bob's event (anon_b)
JUNK_PAIR = _event("h40", "logged_in", "2026-03-04T11:00:00Z", "2026-03-04T11:00:01Z",
                   "anon_b", "0", "0", "acc_h1", login_method="password")  # fmt: skip
# Dora's login of 10 March 18:00 (inside day 2's lookback window) delivered again on day 2
REDELIVERED = {**BATCH_1[-1], "received_at": "2026-03-11T07:00:00Z"}
DAY_1 = [*BATCH_1, JUNK_PAIR]
ALL_DAYS = [*DAY_1, *BATCH_2, *LATE_LANDED, REDELIVERED]
DAY_COLUMNS = ["left_key", "right_key", "received_date", "first_seen_at", "event_count", "last_received_at"]


def _expected_link_days(db_path: Path) -> pd.DataFrame:
    """Every two keys of one event (blocked or not, smaller key on the left), counted per
    receive day, computed in pandas from the observations."""
    observations = query(db_path, "select event_id, occurred_at, received_at, identifier_key"
                                  " from intermediate.int_identity_observations")  # fmt: skip
    rows = []
    for _, event in observations.groupby("event_id"):
        ordered = event.sort_values("identifier_key").to_dict("records")
        for left, right in combinations(ordered, 2):
            rows.append((left["identifier_key"], right["identifier_key"], left["received_at"].date(),
                         left["occurred_at"], left["received_at"]))  # fmt: skip
    pairs = pd.DataFrame(
        rows, columns=["left_key", "right_key", "received_date", "occurred_at", "received_at"]
    )
    grouped = pairs.groupby(["left_key", "right_key", "received_date"], as_index=False).agg(
        first_seen_at=("occurred_at", "min"),
        event_count=("occurred_at", "size"),
        last_received_at=("received_at", "max"),
    )
    return _sorted(grouped)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[DAY_COLUMNS].copy()
    frame["received_date"] = pd.to_datetime(frame["received_date"]).dt.date
    frame["event_count"] = frame["event_count"].astype("int64")
    return frame.sort_values(["left_key", "right_key", "received_date"]).reset_index(drop=True)


def _link_days(db_path: Path) -> pd.DataFrame:
    return _sorted(query(db_path, f"select * from {LINK_DAYS}"))


def _check_totals(db_path: Path) -> pd.DataFrame:
    """The totals equal the link days added up per pair in pandas (blocked keys included)."""
    days = query(db_path, f"select * from {LINK_DAYS}")
    expected = (
        days.groupby(["left_key", "right_key"], as_index=False)
        .agg(first_seen_at=("first_seen_at", "min"), event_count=("event_count", "sum"),
             first_received_date=("received_date", "min"), last_received_at=("last_received_at", "max"))
        .sort_values(["left_key", "right_key"])
        .reset_index(drop=True)
    )  # fmt: skip
    expected["first_received_date"] = pd.to_datetime(expected["first_received_date"]).dt.date
    got = query(db_path, f"select * from {LINK_TOTALS} order by left_key, right_key")
    got["first_received_date"] = pd.to_datetime(got["first_received_date"]).dt.date
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)
    return got


def _differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for table in COMPARED:
        only_left, only_right, rows = except_all_counts(left, right, table)
        assert rows > 0, table
        found[table] = (only_left, only_right)
    return found


NO_DIFFERENCE = {table: (0, 0) for table in COMPARED}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """One full refresh of both days; day 1 from scratch, then both days incrementally."""
    work = tmp_path_factory.mktemp("incremental_links")
    one_step, two_steps, after_first = build_two_steps(work, ARGS, DAY_1, ALL_DAYS)
    return work, one_step, two_steps, after_first


def test_link_days_equal_the_pairs_counted_in_pandas(worlds):
    _, one_step, two_steps, after_first = worlds
    for db_path in (one_step, two_steps, after_first):
        pd.testing.assert_frame_equal(_link_days(db_path), _expected_link_days(db_path), check_dtype=False)
    days = _link_days(two_steps)
    # Dora's pair: her four events of day 1's window and the late invoice, once each; the
    # second delivery of her 10 March login adds nothing
    dora = days[(days["left_key"] == "anonymous_id:anon_d") & (days["right_key"] == "user_id:u_dora")]
    assert dict(zip(dora["received_date"].astype(str), dora["event_count"], strict=True)) == {
        "2026-02-20": 2, "2026-03-08": 1, "2026-03-10": 1, "2026-03-11": 1}  # fmt: skip
    # the junk pair is kept here (the blocklist may change) and left out of the links
    assert ((days["left_key"] == "device_id:0") & (days["right_key"] == "user_id:0")).sum() == 1
    links = query(two_steps, f"select * from {LINKS}")
    assert not links["left_key"].str.endswith(":0").any() and not links["right_key"].str.endswith(":0").any()
    # a pair first seen on day 2, and one seen again on day 2
    new = links[(links["left_key"] == "anonymous_id:anon_v") & (links["right_key"] == "user_id:u_ann2")]
    assert new["event_count"].tolist() == [2]
    bob = links[(links["left_key"] == "anonymous_id:anon_b") & (links["right_key"] == "user_id:u_bob")]
    assert bob["event_count"].tolist() == [4]
    assert str(bob["first_seen_at"].iloc[0]) == "2026-03-03 09:00:00"


def test_links_are_the_days_added_up(worlds):
    """The totals are the link days added up (after the full refresh, day 1 from scratch and
    the increment), and int_identity_links equals the pairs of unblocked keys counted in
    pandas over the whole history of the observations."""
    _, one_step, two_steps, after_first = worlds
    for db_path in (one_step, two_steps, after_first):
        totals = _check_totals(db_path)
    # the junk pair of two blocked '0's is in the totals, not in the links
    assert ((totals["left_key"] == "device_id:0") & (totals["right_key"] == "user_id:0")).sum() == 1
    for db_path in (one_step, two_steps):
        observations = query(
            db_path,
            "select event_id, occurred_at, identifier_key, identifier_type, identifier_value"
            " from intermediate.int_identity_observations where not is_blocked",
        )
        rows = []
        for _, event in observations.groupby("event_id"):
            ordered = event.sort_values("identifier_key").to_dict("records")
            for left, right in combinations(ordered, 2):
                rows.append((left["identifier_key"], right["identifier_key"], left["identifier_type"],
                             left["identifier_value"], right["identifier_type"], right["identifier_value"],
                             left["occurred_at"]))  # fmt: skip
        keys = ["left_key", "right_key", "left_type", "left_value", "right_type", "right_value"]
        expected = (
            pd.DataFrame(rows, columns=[*keys, "occurred_at"])
            .groupby(keys, as_index=False)
            .agg(first_seen_at=("occurred_at", "min"), event_count=("occurred_at", "size"))
            .sort_values(["left_key", "right_key"])
            .reset_index(drop=True)
        )
        got = query(db_path, f"select * from {LINKS} order by left_key, right_key")
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_two_steps_equal_one_full_refresh(worlds):
    _, one_step, two_steps, _ = worlds
    assert _differences(two_steps, one_step) == NO_DIFFERENCE


def test_the_increment_reads_only_its_window_days(worlds):
    """Day 1's newest pair was received 10 March 18:00:01; 72 hours earlier is 7 March, so
    the increment recounts 7 March on (and the oldest day, 20 February)."""
    work, _, _, _ = worlds
    compiled = work / "t2" / "target" / "compiled" / "lawn" / "models" / "intermediate" / "identity"
    text = (compiled / "int_identity_link_days.sql").read_text()
    assert re.findall(r"received_at >= cast\('([0-9-]+)' as timestamp\)", text) == ["2026-03-07"]
    assert re.findall(r"received_at < cast\('([0-9-]+)' as timestamp\)", text) == ["2026-02-21"]


def _erase_bob_and_rebuild(worlds, tmp_path: Path) -> tuple[Path, Path]:
    _, _, two_steps, _ = worlds
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(two_steps, incremental)
    erase(incremental, user_id="u_bob")
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(incremental, refreshed)
    # the raw landing lost Bob's rows in the erasure: build from it as it is
    run_dbt(ARGS, incremental, tmp_path / "t2")
    run_dbt([*ARGS, "--full-refresh"], refreshed, tmp_path / "t1")
    return incremental, refreshed


def test_after_an_erasure_the_increment_equals_a_full_refresh(worlds, tmp_path):
    incremental, refreshed = _erase_bob_and_rebuild(worlds, tmp_path)
    assert _differences(incremental, refreshed) == NO_DIFFERENCE
    days = _link_days(incremental)
    assert not days["left_key"].str.contains("_b$").any() and not (days["left_key"] == "device_id:0").any()


def test_without_the_per_day_erasure_step_the_junk_pair_stays(worlds, tmp_path, monkeypatch):
    """Negative control: the value sweep cannot find the pair of two '0's of Bob's event.
    Its row stays in the link days, and reaches the links: with Bob's events gone no
    observation says that '0' is blocked any more."""
    monkeypatch.setattr(lawn.privacy, "PER_DAY_TABLES", {})
    incremental, refreshed = _erase_bob_and_rebuild(worlds, tmp_path)
    differences = _differences(incremental, refreshed)
    assert differences == {**NO_DIFFERENCE, LINK_DAYS: (1, 0), LINK_TOTALS: (1, 0), LINKS: (1, 0)}
    junk = [("device_id:0", "user_id:0")]
    assert _left_over_pairs(incremental, refreshed, (LINK_DAYS, LINK_TOTALS, LINKS)) == {
        LINK_DAYS: junk, LINK_TOTALS: junk, LINKS: junk}  # fmt: skip


def _left_over_pairs(left: Path, right: Path, tables: tuple[str, ...]) -> dict[str, list[tuple]]:
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as one (read_only)")
        con.execute(f"attach '{right}' as two (read_only)")
        keys = "select left_key, right_key from"
        return {
            table: con.execute(f"{keys} one.{table} except all {keys} two.{table}").fetchall()
            for table in tables
        }


def test_without_dropping_the_totals_the_junk_pair_reaches_the_links(worlds, tmp_path, monkeypatch):
    """Negative control: the erasure deletes the link days from Bob's first changed day (3
    March) on, older than the totals' window (7 March on: 72 hours before their newest
    receive time). Kept, the totals would not add up the junk pair again: its total stays,
    and the links keep it (no observation says '0' is blocked once Bob's events are gone)."""
    monkeypatch.setattr(lawn.privacy, "LINK_TOTALS", "intermediate.int_identity_link_totals_not_dropped")
    incremental, refreshed = _erase_bob_and_rebuild(worlds, tmp_path)
    assert _differences(incremental, refreshed) == {**NO_DIFFERENCE, LINK_TOTALS: (1, 0), LINKS: (1, 0)}
    junk = [("device_id:0", "user_id:0")]
    assert _left_over_pairs(incremental, refreshed, (LINK_TOTALS, LINKS)) == {LINK_TOTALS: junk, LINKS: junk}


def test_retention_inside_a_day_is_recounted_by_the_next_build(worlds, tmp_path):
    """Retention with a cutoff inside 26 February (Ann's page view and sign-up go, her
    identify call of a few seconds later stays) deletes the observations before it and the
    link days whose every event is before it; the next build recounts 26 February from the
    observations left."""
    _, _, two_steps, _ = worlds
    db_path = tmp_path / "retained.duckdb"
    shutil.copy(two_steps, db_path)
    targets = {target.relation: target for target in load_targets(load_policies())}
    assert (
        targets[LINK_DAYS].retention_class
        == targets["intermediate.int_identity_observations"].retention_class
    )
    cutoff = dt.datetime(2026, 2, 26, 9, 0, 3)
    with duckdb.connect(str(db_path)) as con:
        for relation in ("intermediate.int_identity_observations", LINK_DAYS, LINK_TOTALS):
            con.execute(f"delete from {relation} where {targets[relation].time_column} < ?", [cutoff])
    stale = _link_days(db_path)
    ann = (stale["left_key"] == "anonymous_id:anon_a") & (stale["right_key"] == "user_id:u_ann")
    assert stale[ann]["event_count"].tolist()[0] == 2  # h02 (gone) and h03 on 26 February
    models = ["int_identity_link_days", "int_identity_link_totals", "int_identity_links"]
    run_dbt(
        ["build", "--select", *models, "--exclude", "test_type:data", "test_type:unit"],
        db_path,
        tmp_path / "t",
    )
    days = _link_days(db_path)
    pd.testing.assert_frame_equal(days, _expected_link_days(db_path), check_dtype=False)
    ann = (days["left_key"] == "anonymous_id:anon_a") & (days["right_key"] == "user_id:u_ann")
    assert days[ann]["event_count"].tolist()[0] == 1
    assert str(days["received_date"].min()) == "2026-02-26"
    # the totals of the pairs of the recounted day are added up again
    totals = _check_totals(db_path)
    ann = (totals["left_key"] == "anonymous_id:anon_a") & (totals["right_key"] == "user_id:u_ann")
    assert str(totals[ann]["first_received_date"].iloc[0]) == "2026-02-26"


def test_totals_drop_pairs_whose_recounted_days_are_gone(worlds, tmp_path):
    """A recount can leave a pair without the days it had in the window (its events left the
    valid events: a rule change, a redelivery ranked first). Planted in the totals of the
    two-step world: a pair the link days do not hold, first received on 1 March and last on
    the first day of the window (the day 72 hours before the newest receive time), and Bob's
    total with a wrong count. The next run adds up again the pairs it holds with a day in
    the window, finds no days for the planted pair and deletes it, and Bob's count is the
    sum of his days again. Without the branch that reads the pairs it holds, the planted
    row stays (checked by hand: this test then fails)."""
    _, _, two_steps, _ = worlds
    db_path = tmp_path / "planted.duckdb"
    shutil.copy(two_steps, db_path)
    with duckdb.connect(str(db_path)) as con:
        newest = con.execute(f"select max(last_received_at) from {LINK_TOTALS}").fetchone()[0]
        start = (newest - dt.timedelta(hours=72)).date()
        con.execute(
            f"insert into {LINK_TOTALS} (left_key, right_key, first_seen_at, event_count,"
            " first_received_date, last_received_at) values ('anonymous_id:ghost', 'user_id:ghost',"
            " timestamp '2026-03-01 10:00:00', 3, date '2026-03-01', ?)",
            [dt.datetime.combine(start, dt.time(10))],
        )
        con.execute(
            f"update {LINK_TOTALS} set event_count = event_count + 5"
            " where left_key = 'anonymous_id:anon_b' and right_key = 'user_id:u_bob'"
        )
    run_dbt(
        [
            "build",
            "--select",
            "int_identity_link_totals",
            "int_identity_links",
            "--exclude",
            "test_type:unit",
        ],
        db_path,
        tmp_path / "t",
    )
    totals = _check_totals(db_path)
    assert not (totals["left_key"] == "anonymous_id:ghost").any()
    assert except_all_counts(db_path, two_steps, LINKS)[:2] == (0, 0)
    compiled = (tmp_path / "t" / "target" / "compiled" / "lawn" / "models" / "intermediate" / "identity"
                / "int_identity_link_totals.sql").read_text()  # fmt: skip
    assert f"cast(last_received_at as date) >= cast('{start}' as date)" in compiled
