"""int_person_event_extents applies int_events_attributed's change log: a run reads only the
events the log added and keeps, per person, the earlier firsts and the later last of them and
the stored row; a person who lost an event is computed again from all their events
(docs/incremental_attribution.md, "The change log"). dim_users reads it.

The feed is test_moments_change_log's hand-written one (raw envelope and tracking plan, not
lawn's generator): on day 2 an anonymous phone's February invoice moves to Zed, who signs up
on it; Ann's late invoice from February 27 arrives (earlier than her first); and Bob's March 9
event arrives again with other content (a `reports` use becomes `create_invoice`).

The two-step build equals a full refresh row for row (the model and dim_users), and the table
equals a pandas computation from the attributed events. Negative controls: without the
pre-hook that deletes the persons to compute again the phone keeps a row, and without the
stored rows in the merge Ann loses her signup."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lawn.privacy import erase
from tests_py.conftest import query, run_dbt
from tests_py.test_change_log_consumers import _person_of
from tests_py.test_increment_models import _project_with
from tests_py.test_incremental_identity import _event, build_two_steps, except_all_counts
from tests_py.test_moments_change_log import DAY_1, DAY_2

# Olga signed up before the event history starts: on day 2 she only logs in (a user id, no
# signup in the data: dim_users says `identified`, not `signed_up` beside a null signup)
OLGA = [
    _event("m11", "logged_in", "2026-03-10T12:00:00Z", "2026-03-10T12:00:01Z",
           "anon_o", "dev_o", "u_olga", "acc_1", login_method="password"),
]  # fmt: skip

TABLE = "intermediate.int_person_event_extents"
ARGS = ["build", "--select", "+dim_users", "+pii_identifiers", "--exclude", "test_type:data",
        "test_type:unit"]  # fmt: skip
MODEL = "models/intermediate/metrics/int_person_event_extents.sql"
Extents = dict[str, tuple[str | None, str | None, str]]


def _stored(db_path: Path) -> Extents:
    frame = query(db_path, f"select person_id, cast(signed_up_at as varchar) as s,"
                           f" cast(activated_at as varchar) as a,"
                           f" cast(last_seen_at as varchar) as l from {TABLE}")  # fmt: skip
    frame = frame.astype(object).where(frame.notna(), None)  # a null time as None, not NaN
    return {r.person_id: (r.s, r.a, r.l) for r in frame.itertuples()}


def _computed_in_pandas(db_path: Path) -> Extents:
    """Per person: the earliest signed_up, the earliest feature_used naming create_invoice,
    the latest event of any kind, from the attributed events."""
    events = query(db_path, "select person_id, event_name, cast(occurred_at as varchar) as occurred,"
                            " properties from intermediate.int_events_attributed"
                            " where person_id is not null")  # fmt: skip
    feature = events.properties.map(lambda text: json.loads(text or "{}").get("feature_name"))
    found: Extents = {}
    for person, rows in events.groupby("person_id"):
        signups = rows[rows.event_name == "signed_up"].occurred
        invoices = rows[
            (rows.event_name == "feature_used") & (feature[rows.index] == "create_invoice")
        ].occurred
        found[person] = (
            signups.min() if len(signups) else None,
            invoices.min() if len(invoices) else None,
            rows.occurred.max(),
        )
    return found


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    work = tmp_path_factory.mktemp("person_extents_changes")
    one_step, two_steps, after_first = build_two_steps(work, ARGS, DAY_1, DAY_1 + DAY_2 + OLGA)
    return work, one_step, two_steps, after_first


def _edited_day_two(worlds, tmp_path: Path, old: str, new: str) -> tuple[Path, int, int]:
    """Day 2 built incrementally, on a copy of the day-1 warehouse, by a project whose model
    has ``old`` replaced by ``new``; with the rows only it has and only the full refresh has."""
    work, one_step, _, after_first = worlds
    db = tmp_path / "day_two.duckdb"
    shutil.copy(after_first, db)
    project = _project_with(tmp_path / "project", Path(MODEL), old, new)
    run_dbt(ARGS, db, tmp_path / "t2", raw_dir=work / "raw_all", project_dir=project)
    only_stale, only_refreshed, _ = except_all_counts(db, one_step, TABLE)
    return db, only_stale, only_refreshed


def test_the_increment_equals_a_full_refresh_and_a_pandas_computation(worlds):
    _, one_step, two_steps, after_first = worlds
    for table in (TABLE, "marts.dim_users"):
        only_two, only_one, rows = except_all_counts(two_steps, one_step, table)
        assert (only_two, only_one) == (0, 0) and rows > 0, table
    assert _stored(two_steps) == _computed_in_pandas(two_steps)
    assert _stored(after_first) == _computed_in_pandas(after_first)
    stored, before = _stored(two_steps), _stored(after_first)
    anonymous, zed = _person_of(after_first, "m03"), _person_of(two_steps, "m03")
    ann, bob = _person_of(two_steps, "m01"), _person_of(two_steps, "m05")
    # the moved invoice: the phone's person had only it and is gone; Zed activated in February
    assert before[anonymous] == (None, "2026-02-24 07:30:00", "2026-02-24 07:30:00")
    assert anonymous not in stored
    assert stored[zed] == ("2026-03-10 09:00:00", "2026-02-24 07:30:00", "2026-03-10 09:00:00")
    # Ann's late invoice is her first; her signup comes from the stored row
    assert before[ann][:2] == ("2026-03-01 09:00:00", "2026-03-02 10:00:00")
    assert stored[ann] == ("2026-03-01 09:00:00", "2026-02-27 18:00:00", "2026-03-10 11:00:00")
    # Bob's March 9 event now names create_invoice (recomputed: his row was logged out and in)
    assert before[bob][1] is None and stored[bob][1] == "2026-03-09 10:00:00"
    activation = query(two_steps, "select person_id, activation_state from marts.dim_users")
    assert dict(zip(activation.person_id, activation.activation_state, strict=True))[bob] == "activated"


def test_activation_state_follows_the_persons_signup_and_invoice(worlds):
    """dim_users.activation_state from the person's extents (pandas) and user ids: activated
    (an invoice), signed_up (a signup), identified (a user id only: Olga), else anonymous."""
    _, _, two_steps, _ = worlds
    extents = _computed_in_pandas(two_steps)
    users = query(
        two_steps, "select person_id, is_identified, signed_up_at, activation_state from marts.dim_users"
    )
    for row in users.itertuples():
        signed_up, activated, _ = extents.get(row.person_id, (None, None, None))
        expected = ("activated" if activated else "signed_up" if signed_up
                    else "identified" if row.is_identified else "anonymous")  # fmt: skip
        assert row.activation_state == expected, row
        assert row.activation_state != "signed_up" or pd.notna(row.signed_up_at)
    assert users.activation_state.value_counts()["identified"] == 1
    states = dict(zip(users.person_id, users.activation_state, strict=True))
    assert states[_person_of(two_steps, "m11")] == "identified"


def test_without_deleting_the_persons_to_recompute_a_moved_event_stays(worlds, tmp_path):
    """Negative control: without the pre-hook, the phone's person keeps the row of an event
    that moved to Zed."""
    stale, only_stale, only_refreshed = _edited_day_two(
        worlds, tmp_path, '        "{{ delete_person_extents_to_recompute() }}",\n', ""
    )
    assert (only_stale, only_refreshed) == (1, 0)
    assert _person_of(worlds[3], "m03") in _stored(stale)


def test_without_the_stored_rows_the_new_events_win(worlds, tmp_path):
    """Negative control: the merge ignores the stored rows; Ann's signup (a day-1 event) is
    lost."""
    stale, only_stale, only_refreshed = _edited_day_two(
        worlds,
        tmp_path,
        "            where kept.person_id in",
        "            where 1 = 0 and kept.person_id in",
    )
    assert only_stale == only_refreshed > 0
    assert _stored(stale)[_person_of(stale, "m01")][0] is None


def test_after_an_erasure_the_next_build_equals_a_full_refresh(worlds, tmp_path):
    """Ann is erased: the erasure drops the log, the next build rebuilds the table in full,
    without her."""
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
    assert ann not in _stored(incremental)
