"""int_activity_days and int_moments_reached recompute only the persons and accounts
int_events_attributed's change log names (macros/attribution/attribution_changes.sql,
docs/incremental_attribution.md "The change log"). On a hand-written feed (raw envelope and
tracking plan, not lawn's generator):

- day 1: Ann and Bob use acc_1; in February a phone nobody has signed in on clicks a push
  notification (an activity event of an anonymous person, older than the lookback); Cara
  logged in once, in January;
- day 2: Zed signs up on that phone, so the day-1 click moves from the anonymous person to
  Zed; a late login of Ann's from February arrives; Bob logs in again.

After the two-step build, after an erasure, after a retention run and after a change of their
configuration (the activity events, the moments), each incremental table holds, row for row,
what a full refresh holds. Negative controls: without the moved persons in the log, with a
retention run that leaves the log in place, and without the configuration's fingerprint, the
comparison fails."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from lawn.paths import REPO_ROOT
from lawn.privacy import erase
from lawn.privacy_maps import ATTRIBUTION_CHANGES
from lawn.retention import apply_retention
from tests_py.conftest import query, run_dbt
from tests_py.test_incremental_identity import _event, build_two_steps, except_all_counts

TABLE = "intermediate.int_activity_days"
MOMENTS = "intermediate.int_moments_reached"
CONSUMED = "intermediate.int_activity_days__changes_consumed"
ARGS = ["build", "--select", "+int_activity_days", "+int_moments_reached", "+pii_identifiers", "--exclude",
        "test_type:data", "test_type:unit"]  # fmt: skip
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "macros", "models", "seeds", "snapshots",
                 "tests", "analyses")  # fmt: skip

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


def _project(root: Path, old: str, new: str, path: str = "macros/attribution/attributed_person.sql") -> Path:
    """A copy of the dbt project with one edit of ``path`` (``old`` -> ``new``, present once)."""
    root.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    edited = root / path
    text = edited.read_text()
    assert text.count(old) == 1
    edited.write_text(text.replace(old, new))
    return root


def _both_equal(left: Path, right: Path) -> None:
    """int_activity_days and int_moments_reached hold the same rows in both (EXCEPT ALL)."""
    for table in (TABLE, MOMENTS):
        only_left, only_right, rows = except_all_counts(left, right, table)
        assert (only_left, only_right) == (0, 0) and rows > 0, table


def _days(db_path: Path) -> set[tuple[str, str, str]]:
    frame = query(db_path, f"select entity_type, entity_id, cast(activity_date as varchar) as d from {TABLE}")
    return {(row.entity_type, row.entity_id, row.d) for row in frame.itertuples()}


def _person_of(db_path: Path, event_id: str) -> str:
    sql = f"select person_id from intermediate.int_events_attributed where event_id = '{event_id}'"
    frame = query(db_path, sql)
    return str(frame["person_id"].iloc[0])


def _full_refresh_of_the_table(db_path: Path, work: Path) -> Path:
    """A copy of ``db_path`` whose int_activity_days alone is rebuilt by a full refresh."""
    refreshed = work / "refreshed.duckdb"
    shutil.copy(db_path, refreshed)
    run_dbt(["run", "--select", "int_activity_days", "int_moments_reached", "--full-refresh"], refreshed,
            work / "t_refresh")  # fmt: skip
    return refreshed


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    work = tmp_path_factory.mktemp("activity_days_changes")
    one_step, two_steps, after_first = build_two_steps(work, ARGS, DAY_1, DAY_1 + DAY_2)
    return work, one_step, two_steps, after_first


def test_the_increment_recomputes_the_logged_entities_and_equals_a_full_refresh(worlds):
    _, one_step, two_steps, after_first = worlds
    _both_equal(two_steps, one_step)
    # the planted move: the click was the phone's anonymous person's, now it is Zed's
    anonymous, zed = _person_of(after_first, "a03"), _person_of(two_steps, "a03")
    assert anonymous != zed == _person_of(two_steps, "a08")
    assert ("user", anonymous, "2026-02-24") in _days(after_first)
    assert ("user", zed, "2026-02-24") in _days(two_steps)
    assert not any(entity == anonymous for _, entity, _ in _days(two_steps))
    # the late login reaches Ann's and acc_1's February
    ann = _person_of(two_steps, "a01")
    assert {("user", ann, "2026-02-27"), ("account", "acc_1", "2026-02-27")} <= _days(two_steps)
    # the log: a full run (the first build), then an incremental one naming what it touched
    log = query(two_steps, f"select change_run, entity_type, entity_id from {ATTRIBUTION_CHANGES}")
    runs = log[log.entity_type == "run"].sort_values("change_run")
    assert runs["entity_id"].tolist() == ["full", "incremental"]
    second = log[log.change_run == runs["change_run"].iloc[1]]
    named = set(zip(second.entity_type, second.entity_id, strict=True))
    touched = {("user", anonymous), ("user", zed), ("user", ann), ("account", "acc_1"), ("account", "acc_3")}
    assert touched <= named
    # Cara and acc_2 had nothing new: not named, their rows were kept
    cara = _person_of(two_steps, "a06")
    assert not {("user", cara), ("account", "acc_2")} & named
    for record in (CONSUMED, f"{MOMENTS}__changes_consumed"):
        consumed = query(two_steps, f"select change_run from {record}")["change_run"].tolist()
        assert consumed == [runs["change_run"].iloc[1]]
    # Zed's signup is a moment of his person and of acc_3
    moments = query(two_steps, f"select entity_type, entity_id, moment_name from {MOMENTS}")
    reached = set(zip(moments.entity_type, moments.entity_id, moments.moment_name, strict=True))
    assert {("user", zed, "user_signed_up"), ("account", "acc_3", "account_signed_up")} <= reached


def test_without_the_moved_persons_in_the_log_the_comparison_fails(worlds, tmp_path):
    """Negative control: the re-attribution no longer logs the persons it moves rows between;
    the anonymous person keeps its stale day (Zed gains his, as a person the new rows name)."""
    work, one_step, _, after_first = worlds
    project = _project(
        tmp_path / "project",
        "{{ apply_reattribution(this, resolved, attribution_changes_relation()) }}",
        "{{ apply_reattribution(this, resolved) }}",
    )
    stale = tmp_path / "stale.duckdb"
    shutil.copy(after_first, stale)
    run_dbt(ARGS, stale, tmp_path / "t", raw_dir=work / "raw_all", project_dir=project)
    only_stale, only_refreshed, _ = except_all_counts(stale, one_step, TABLE)
    assert (only_stale, only_refreshed) == (1, 0)
    assert ("user", _person_of(after_first, "a03"), "2026-02-24") in _days(stale)


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
    _both_equal(incremental, refreshed)
    assert not any(entity == bob for _, entity, _ in _days(incremental))
    runs = query(incremental, f"select entity_id from {ATTRIBUTION_CHANGES} where entity_type = 'run'")
    assert runs["entity_id"].tolist() == ["full"]


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
            con.execute(f"create table {ATTRIBUTION_CHANGES} (change_run bigint, entity_type varchar,"
                        " entity_id varchar)")  # fmt: skip
            con.executemany(f"insert into {ATTRIBUTION_CHANGES} values (?, ?, ?)", saved)
    run_dbt(ARGS, retained, work / "t2")
    return retained


def test_after_a_retention_run_the_increment_equals_a_full_refresh(worlds, tmp_path):
    _, _, two_steps, _ = worlds
    retained = _retained(two_steps, tmp_path, keep_log=False)
    refreshed = _full_refresh_of_the_table(retained, tmp_path)
    _both_equal(retained, refreshed)
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
    _both_equal(db, one_step)


LOGINS_ARE_MOMENTS = ("user_created_invoice,user,feature_used,",
                      "user_logged_in,user,logged_in,,,,0,,A person logged in.\n"
                      "user_created_invoice,user,feature_used,")  # fmt: skip


def _day_two_with_new_moments(worlds, tmp_path: Path, fingerprinted: bool) -> tuple[Path, Path]:
    """Day 2 built incrementally, and everything by a full refresh, with a metric_moments
    that makes a login a moment (Cara, not in the log, logged in on day 1); without
    ``fingerprinted`` the model ignores its configuration."""
    work, _, _, after_first = worlds
    project = _project(tmp_path / "project", *LOGINS_ARE_MOMENTS, path="seeds/metrics/metric_moments.csv")
    if not fingerprinted:
        macros = project / "macros" / "attribution" / "attribution_changes.sql"
        text = macros.read_text()
        start = text.index("{% macro moments_fingerprint() -%}")
        macros.write_text(
            text[:start] + "{% macro moments_fingerprint() -%}{{ return('') }}{%- endmacro %}\n"
        )
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(after_first, incremental)
    if not fingerprinted:
        # the record of day 1 as a model without a fingerprint would have written it
        with duckdb.connect(str(incremental)) as con:
            con.execute(f"update {MOMENTS}__changes_consumed set config_fingerprint = ''")
    run_dbt(ARGS, incremental, tmp_path / "t2", raw_dir=work / "raw_all", project_dir=project)
    refreshed = tmp_path / "refreshed.duckdb"
    run_dbt(
        [*ARGS, "--full-refresh"], refreshed, tmp_path / "t1", raw_dir=work / "raw_all", project_dir=project
    )
    return incremental, refreshed


def test_new_moments_rebuild_in_full(worlds, tmp_path):
    incremental, refreshed = _day_two_with_new_moments(worlds, tmp_path, fingerprinted=True)
    _both_equal(incremental, refreshed)
    cara = _person_of(incremental, "a06")
    moments = query(incremental, f"select entity_id from {MOMENTS} where moment_name = 'user_logged_in'")
    assert cara in set(moments["entity_id"])


def test_without_the_fingerprint_new_moments_miss_the_unlogged_persons(worlds, tmp_path):
    """Negative control: Cara (not in the log) never gets her login moment."""
    incremental, refreshed = _day_two_with_new_moments(worlds, tmp_path, fingerprinted=False)
    only_incremental, only_refreshed, _ = except_all_counts(incremental, refreshed, MOMENTS)
    assert (only_incremental, only_refreshed) == (0, 1)


def test_other_activity_events_rebuild_in_full(worlds, tmp_path):
    """Day 2 counts only signups and feature use as activity: Cara's January login (her person
    not in the log) is no activity day any more."""
    work, _, _, after_first = worlds
    names = {"activity_event_names": ["signed_up", "feature_used"]}
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(after_first, incremental)
    run_dbt(ARGS, incremental, tmp_path / "t2", raw_dir=work / "raw_all", dbt_vars=names)
    refreshed = tmp_path / "refreshed.duckdb"
    run_dbt([*ARGS, "--full-refresh"], refreshed, tmp_path / "t1", raw_dir=work / "raw_all", dbt_vars=names)
    _both_equal(incremental, refreshed)
    assert not any(date == "2026-01-15" for _, _, date in _days(incremental))
