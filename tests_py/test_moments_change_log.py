"""int_moments_reached applies int_events_attributed's change log: a run reads only the events
the log added and keeps, per moment, the earlier of them and the stored first; a moment whose
entity lost an event of its kind is computed again (docs/incremental_attribution.md, "The
change log"). On a hand-written feed (raw envelope and tracking plan, not lawn's generator):

- day 1: Ann signs up on acc_1 and creates an invoice; Bob signs up; his feature use of
  March 9 arrives as a `reports` use; a phone nobody has signed in on creates an invoice in
  February (older than the lookback); acc_1 starts a $0 trial;
- day 2: Zed signs up on that phone (the February invoice moves to him); Ann's late invoice
  from February 27 arrives (earlier than her first, received later); Ann invoices again;
  acc_1 pays; and Bob's March 9 event arrives again, received a few seconds earlier than the
  stored delivery and naming `create_invoice`: the earlier delivery wins the dedup, so the
  stored row changes content without changing person, account, name or day.

The two-step build equals a full refresh row for row, and the table equals a pandas
computation of first moments from the attributed events. Negative controls: the netting
without the content hash, the run without the pre-hook that deletes the moments to compute
again, and the merge without the stored firsts each leave the comparison failing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.privacy import erase
from lawn.privacy_maps import ATTRIBUTION_CHANGES
from tests_py.conftest import query, run_dbt
from tests_py.test_change_log_consumers import _person_of
from tests_py.test_increment_models import _project_with
from tests_py.test_incremental_identity import _event, build_two_steps, except_all_counts

TABLE = "intermediate.int_moments_reached"
ARGS = ["build", "--select", "+int_moments_reached", "+pii_identifiers", "--exclude", "test_type:data",
        "test_type:unit"]  # fmt: skip

DAY_1 = [
    _event("m01", "signed_up", "2026-03-01T09:00:00Z", "2026-03-01T09:00:01Z",
           "anon_a", "dev_a", "u_ann", "acc_1", email="ann@acme.io", signup_method="email"),
    _event("m02", "feature_used", "2026-03-02T10:00:00Z", "2026-03-02T10:00:02Z",
           "anon_a", "dev_a", "u_ann", "acc_1", feature_name="create_invoice", usage_count=1),
    _event("m03", "feature_used", "2026-02-24T07:30:00Z", "2026-02-24T07:30:04Z",
           "anon_z", "dev_z", "", "", feature_name="create_invoice", usage_count=1),
    _event("m04", "plan_changed", "2026-03-03T08:00:00Z", "2026-03-03T08:00:01Z",
           "anon_a", "dev_a", "u_ann", "acc_1", from_plan="none", to_plan="trial", mrr_usd=0),
    _event("m05", "signed_up", "2026-03-03T11:00:00Z", "2026-03-03T11:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_1", email="bob@acme.io", signup_method="invitation"),
    _event("m06", "feature_used", "2026-03-09T10:00:00Z", "2026-03-09T10:00:05Z",
           "anon_b", "dev_b", "u_bob", "acc_1", feature_name="reports", usage_count=2),
]  # fmt: skip
DAY_2 = [
    _event("m07", "signed_up", "2026-03-10T09:00:00Z", "2026-03-10T09:00:01Z",
           "anon_z", "dev_z", "u_zed", "acc_3", email="zed@zeta.dev", signup_method="email"),
    _event("m08", "plan_changed", "2026-03-10T09:10:00Z", "2026-03-10T09:10:01Z",
           "anon_a", "dev_a", "u_ann", "acc_1", from_plan="trial", to_plan="starter", mrr_usd=29),
    _event("m09", "feature_used", "2026-02-27T18:00:00Z", "2026-03-10T09:30:00Z",
           "anon_a", "dev_a", "u_ann", "acc_1", feature_name="create_invoice", usage_count=1),
    _event("m10", "feature_used", "2026-03-10T11:00:00Z", "2026-03-10T11:00:01Z",
           "anon_a", "dev_a", "u_ann", "acc_1", feature_name="create_invoice", usage_count=4),
    _event("m06", "feature_used", "2026-03-09T10:00:00Z", "2026-03-09T10:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_1", feature_name="create_invoice", usage_count=2),
]  # fmt: skip

CHANGES_MACROS = "macros/attribution/attribution_changes.sql"
MODEL = "models/intermediate/metrics/int_moments_reached.sql"


def _moments(db_path: Path) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(entity type, entity, moment) -> (reached event, first receive time) as stored."""
    frame = query(db_path, f"select entity_type, entity_id, moment_name, reached_event_id,"
                           f" cast(first_received_at as varchar) as first_received from {TABLE}")  # fmt: skip
    return {
        (r.entity_type, r.entity_id, r.moment_name): (r.reached_event_id, r.first_received)
        for r in frame.itertuples()
    }


def _matches(properties: str, moment: pd.Series) -> bool:
    if pd.isna(moment.property_name) or moment.property_name == "":
        return True
    value = json.loads(properties or "{}").get(moment.property_name)
    if value is None:
        return False
    if moment.property_operator == ">":
        try:
            return float(value) > float(moment.property_value)
        except (TypeError, ValueError):
            return False
    return str(value) == str(moment.property_value)


def _computed_in_pandas(db_path: Path) -> dict[tuple[str, str, str], tuple[str, str]]:
    """First moments computed in pandas from the attributed events and the seed's rows: the
    earliest (occurred_at, event_id) match, and the earliest receive time of any match."""
    sql = ("select event_id, event_name, occurred_at, cast(received_at as varchar) as received,"
           " person_id, account_id, properties from intermediate.int_events_attributed")  # fmt: skip
    events = query(db_path, sql)
    moments = pd.read_csv(Path(__file__).resolve().parents[1] / "seeds/metrics/metric_moments.csv")
    found: dict[tuple[str, str, str], tuple[str, str]] = {}
    for moment in moments.itertuples():
        column = "account_id" if moment.entity_type == "account" else "person_id"
        kind = events[(events.event_name == moment.event_name) & events[column].notna()]
        condition = pd.Series(moment._asdict())
        kind = kind[kind.properties.map(lambda text, m=condition: _matches(text, m)).astype(bool)]
        for entity, rows in kind.groupby(column):
            first = rows.sort_values(["occurred_at", "event_id"]).iloc[0]
            found[(moment.entity_type, entity, moment.moment_name)] = (first.event_id, rows.received.min())
    return found


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    work = tmp_path_factory.mktemp("moments_changes")
    one_step, two_steps, after_first = build_two_steps(work, ARGS, DAY_1, DAY_1 + DAY_2)
    return work, one_step, two_steps, after_first


def _day_two(worlds, tmp_path: Path, project: Path) -> Path:
    """Day 2 built incrementally by ``project`` on a copy of the day-1 warehouse."""
    work, _, _, after_first = worlds
    db = tmp_path / "day_two.duckdb"
    shutil.copy(after_first, db)
    run_dbt(ARGS, db, tmp_path / "t2", raw_dir=work / "raw_all", project_dir=project)
    return db


def _edited_day_two(worlds, tmp_path: Path, path: str, old: str, new: str) -> tuple[Path, int, int]:
    """Day 2 built incrementally by a project whose ``path`` has ``old`` replaced by ``new``;
    with the rows only it has and the rows only the full refresh has."""
    stale = _day_two(worlds, tmp_path, _project_with(tmp_path / "project", Path(path), old, new))
    only_stale, only_refreshed, _ = except_all_counts(stale, worlds[1], TABLE)
    return stale, only_stale, only_refreshed


def test_the_increment_equals_a_full_refresh_and_a_pandas_computation(worlds):
    _, one_step, two_steps, after_first = worlds
    only_two, only_one, rows = except_all_counts(two_steps, one_step, TABLE)
    assert (only_two, only_one) == (0, 0) and rows > 0
    assert _moments(two_steps) == _computed_in_pandas(two_steps)
    assert _moments(after_first) == _computed_in_pandas(after_first)
    stored = _moments(two_steps)
    anonymous, zed = _person_of(after_first, "m03"), _person_of(two_steps, "m03")
    ann, bob = _person_of(two_steps, "m01"), _person_of(two_steps, "m05")
    # the moved invoice: the anonymous phone's moment is gone, Zed reached it in February
    assert ("user", anonymous, "user_created_invoice") in _moments(after_first)
    assert not any(entity == anonymous for _, entity, _ in stored)
    assert stored[("user", zed, "user_created_invoice")][0] == "m03"
    # Ann's late invoice is her first; her first receipt stays March 2 (m02)
    assert stored[("user", ann, "user_created_invoice")] == ("m09", "2026-03-02 10:00:02")
    # Bob's March 9 event now names create_invoice (the earlier delivery won)
    assert ("user", bob, "user_created_invoice") not in _moments(after_first)
    assert stored[("user", bob, "user_created_invoice")][0] == "m06"
    assert stored[("account", "acc_1", "first_paid")][0] == "m08"
    # the log: Bob's event out and in (its content changed), both sides of the move
    log = query(two_steps, f"select change_sign, event_id from {ATTRIBUTION_CHANGES}"
                           " where run_kind is null and event_id in ('m03', 'm06')")  # fmt: skip
    assert sorted(zip(log.change_sign, log.event_id, strict=True)) == [(-1, "m03"), (-1, "m06"), (1, "m03"),
                                                                         (1, "m06")]  # fmt: skip


def test_without_the_content_hash_a_changed_row_is_missed(worlds, tmp_path):
    """Negative control: the netting compares only the logged columns; Bob's re-delivered
    event is the same person, account, name and day, so the log misses it and his invoice
    moment never appears."""
    stale, only_stale, only_refreshed = _edited_day_two(
        worlds, tmp_path, CHANGES_MACROS, "    {{ change_hash(others) }}\n",
        "    cast('same' as {{ dbt.type_string() }})\n",
    )  # fmt: skip
    assert (only_stale, only_refreshed) == (0, 1)
    assert ("user", _person_of(stale, "m05"), "user_created_invoice") not in _moments(stale)


def test_without_deleting_the_moments_to_recompute_a_moved_moment_stays(worlds, tmp_path):
    """Negative control: without the pre-hook, the anonymous phone keeps a moment whose only
    event moved to Zed."""
    stale, only_stale, only_refreshed = _edited_day_two(
        worlds, tmp_path, MODEL, '        "{{ delete_moments_to_recompute() }}",\n', ""
    )
    assert (only_stale, only_refreshed) == (1, 0)
    assert ("user", _person_of(worlds[3], "m03"), "user_created_invoice") in _moments(stale)


def test_without_the_stored_firsts_the_new_events_win(worlds, tmp_path):
    """Negative control: the merge ignores the stored rows; Ann's first receipt becomes her
    late invoice's (March 10) instead of March 2."""
    stale, only_stale, only_refreshed = _edited_day_two(
        worlds, tmp_path, MODEL, "    where kept.moment_reached_key not in",
        "    where 1 = 0 and kept.moment_reached_key not in",
    )  # fmt: skip
    assert only_stale == only_refreshed > 0
    ann_first = _moments(stale)[("user", _person_of(stale, "m01"), "user_created_invoice")]
    assert ann_first[1].startswith("2026-03-10")


def test_after_an_erasure_the_next_build_equals_a_full_refresh(worlds, tmp_path):
    """Ann is erased: the erasure drops the log, the next build rebuilds the moments in full,
    without hers."""
    _, _, two_steps, _ = worlds
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(two_steps, incremental)
    ann = _person_of(two_steps, "m01")
    erase(incremental, user_id="u_ann")
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(incremental, refreshed)
    run_dbt(ARGS, incremental, tmp_path / "t2")
    run_dbt([*ARGS, "--full-refresh"], refreshed, tmp_path / "t1")
    only_one, only_two, rows = except_all_counts(incremental, refreshed, TABLE)
    assert (only_one, only_two) == (0, 0) and rows > 0
    assert not any(entity == ann for _, entity, _ in _moments(incremental))


def test_another_moment_configuration_rebuilds_in_full(worlds, tmp_path):
    """Day 2 with user_created_invoice redefined as a `reports` use: the stored moments of
    day 1 (not in the log) follow the new definition, as in a full refresh by the same
    project."""
    project = _project_with(
        tmp_path / "project",
        Path("seeds/metrics/metric_moments.csv"),
        "feature_used,feature_name,=,create_invoice,",
        "feature_used,feature_name,=,reports,",
    )
    incremental = _day_two(worlds, tmp_path, project)
    refreshed = tmp_path / "refreshed.duckdb"
    run_dbt([*ARGS, "--full-refresh"], refreshed, tmp_path / "t1", raw_dir=worlds[0] / "raw_all",
            project_dir=project)  # fmt: skip
    only_one, only_two, rows = except_all_counts(incremental, refreshed, TABLE)
    assert (only_one, only_two) == (0, 0) and rows > 0
    with duckdb.connect(str(incremental), read_only=True) as con:
        ann_first = con.execute(
            f"select reached_event_id from {TABLE} where moment_name = 'user_created_invoice' and entity_id ="
            " (select person_id from intermediate.int_events_attributed where event_id = 'm01')"
        ).fetchall()
    assert ann_first == []  # Ann never used reports
