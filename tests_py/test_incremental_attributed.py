"""The incremental int_events_attributed (docs/incremental_attribution.md): after a day that
merges two people, an incremental run holds, row for row, what one full refresh of the same
data holds, although day-1 events changed person; likewise after an erasure. A negative
control without the re-attribution pre-hook shows the comparison catches exactly the day-1
events that moved.

The feed is the hand-written one of test_incremental_identity (raw envelope and tracking
plan, not lawn's generator): on day 2 Ann signs up again from the visitor's browser
(anon_v), so the visitor's day-1 page views (h05, h06) become Ann's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lawn.paths import REPO_ROOT
from lawn.privacy import erase
from lawn.privacy_maps import ATTRIBUTION_STATE
from tests_py.conftest import query, run_dbt
from tests_py.test_incremental_identity import (
    BATCH_1,
    BATCH_2,
    LATE_LANDED,
    build_two_steps,
    except_all_counts,
)

TABLE = "intermediate.int_events_attributed"
ARGS = ["build", "--select", "+int_events_attributed", "+pii_identifiers", "--exclude", "test_type:data",
        "test_type:unit"]  # fmt: skip
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "macros", "models", "seeds", "snapshots",
                 "tests", "analyses")  # fmt: skip


def _persons(db_path: Path) -> dict[str, str | None]:
    frame = query(db_path, f"select event_id, person_id from {TABLE}")
    return {row.event_id: None if row.person_id is None else str(row.person_id) for row in frame.itertuples()}


def _project_without_reattribution(root: Path) -> Path:
    """A copy of the dbt project whose int_events_attributed lacks the re-attribution pre-hook."""
    root.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    model = root / "models" / "intermediate" / "events" / "int_events_attributed.sql"
    text = model.read_text()
    hook = '"{{ reattribute_changed_identifiers() }}",'
    assert text.count(hook) == 1
    model.write_text(text.replace(hook, ""))
    return root


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """One full refresh of both days; day 1 from scratch then both days incrementally; and a
    copy of the latter after day 1."""
    work = tmp_path_factory.mktemp("incremental_attributed")
    one_step, two_steps, after_first = build_two_steps(work, ARGS, BATCH_1, BATCH_1 + BATCH_2 + LATE_LANDED)
    return work, one_step, two_steps, after_first


def test_day_one_events_move_person_and_the_increment_equals_a_full_refresh(worlds):
    _, one_step, two_steps, after_first = worlds
    before, refreshed, incremental = _persons(after_first), _persons(one_step), _persons(two_steps)
    # the planted merge: the visitor's day-1 page views were someone else's, now they are Ann's
    assert before["h05"] == before["h06"] != before["h02"]
    assert refreshed["h05"] == refreshed["h06"] == refreshed["h02"] == refreshed["h11"]
    assert refreshed["h07"] != refreshed["h02"]  # Bob stays Bob
    assert incremental == refreshed
    only_two, only_one, rows = except_all_counts(two_steps, one_step, TABLE)
    assert (only_two, only_one) == (0, 0) and rows == len(BATCH_1 + BATCH_2 + LATE_LANDED)
    # the state the next run compares with is the identity map of this run
    state = query(two_steps, f"select identifier_key, person_id from {ATTRIBUTION_STATE}")
    current = query(
        two_steps,
        "select identifier_key, person_id from intermediate.int_identity_map where person_id is not null"
        " and identifier_type in ('user_id', 'anonymous_id', 'device_id')",
    )
    assert sorted(map(tuple, state.values.tolist())) == sorted(map(tuple, current.values.tolist()))


def test_without_reattribution_the_comparison_fails(worlds, tmp_path):
    """Negative control: the same increment without the pre-hook keeps the day-1 persons of
    the events that moved, and only those rows differ from the full refresh."""
    work, one_step, _, after_first = worlds
    project = _project_without_reattribution(tmp_path / "project")
    stale = tmp_path / "stale.duckdb"
    shutil.copy(after_first, stale)
    run_dbt(ARGS, stale, tmp_path / "t", raw_dir=work / "raw_all", project_dir=project)
    before, refreshed, got = _persons(after_first), _persons(one_step), _persons(stale)
    moved = {event for event, person in before.items() if person != refreshed[event]}
    assert {"h05", "h06"} <= moved
    assert {event for event, person in got.items() if person != refreshed[event]} == moved
    only_two, only_one, _ = except_all_counts(stale, one_step, TABLE)
    assert (only_two, only_one) == (len(moved), len(moved))


def test_after_an_erasure_the_increment_equals_a_full_refresh(worlds, tmp_path):
    """Bob is erased after day 2: his events leave int_events_valid and this table together,
    the saved state is dropped, and the next incremental run equals a full refresh."""
    _, _, two_steps, _ = worlds
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(two_steps, incremental)
    result = erase(incremental, user_id="u_bob")
    assert result.rows_deleted[TABLE] > 0
    assert query(incremental, f"select count(*) as n from {TABLE} where user_id = 'u_bob'")["n"].iloc[0] == 0
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(incremental, refreshed)
    # the raw landing lost Bob's rows in the erasure: build from it as it is
    run_dbt(ARGS, incremental, tmp_path / "t2")
    run_dbt([*ARGS, "--full-refresh"], refreshed, tmp_path / "t1")
    only_two, only_one, rows = except_all_counts(incremental, refreshed, TABLE)
    assert (only_two, only_one) == (0, 0) and rows > 0
    left = set(query(incremental, f"select event_id from {TABLE}")["event_id"])
    assert not {"h07", "h08", "h09", "h10", "h14", "h16"} & left
    assert {"h05", "h11", "h20"} <= left
