"""The incremental identity observations and metric marts (docs/incremental_identity.md):
a world built in two steps (batch 1 from scratch, then everything incrementally) holds,
row for row, what one full refresh of the same data holds. Compared with EXCEPT ALL both
ways, so duplicated rows count too.

Two worlds: a hand-written feed (written from the raw envelope and the tracking plan, not
from lawn's generator) whose second day links two people that were apart after the first
one, carries a late event for an old month and a row the loader landed late; and lawn's
small generated world split at its last day. A negative control shows the comparison
fails when the incremental run skips rows (zero-hour lookback)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.contract import RAW_EVENT_COLUMNS
from lawn.paths import REPO_ROOT
from lawn.privacy import erase
from lawn.privacy_maps import COMPONENT_STATES
from tests_py.conftest import query, run_dbt
from tests_py.expectations import parse_utc

# the models this change made incremental or rewrote, and the marts the identity graph feeds
COMPARED = [
    "intermediate.int_identity_observations",
    "intermediate.int_identity_links",
    "intermediate.int_identity_deterministic_components",
    "intermediate.int_identity_user_components",
    "intermediate.int_identity_device_clusters",
    "intermediate.int_identity_map",
    "intermediate.int_events_attributed",
    "intermediate.int_moments_reached",
    "intermediate.int_activity_days",
    "intermediate.int_person_event_extents",
    "marts.dim_identifiers",
    "marts.dim_users",
    "marts.fct_identity_merges",
    "marts.fct_funnel",
    "marts.fct_activation",
    "marts.fct_retention_cohorts",
]
SELECT = [
    "+int_identity_observations",
    "+dim_identifiers",
    "+dim_users",
    "+fct_identity_merges",
    "+fct_funnel",
    "+fct_activation",
    "+fct_retention_cohorts",
]
EVENT_COLUMNS = list(RAW_EVENT_COLUMNS)  # the contract's raw_events columns, in order


def _event(event_id, name, occurred, received, anon, device, user, account, **properties):
    return {
        "event_id": event_id,
        "event_name": name,
        "schema_version": "1",
        "source": "web",
        "occurred_at": occurred,
        "received_at": received,
        "anonymous_id": anon,
        "device_id": device,
        "user_id": user,
        "account_id": account,
        "context": "",
        "properties": json.dumps(properties),
    }


# Day 1 (received up to 2026-03-10): Ann (u_ann) signs up in February and goes quiet; a
# visitor (anon_v, no user) reads the newsletter landing page; Bob (u_bob) signs up in
# March; Dora's account (acc_h2) signed up in February. Junk user_ids 'guest' and '0' are
# blocked (a null marker such as 'null' never gets that far: staging reads it as missing).
BATCH_1 = [
    _event("h01", "page_viewed", "2026-02-26T08:50:00Z", "2026-02-26T08:50:02Z",
           "anon_a", "dev_a", "", "", page_path="/pricing"),
    _event("h02", "signed_up", "2026-02-26T09:00:00Z", "2026-02-26T09:00:01Z",
           "anon_a", "dev_a", "u_ann", "acc_h1", email="ann.lee@h1.com", signup_method="email"),
    _event("h03", "identified", "2026-02-26T09:00:05Z", "2026-02-26T09:00:06Z",
           "anon_a", "dev_a", "u_ann", "acc_h1", email="ann.lee@h1.com",
           first_name="Ann", last_name="Lee"),
    _event("h04", "feature_used", "2026-03-01T10:00:00Z", "2026-03-01T10:00:01Z",
           "anon_a", "dev_a", "u_ann", "acc_h1", feature_name="reports", usage_count=1),
    _event("h05", "page_viewed", "2026-03-05T07:00:00Z", "2026-03-05T07:00:01Z",
           "anon_v", "dev_v", "", "", page_path="/", utm_source="newsletter"),
    _event("h06", "page_viewed", "2026-03-06T07:00:00Z", "2026-03-06T07:00:01Z",
           "anon_v", "dev_v", "", "", page_path="/pricing"),
    _event("h07", "signed_up", "2026-03-03T09:00:00Z", "2026-03-03T09:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_h1", email="bob.stone@h1.com",
           signup_method="invitation"),
    _event("h08", "identified", "2026-03-03T09:00:05Z", "2026-03-03T09:00:06Z",
           "anon_b", "dev_b", "u_bob", "acc_h1", email="bob.stone@h1.com",
           first_name="Bob", last_name="Stone"),
    _event("h09", "logged_in", "2026-03-09T08:00:00Z", "2026-03-09T08:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_h1", login_method="password"),
    _event("h10", "feature_used", "2026-03-04T09:00:00Z", "2026-03-04T09:00:01Z",
           "anon_b", "dev_b", "guest", "acc_h1", feature_name="reports", usage_count=2),
    _event("h16", "logged_in", "2026-03-04T10:00:00Z", "2026-03-04T10:00:01Z",
           "anon_b", "dev_b", "0", "acc_h1", login_method="password"),
    _event("h20", "signed_up", "2026-02-20T09:00:00Z", "2026-02-20T09:00:01Z",
           "anon_d", "dev_d", "u_dora", "acc_h2", email="dora@h2.org", signup_method="email"),
    _event("h21", "trial_started", "2026-02-20T09:01:00Z", "2026-02-20T09:01:01Z",
           "anon_d", "dev_d", "u_dora", "acc_h2", plan="starter", trial_days=14),
    _event("h22", "logged_in", "2026-03-10T18:00:00Z", "2026-03-10T18:00:01Z",
           "anon_d", "dev_d", "u_dora", "acc_h2", login_method="google"),
]  # fmt: skip

# Day 2 (received 2026-03-11/12): Ann signs up again with a new user_id from the visitor's
# browser, which links the visitor's cluster and Ann's first user_id (same mailbox, one
# after the other) to one person; a late event of February (Dora's first invoice, sent
# on 25 February, received on 11 March); and a row of 8 March the loader landed late.
BATCH_2 = [
    _event("h11", "signed_up", "2026-03-11T09:00:00Z", "2026-03-11T09:00:01Z",
           "anon_v", "dev_v", "u_ann2", "acc_h1", email="Ann.Lee@h1.com ",
           signup_method="email"),
    _event("h12", "identified", "2026-03-11T09:00:05Z", "2026-03-11T09:00:06Z",
           "anon_v", "dev_v", "u_ann2", "acc_h1", email="ann.lee@h1.com",
           first_name="Ann", last_name="Lee"),
    _event("h13", "first_invoice_sent", "2026-02-25T16:00:00Z", "2026-03-11T10:00:00Z",
           "anon_d", "dev_d", "u_dora", "acc_h2", invoice_id="inv-1", amount_usd=120.5,
           currency="EUR"),
    _event("h14", "logged_in", "2026-03-12T08:00:00Z", "2026-03-12T08:00:01Z",
           "anon_b", "dev_b", "u_bob", "acc_h1", login_method="password"),
]  # fmt: skip
LATE_LANDED = [
    _event("h15", "logged_in", "2026-03-08T12:00:00Z", "2026-03-08T12:00:02Z",
           "anon_d", "dev_d", "u_dora", "acc_h2", login_method="google"),
]  # fmt: skip


def _write_events(raw_dir: Path, rows: list[dict]) -> None:
    raw_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=EVENT_COLUMNS).to_csv(raw_dir / "raw_events.csv", index=False)


def except_all_counts(left: Path, right: Path, table: str) -> tuple[int, int, int]:
    """Rows of ``table`` in ``left`` not in ``right``, the reverse (EXCEPT ALL: duplicates
    count), and the row count of ``left``."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as one (read_only)")
        con.execute(f"attach '{right}' as two (read_only)")
        only_left = con.execute(
            f"select count(*) from (select * from one.{table} except all select * from two.{table})"
        ).fetchone()[0]
        only_right = con.execute(
            f"select count(*) from (select * from two.{table} except all select * from one.{table})"
        ).fetchone()[0]
        rows = con.execute(f"select count(*) from one.{table}").fetchone()[0]
    return only_left, only_right, rows


def _tables(db_path: Path) -> set[str]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        listing = "select table_schema || '.' || table_name from information_schema.tables"
        rows = con.execute(listing).fetchall()
    return {name for (name,) in rows}


def _differences(one_step: Path, two_steps: Path) -> dict[str, tuple[int, int, int]]:
    return {table: except_all_counts(two_steps, one_step, table) for table in COMPARED}


def build_two_steps(
    work: Path, args: list[str], first: list[dict], everything: list[dict], vars_2: dict | None = None
) -> tuple[Path, Path, Path]:
    """The two worlds of an incremental-equals-full-refresh check, under ``work``: one full
    refresh (`args` plus --full-refresh) of ``everything``; and ``first`` from scratch, then
    ``everything`` incrementally (with ``vars_2`` on the incremental run). Returns both
    databases and a copy of the two-step database as it stood after its first step. Shared
    by the incremental identity, links, attribution and increment-model tests."""
    _write_events(work / "raw_all", everything)
    _write_events(work / "raw_first", first)
    one_step, two_steps = work / "one_step.duckdb", work / "two_steps.duckdb"
    run_dbt([*args, "--full-refresh"], one_step, work / "t1", raw_dir=work / "raw_all")
    run_dbt([*args, "--full-refresh"], two_steps, work / "t2", raw_dir=work / "raw_first")
    after_first = work / "after_first.duckdb"
    shutil.copy(two_steps, after_first)
    run_dbt(args, two_steps, work / "t2", raw_dir=work / "raw_all", dbt_vars=vars_2)
    return one_step, two_steps, after_first


ARGS = ["build", "--select", *SELECT, "--exclude", "test_type:data", "test_type:unit"]


@pytest.fixture(scope="module")
def hand_written(tmp_path_factory):
    work = tmp_path_factory.mktemp("incremental_identity")
    return build_two_steps(work, ARGS, BATCH_1, BATCH_1 + BATCH_2 + LATE_LANDED)


def _person(db_path: Path, identifier_key: str) -> str:
    frame = query(
        db_path, f"select person_id from marts.dim_identifiers where identifier_key = '{identifier_key}'"
    )
    assert len(frame) == 1, identifier_key
    return frame["person_id"].iloc[0]


def test_hand_written_two_steps_equal_one_full_refresh(hand_written):
    one_step, two_steps, _ = hand_written
    differences = _differences(one_step, two_steps)
    assert all(rows > 0 for _, _, rows in differences.values()), differences
    assert {table: d[:2] for table, d in differences.items()} == {table: (0, 0) for table in COMPARED}


def test_the_increment_labels_only_the_touched_components(hand_written):
    """The second step's three component models took the incremental path
    (docs/incremental_components.md); the first step labelled in full. Day 2 adds u_ann2
    (its self-edge) and its same-mailbox link to u_ann to both user graphs: 2 changed edges,
    and only u_ann and u_ann2 of the 4 user_ids are labelled again (u_ann was alone). The
    device graph (8 ids) does not change: nothing is labelled again."""
    _, two_steps, _ = hand_written
    log = (two_steps.parent / "t2" / "logs" / "dbt.log").read_text()
    assert log.count("connected_components(labels) in full") == 3
    steps = re.findall(r"connected_components\(labels\) incremental: (\d+) changed edges, (\d+) affected "
                       r"nodes recomputed of (\d+)", log)  # fmt: skip
    assert len(steps) == 3
    assert sorted(steps) == [("0", "0", "8"), ("2", "2", "4"), ("2", "2", "4")]


def test_the_new_day_links_two_separate_components(hand_written):
    one_step, two_steps, after_first = hand_written
    # after day 1 the visitor's browser and Ann's first user_id are two people
    assert _person(after_first, "anonymous_id:anon_v") != _person(after_first, "user_id:u_ann")
    # after day 2 (incrementally) they are one person, with Ann's second user_id
    for db_path in (two_steps, one_step):
        ann = _person(db_path, "user_id:u_ann")
        assert _person(db_path, "anonymous_id:anon_v") == ann
        assert _person(db_path, "user_id:u_ann2") == ann
        assert _person(db_path, "user_id:u_bob") != ann
    # ...so the account's first touch becomes the visitor's newsletter page view
    sources = query(two_steps, "select distinct first_touch_source from marts.fct_funnel")
    before = query(after_first, "select distinct first_touch_source from marts.fct_funnel")
    assert "newsletter" in set(sources["first_touch_source"])
    assert "newsletter" not in set(before["first_touch_source"])


def test_late_events_reach_the_incremental_tables(hand_written):
    _, two_steps, _ = hand_written
    observed = query(
        two_steps,
        "select event_id, received_at from intermediate.int_identity_observations"
        " where event_id in ('h13', 'h15') and identifier_type = 'user_id'",
    )
    assert sorted(observed["event_id"]) == ["h13", "h15"]
    invoice = query(
        two_steps,
        "select cast(reached_date as varchar) as reached_date from intermediate.int_moments_reached"
        " where entity_id = 'acc_h2' and moment_name = 'first_invoice_sent'",
    )
    assert list(invoice["reached_date"]) == ["2026-02-25"]
    # the blocked junk id stays blocked after the incremental run
    blocked = query(
        two_steps,
        "select is_blocked from intermediate.int_identity_observations"
        " where identifier_key = 'user_id:guest'",
    )
    assert list(blocked["is_blocked"]) == [True]


def test_without_lookback_the_comparison_fails(tmp_path):
    """Negative control: with a zero-hour lookback the row landed late (received before
    day 1's newest row) is skipped by the incremental run, and the comparison says so."""
    one_step, two_steps, _ = build_two_steps(
        tmp_path, ARGS, BATCH_1, BATCH_1 + BATCH_2 + LATE_LANDED, vars_2={"event_lookback_hours": 0}
    )
    only_two, only_one, _ = except_all_counts(two_steps, one_step, "intermediate.int_identity_observations")
    assert only_two == 0 and only_one == 3  # h15's anonymous_id, device_id and user_id


def _project_with_blocklist_edit(root: Path) -> Path:
    """A copy of the dbt project whose identity blocklist no longer lists 'guest' and now
    lists Bob's browser (anon_b) as an anonymous_id never to link (not a null marker)."""
    root.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml", "selectors.yml", "macros", "models", "seeds",
                 "snapshots", "tests", "analyses"):  # fmt: skip
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    blocklist = root / "seeds" / "identity" / "identity_blocklist.csv"
    lines = blocklist.read_text().splitlines()
    kept = [line for line in lines if not line.startswith("*,guest,")]
    assert len(kept) == len(lines) - 1
    blocklist.write_text("\n".join([*kept, "anonymous_id,anon_b,false,a kiosk browser"]) + "\n")
    return root


def test_a_blocklist_edit_applies_to_history(hand_written, tmp_path):
    """Day 2 runs with an edited blocklist: rows stored on day 1 are judged again, so the
    incremental table equals a full refresh under the new list."""
    _, _, after_first = hand_written
    project = _project_with_blocklist_edit(tmp_path / "project")
    _write_events(tmp_path / "raw_all", BATCH_1 + BATCH_2 + LATE_LANDED)
    args = ["build", "--select", *SELECT, "--exclude", "test_type:data", "test_type:unit"]
    two_steps = tmp_path / "two_steps.duckdb"
    shutil.copy(after_first, two_steps)
    run_dbt(args, two_steps, tmp_path / "t2", raw_dir=tmp_path / "raw_all", project_dir=project)
    one_step = tmp_path / "one_step.duckdb"
    run_dbt(
        [*args, "--full-refresh"],
        one_step,
        tmp_path / "t1",
        raw_dir=tmp_path / "raw_all",
        project_dir=project,
    )
    differences = _differences(one_step, two_steps)
    assert {table: d[:2] for table, d in differences.items()} == {table: (0, 0) for table in COMPARED}
    judged = query(
        two_steps,
        "select identifier_key, bool_and(is_blocked) as blocked from intermediate.int_identity_observations"
        " where identifier_key in ('user_id:guest', 'anonymous_id:anon_b') group by identifier_key"
        " order by identifier_key",
    )
    assert judged.values.tolist() == [["anonymous_id:anon_b", True], ["user_id:guest", False]]
    before = query(
        after_first,
        "select identifier_key, bool_and(is_blocked) as blocked from intermediate.int_identity_observations"
        " where identifier_key in ('user_id:guest', 'anonymous_id:anon_b') group by identifier_key"
        " order by identifier_key",
    )
    assert before.values.tolist() == [["anonymous_id:anon_b", False], ["user_id:guest", True]]


def test_after_an_erasure_the_incremental_build_equals_a_full_refresh(hand_written, tmp_path):
    """Bob is erased. His event h16 (older than the lookback window) also carried the junk
    user_id '0', nobody's identifier and too short for the erasure's value sweep: its
    observation row must go with the event (lawn/privacy.py, PER_EVENT_TABLES), or the
    incremental table keeps a row a full refresh does not have."""
    _, two_steps, _ = hand_written
    raw_all = tmp_path / "raw_all"
    _write_events(raw_all, BATCH_1 + BATCH_2 + LATE_LANDED)
    args = ["build", "--select", *SELECT, "+pii_identifiers", "--exclude", "test_type:data", "test_type:unit"]
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(two_steps, incremental)
    run_dbt(args, incremental, tmp_path / "t2", raw_dir=raw_all)  # pii_identifiers, for erase
    result = erase(incremental, user_id="u_bob")
    assert result.rows_deleted["intermediate.int_identity_observations"] > 0
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(incremental, refreshed)
    # the components' states are dropped (docs/incremental_components.md): the sweep would
    # have deleted some of their rows, leaving labels that no longer match them
    assert set(COMPONENT_STATES) <= _tables(two_steps)
    assert not set(COMPONENT_STATES) & _tables(refreshed)
    # the raw landing lost Bob's rows in the erasure: build from it as it is
    run_dbt(args, incremental, tmp_path / "t2")
    run_dbt([*args, "--full-refresh"], refreshed, tmp_path / "t1")
    differences = _differences(refreshed, incremental)
    assert {table: d[:2] for table, d in differences.items()} == {table: (0, 0) for table in COMPARED}
    left = query(incremental, "select event_id from intermediate.int_identity_observations")
    assert not {"h09", "h10", "h16"} & set(left["event_id"])


@pytest.fixture(scope="module")
def generated(small_parquet, tmp_path_factory):
    """lawn's small generated world, its last received day held back from the first step."""
    work = tmp_path_factory.mktemp("incremental_generated")
    full = pd.read_parquet(small_parquet / "raw" / "raw_events.parquet")
    received = full["received_at"].map(parse_utc)
    last_day = received.max().normalize()
    first = full[received < last_day]
    assert 0 < len(full) - len(first) < len(full) / 10
    raw_all, raw_first = work / "raw_all", work / "raw_first"
    for target, frame in ((raw_all, full), (raw_first, first)):
        shutil.copytree(small_parquet / "raw", target)
        frame.to_parquet(target / "raw_events.parquet", index=False)
    args = ["build", "--select", *SELECT, "--exclude", "test_type:data", "test_type:unit"]
    one_step, two_steps = work / "one_step.duckdb", work / "two_steps.duckdb"
    run_dbt([*args, "--full-refresh"], one_step, work / "t1", raw_dir=raw_all)
    run_dbt([*args, "--full-refresh"], two_steps, work / "t2", raw_dir=raw_first)
    run_dbt(args, two_steps, work / "t2", raw_dir=raw_all)
    return one_step, two_steps


def test_generated_world_two_steps_equal_one_full_refresh(generated):
    one_step, two_steps = generated
    differences = _differences(one_step, two_steps)
    assert all(rows > 0 for _, _, rows in differences.values()), differences
    assert {table: d[:2] for table, d in differences.items()} == {table: (0, 0) for table in COMPARED}
