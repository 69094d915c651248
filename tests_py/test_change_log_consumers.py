"""int_activity_days applies the rows int_events_attributed's change log holds as deltas to
its per-day event counts (macros/attribution/attribution_changes.sql,
docs/incremental_attribution.md "The change log"). On a hand-written feed (raw envelope and
tracking plan, not lawn's generator):

- day 1: Ann and Bob use acc_1; in February a phone nobody has signed in on clicks a push
  notification (an activity event of an anonymous person, older than the lookback); Cara
  logged in once, in January;
- day 2: Zed signs up on that phone, so the day-1 click moves from the anonymous person to
  Zed; a late login of Ann's from February arrives; Bob logs in again.

After the two-step build, after an erasure, after a retention run and after a change of the
activity events, the incremental table holds, row for row, what a full refresh holds, and
its counts equal a pandas count of the attributed events. Negative controls: without the
moved rows in the log, without netting the lookback window's rows, with a retention run that
leaves the log in place, and without the configuration's fingerprint, the comparison fails."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from lawn.privacy import erase
from lawn.privacy_maps import ATTRIBUTION_CHANGES
from lawn.retention import apply_retention
from lawn.settings import var
from tests_py.conftest import query, run_dbt
from tests_py.test_increment_models import _project_with
from tests_py.test_incremental_identity import _event, build_two_steps, except_all_counts

TABLE = "intermediate.int_activity_days"
CONSUMED = "intermediate.int_activity_days__changes_consumed"
ARGS = ["build", "--select", "+int_activity_days", "+pii_identifiers", "--exclude", "test_type:data",
        "test_type:unit"]  # fmt: skip

DAY_1 = [
    _event("a01", "signed_up", "2026-03-01T09:00:00Z", "2026-03-01T09:00:01Z",
           "anon_a", "dev_a", "u_ann", "acc_1", email="ann@acme.io", signup_method="email"),
    _event("a02", "feature_used", "2026-03-02T10:00:00Z", "2026-03-02T10:00:02Z",
           "anon_a", "dev_a", "u_ann", "acc_1", feature_name="reports", usage_count=3),
    _event("a03", "notification_clicked", "2026-02-24T07:30:00Z", "2026-02-24T07:30:04Z",
           "anon_z", "dev_z", "", "", notification_type="reminder"),
    _event("a04", "signed_up", "2026-03-03T11:00:00Z", "2026-03-03T11:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_1", email="bob@acme.io", signup_method="invitation"),
    _event("a05", "logged_in", "2026-03-04T08:00:00Z", "2026-03-04T08:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_1", login_method="password"),
    _event("a06", "logged_in", "2026-01-15T12:00:00Z", "2026-01-15T12:00:01Z",
           "anon_c", "dev_c", "u_cara", "acc_2", login_method="google"),
    _event("a07", "logged_in", "2026-03-05T12:00:00Z", "2026-03-05T12:00:01Z",
           "anon_a", "dev_a", "u_ann", "acc_1", login_method="password"),
]  # fmt: skip
DAY_2 = [
    _event("a08", "signed_up", "2026-03-10T09:00:00Z", "2026-03-10T09:00:01Z",
           "anon_z", "dev_z", "u_zed", "acc_3", email="zed@zeta.dev", signup_method="email"),
    _event("a09", "logged_in", "2026-02-27T18:00:00Z", "2026-03-10T09:30:00Z",
           "anon_a", "dev_a", "u_ann", "acc_1", login_method="magic_link"),
    _event("a10", "logged_in", "2026-03-10T11:00:00Z", "2026-03-10T11:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_1", login_method="password"),
]  # fmt: skip


CHANGES_MACROS = "macros/attribution/attribution_changes.sql"


def _project(root: Path, old: str, new: str, path: str = CHANGES_MACROS) -> Path:
    """A copy of the dbt project with one edit of ``path`` (``old`` -> ``new``, present once)."""
    return _project_with(root, Path(path), old, new)


def _equal(left: Path, right: Path) -> None:
    only_left, only_right, rows = except_all_counts(left, right, TABLE)
    assert (only_left, only_right) == (0, 0) and rows > 0


def _days(db_path: Path) -> set[tuple[str, str, str]]:
    frame = query(db_path, f"select entity_type, entity_id, cast(activity_date as varchar) as d from {TABLE}")
    return {(row.entity_type, row.entity_id, row.d) for row in frame.itertuples()}


def _person_of(db_path: Path, event_id: str) -> str:
    sql = f"select person_id from intermediate.int_events_attributed where event_id = '{event_id}'"
    frame = query(db_path, sql)
    return str(frame["person_id"].iloc[0])


def _counted_in_pandas(db_path: Path) -> dict[tuple[str, str, str], int]:
    """The activity events per account and per person and day, counted in pandas from the
    attributed events (the dbt project's activity event list)."""
    names = var("activity_event_names")
    events = query(db_path, "select person_id, account_id, cast(occurred_date as varchar) as d, event_name"
                            " from intermediate.int_events_attributed")  # fmt: skip
    events = events[events["event_name"].isin(names)]
    counts: dict[tuple[str, str, str], int] = {}
    for kind, column in (("account", "account_id"), ("user", "person_id")):
        for (entity, day), n in events.dropna(subset=[column]).groupby([column, "d"]).size().items():
            counts[(kind, entity, day)] = int(n)
    return counts


def _stored_counts(db_path: Path) -> dict[tuple[str, str, str], int]:
    columns = "entity_type, entity_id, cast(activity_date as varchar) as d, activity_events"
    frame = query(db_path, f"select {columns} from {TABLE}")
    return {(r.entity_type, r.entity_id, r.d): int(r.activity_events) for r in frame.itertuples()}


def _full_refresh_of_the_table(db_path: Path, work: Path) -> Path:
    """A copy of ``db_path`` whose int_activity_days alone is rebuilt by a full refresh."""
    refreshed = work / "refreshed.duckdb"
    shutil.copy(db_path, refreshed)
    run_dbt(["run", "--select", "int_activity_days", "--full-refresh"], refreshed, work / "t_refresh")
    return refreshed


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    work = tmp_path_factory.mktemp("activity_days_changes")
    one_step, two_steps, after_first = build_two_steps(work, ARGS, DAY_1, DAY_1 + DAY_2)
    return work, one_step, two_steps, after_first


def test_the_increment_applies_the_changed_rows_and_equals_a_full_refresh(worlds):
    _, one_step, two_steps, after_first = worlds
    _equal(two_steps, one_step)
    assert _stored_counts(two_steps) == _counted_in_pandas(two_steps)
    assert _stored_counts(after_first) == _counted_in_pandas(after_first)
    # the planted move: the click was the phone's anonymous person's, now it is Zed's
    anonymous, zed = _person_of(after_first, "a03"), _person_of(two_steps, "a03")
    assert anonymous != zed == _person_of(two_steps, "a08")
    assert ("user", anonymous, "2026-02-24") in _days(after_first)
    assert ("user", zed, "2026-02-24") in _days(two_steps)
    assert not any(entity == anonymous for _, entity, _ in _days(two_steps))
    # the late login reaches Ann's and acc_1's February
    ann, bob = _person_of(two_steps, "a01"), _person_of(two_steps, "a04")
    assert {("user", ann, "2026-02-27"), ("account", "acc_1", "2026-02-27")} <= _days(two_steps)
    # the log: a full run (the first build), then the incremental one with exactly the rows
    # that changed: the move (out and in) and the three new events. The lookback window's
    # rows (a04, a05, a07), deleted and appended again unchanged, are not there.
    log = query(
        two_steps, f"select change_run, run_kind, change_sign, event_id, person_id from {ATTRIBUTION_CHANGES}"
    )
    runs = log[log.run_kind.notna()].sort_values("change_run")
    assert runs["run_kind"].tolist() == ["full", "incremental"]
    second = log[(log.change_run == runs["change_run"].iloc[1]) & log.run_kind.isna()]
    rows = sorted(zip(second.change_sign, second.event_id, second.person_id, strict=True))
    assert rows == sorted([(-1, "a03", anonymous), (1, "a03", zed), (1, "a08", zed), (1, "a09", ann),
                           (1, "a10", bob)])  # fmt: skip
    consumed = query(two_steps, f"select change_run from {CONSUMED}")["change_run"].tolist()
    assert consumed == [runs["change_run"].iloc[1]]


def _day_two(worlds, tmp_path: Path, project: Path | None = None, dbt_vars: dict | None = None) -> Path:
    """Day 2 built incrementally on a copy of the day-1 warehouse."""
    work, _, _, after_first = worlds
    db = tmp_path / "day_two.duckdb"
    shutil.copy(after_first, db)
    extra = {"project_dir": project} if project is not None else {}
    run_dbt(ARGS, db, tmp_path / "t2", raw_dir=work / "raw_all", dbt_vars=dbt_vars, **extra)
    return db


def test_without_the_moved_rows_in_the_log_the_comparison_fails(worlds, tmp_path):
    """Negative control: the re-attribution no longer logs the rows it moves; the anonymous
    person keeps its day and Zed lacks his."""
    project = _project(
        tmp_path / "project",
        "{{ apply_reattribution(this, resolved, attribution_changes_relation()) }}",
        "{{ apply_reattribution(this, resolved) }}",
        path="macros/attribution/attributed_person.sql",
    )
    stale = _day_two(worlds, tmp_path, project)
    only_stale, only_refreshed, _ = except_all_counts(stale, worlds[1], TABLE)
    assert (only_stale, only_refreshed) == (1, 1)
    assert ("user", _person_of(worlds[3], "a03"), "2026-02-24") in _days(stale)


def test_without_netting_the_window_the_counts_double(worlds, tmp_path):
    """Negative control: the rows appended are logged without subtracting the window's rows
    they replace; the days of a04, a05 and a07 (in the lookback window) count twice."""
    project = _project(
        tmp_path / "project",
        "            except all\n"
        "            select {{ attribution_change_columns('kept') }}, kept.content_hash\n"
        "            from {{ before }} as kept\n"
        "        ) as added;",
        "        ) as added;",
    )
    doubled = _day_two(worlds, tmp_path, project)
    only_doubled, only_refreshed, _ = except_all_counts(doubled, worlds[1], TABLE)
    assert only_doubled == only_refreshed > 0
    assert _stored_counts(doubled) != _counted_in_pandas(doubled)


def test_after_an_erasure_the_increment_equals_a_full_refresh(worlds, tmp_path):
    """Bob is erased: the erasure drops the log, the next build rebuilds the table in full."""
    _, _, two_steps, _ = worlds
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(two_steps, incremental)
    bob = _person_of(two_steps, "a04")
    erase(incremental, user_id="u_bob")
    with duckdb.connect(str(incremental), read_only=True) as con:
        listing = "select table_schema || '.' || table_name from information_schema.tables"
        tables = {name for (name,) in con.execute(listing).fetchall()}
    assert ATTRIBUTION_CHANGES not in tables
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(incremental, refreshed)
    run_dbt(ARGS, incremental, tmp_path / "t2")
    run_dbt([*ARGS, "--full-refresh"], refreshed, tmp_path / "t1")
    _equal(incremental, refreshed)
    assert not any(entity == bob for _, entity, _ in _days(incremental))
    runs = query(incremental, f"select run_kind from {ATTRIBUTION_CHANGES} where run_kind is not null")
    assert runs["run_kind"].tolist() == ["full"]


def _retained(two_steps: Path, work: Path, keep_log: bool) -> Path:
    """A copy of ``two_steps`` after a retention run whose event-history cutoff falls between
    Cara's January login and everything else (events kept 365 days); with ``keep_log`` the
    log is put back afterwards, as if retention did not drop it."""
    retained = work / "retained.duckdb"
    shutil.copy(two_steps, retained)
    with duckdb.connect(str(retained), read_only=True) as con:
        saved = con.execute(f"select * from {ATTRIBUTION_CHANGES}").fetchall()
    audit = apply_retention(retained, reference=dt.datetime(2027, 2, 1), compact_file=False)
    purged = {row.relation_name: row.rows_affected for row in audit}
    assert purged["intermediate.int_events_attributed"] == 1  # Cara's login
    if keep_log:
        with duckdb.connect(str(retained)) as con:
            con.execute(f"create table {ATTRIBUTION_CHANGES} (change_run bigint, run_kind varchar,"
                        " change_sign integer, event_id varchar, event_name varchar, person_id varchar,"
                        " account_id varchar, occurred_date date)")  # fmt: skip
            con.executemany(f"insert into {ATTRIBUTION_CHANGES} values (?, ?, ?, ?, ?, ?, ?, ?)", saved)
    run_dbt(ARGS, retained, work / "t2")
    return retained


def test_after_a_retention_run_the_increment_equals_a_full_refresh(worlds, tmp_path):
    _, _, two_steps, _ = worlds
    retained = _retained(two_steps, tmp_path, keep_log=False)
    refreshed = _full_refresh_of_the_table(retained, tmp_path)
    _equal(retained, refreshed)
    assert not any(date == "2026-01-15" for _, _, date in _days(retained))


def test_a_retention_run_that_kept_the_log_would_leave_stale_days(worlds, tmp_path):
    """Negative control: with the log left in place, Cara's purged January day survives."""
    _, _, two_steps, _ = worlds
    retained = _retained(two_steps, tmp_path, keep_log=True)
    refreshed = _full_refresh_of_the_table(retained, tmp_path)
    only_stale, only_refreshed, _ = except_all_counts(retained, refreshed, TABLE)
    assert (only_stale, only_refreshed) == (2, 0)  # Cara's and acc_2's day
    assert ("account", "acc_2", "2026-01-15") in _days(retained)


def test_a_consumer_without_its_record_rebuilds_in_full(worlds, tmp_path):
    """The consumed-run record lost (or a run pruned from the log): a full rebuild, not an
    increment from nothing."""
    work, one_step, _, after_first = worlds
    db = tmp_path / "lost.duckdb"
    shutil.copy(after_first, db)
    with duckdb.connect(str(db)) as con:
        con.execute(f"drop table {CONSUMED}")
        # damage only a full rebuild repairs
        con.execute(f"delete from {TABLE} where entity_type = 'account'")
    run_dbt(ARGS, db, tmp_path / "t", raw_dir=work / "raw_all")
    _equal(db, one_step)


OTHER_ACTIVITY = {"activity_event_names": ["signed_up", "feature_used"]}


def test_other_activity_events_rebuild_in_full(worlds, tmp_path):
    """Day 2 counts only signups and feature use as activity: Cara's January login (not in the
    log) is no activity day any more."""
    incremental = _day_two(worlds, tmp_path, dbt_vars=OTHER_ACTIVITY)
    refreshed = tmp_path / "refreshed.duckdb"
    run_dbt([*ARGS, "--full-refresh"], refreshed, tmp_path / "t1", raw_dir=worlds[0] / "raw_all",
            dbt_vars=OTHER_ACTIVITY)  # fmt: skip
    _equal(incremental, refreshed)
    assert not any(date == "2026-01-15" for _, _, date in _days(incremental))


def test_without_the_fingerprint_other_activity_events_leave_stale_days(worlds, tmp_path):
    """Negative control: the model ignores its configuration (and its day-1 record says so);
    the login days of everyone the log does not name survive."""
    project = _project(
        tmp_path / "project",
        "{%- do return('activity_event_names=' ~ (var('activity_event_names') | join(','))) -%}",
        "{%- do return('') -%}",
    )
    work, _, _, after_first = worlds
    db = tmp_path / "stale.duckdb"
    shutil.copy(after_first, db)
    with duckdb.connect(str(db)) as con:
        con.execute(f"update {CONSUMED} set config_fingerprint = ''")
    run_dbt(ARGS, db, tmp_path / "t2", raw_dir=work / "raw_all", project_dir=project, dbt_vars=OTHER_ACTIVITY)
    assert ("account", "acc_2", "2026-01-15") in _days(db)
