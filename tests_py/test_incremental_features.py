"""The incremental fct_account_features_daily (docs/incremental_features.md): a world built in
two steps (day 1 from scratch, then everything incrementally) holds, row for row, what one
full refresh of the same data holds (EXCEPT ALL both ways, so duplicated rows count too).

The feed is hand-written from the raw envelope, the tracking plan and a CRM export (not
lawn's generator). Day 2 brings: a late NPS answer that happened on day 1 (it must not change
day 1's features), an event of 9 March the loader landed late (inside the event lookback:
day 9 March changes, in the full refresh too), a new account, a CRM row for an account that
was known only from events (its creation day moves back, so all its days change) and a
segment change (not a feature input). A control shows the rows the incremental run did not
rewrite are kept as stored, and a negative control shows the comparison fails when the
pre-hook does not delete what changed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.contract import RAW_EVENT_COLUMNS, RAW_TABLES
from lawn.feature_state import forget_account_features
from lawn.paths import REPO_ROOT
from lawn.retention import apply_retention
from tests_py.conftest import query, run_dbt

TABLE = "marts.fct_account_features_daily"
ARGS = ["build", "--select", "+fct_account_features_daily", "--exclude", "test_type:data", "test_type:unit"]
MACRO = "macros/features/delete_changed_account_features.sql"
EVENT_COLUMNS = list(RAW_EVENT_COLUMNS)  # the contract's raw_events columns, in order
CRM_COLUMNS = list(RAW_TABLES["crm_accounts"].column_names)  # the contract's columns, in order


def _event(event_id, name, occurred, received, user, account, **properties):
    return {
        "event_id": event_id,
        "event_name": name,
        "schema_version": "1",
        "source": "web",
        "occurred_at": occurred,
        "received_at": received,
        "anonymous_id": f"anon_{user}",
        "device_id": f"dev_{user}",
        "user_id": user,
        "account_id": account,
        "context": "",
        "properties": json.dumps(properties),
    }


def _crm(account_id, segment, created_at):
    return {
        "account_id": account_id,
        "account_name": f"Firm {account_id}",
        "email_domain": f"{account_id}.com",
        "industry": "software",
        "segment": segment,
        "country": "NL",
        "created_at": created_at,
        "acquisition_channel": "organic",
        "sales_owner": "ann.k",
    }


# Day 1 (received up to 2026-03-10 18:00): acc_f1 (in the CRM since 1 February) uses reports,
# answers NPS 7 and pays $49; acc_f2 and acc_f3 are known from events only.
DAY_1 = [
    _event("f01", "signed_up", "2026-02-01T10:00:00Z", "2026-02-01T10:00:01Z",
           "u_a1", "acc_f1", email="a1@acc_f1.com", signup_method="email"),
    _event("f02", "plan_changed", "2026-02-05T10:00:00Z", "2026-02-05T10:00:01Z",
           "u_a1", "acc_f1", from_plan="trial", to_plan="starter", mrr_usd=49),
    _event("f03", "feature_used", "2026-03-01T10:00:00Z", "2026-03-01T10:00:01Z",
           "u_a1", "acc_f1", feature_name="reports", usage_count=1),
    _event("f04", "nps_submitted", "2026-03-02T10:00:00Z", "2026-03-02T10:00:01Z",
           "u_a1", "acc_f1", score=7),
    _event("f05", "feature_used", "2026-03-04T10:00:00Z", "2026-03-04T10:00:01Z",
           "u_a1", "acc_f1", feature_name="reports", usage_count=1),
    _event("f06", "feature_used", "2026-03-08T10:00:00Z", "2026-03-08T10:00:01Z",
           "u_a1", "acc_f1", feature_name="reminders", usage_count=2),
    _event("f07", "logged_in", "2026-03-10T09:00:00Z", "2026-03-10T09:00:01Z",
           "u_a1", "acc_f1", login_method="password"),
    _event("f10", "signed_up", "2026-02-20T10:00:00Z", "2026-02-20T10:00:01Z",
           "u_b1", "acc_f2", email="b1@acc_f2.com", signup_method="google"),
    _event("f11", "feature_used", "2026-03-05T10:00:00Z", "2026-03-05T10:00:01Z",
           "u_b1", "acc_f2", feature_name="reports", usage_count=1),
    _event("f12", "logged_in", "2026-03-10T18:00:00Z", "2026-03-10T18:00:01Z",
           "u_b1", "acc_f2", login_method="google"),
    _event("f20", "signed_up", "2026-02-25T10:00:00Z", "2026-02-25T10:00:01Z",
           "u_c1", "acc_f3", email="c1@acc_f3.com", signup_method="email"),
    _event("f21", "feature_used", "2026-03-06T10:00:00Z", "2026-03-06T10:00:01Z",
           "u_c1", "acc_f3", feature_name="payment_links", usage_count=1),
]  # fmt: skip
CRM_1 = [_crm("acc_f1", "smb", "2026-02-01T09:00:00Z")]

# Day 2 (received 11-12 March): the NPS answer of 9 March arrives late (score 3), acc_f1
# uses a feature and upgrades to $99, acc_f4 signs up, and the loader lands a feature use
# of acc_f2 received on 9 March (inside the 72-hour event lookback).
DAY_2 = [
    _event("f08", "nps_submitted", "2026-03-09T10:00:00Z", "2026-03-11T08:00:00Z",
           "u_a1", "acc_f1", score=3),
    _event("f09", "feature_used", "2026-03-11T10:00:00Z", "2026-03-11T10:00:01Z",
           "u_a1", "acc_f1", feature_name="reports", usage_count=1),
    _event("f13", "plan_changed", "2026-03-12T10:00:00Z", "2026-03-12T10:00:01Z",
           "u_a1", "acc_f1", from_plan="starter", to_plan="growth", mrr_usd=99),
    _event("f30", "signed_up", "2026-03-11T12:00:00Z", "2026-03-11T12:00:01Z",
           "u_d1", "acc_f4", email="d1@acc_f4.com", signup_method="email"),
    _event("f31", "feature_used", "2026-03-12T12:00:00Z", "2026-03-12T12:00:01Z",
           "u_d1", "acc_f4", feature_name="reports", usage_count=1),
]  # fmt: skip
LATE_LANDED = [
    _event("f14", "feature_used", "2026-03-09T15:00:00Z", "2026-03-09T15:00:01Z",
           "u_b1", "acc_f2", feature_name="reports", usage_count=1),
]  # fmt: skip
# the CRM now knows acc_f3 (created in January, before its first event) and moved acc_f1
CRM_2 = [_crm("acc_f1", "mid_market", "2026-02-01T09:00:00Z"), _crm("acc_f3", "smb", "2026-01-20T09:00:00Z")]

# the pre-hook a wrong implementation would have: nothing is rewritten but the new days
NO_DELETE_MACRO = """{% macro delete_changed_account_features() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where feature_date > (select data_day from {{ ref('int_data_day') }})
    {%- endif -%}
{%- endmacro %}
"""


def _write_raw(raw_dir: Path, events: list[dict], crm: list[dict]) -> Path:
    raw_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(events, columns=EVENT_COLUMNS).to_csv(raw_dir / "raw_events.csv", index=False)
    pd.DataFrame(crm, columns=CRM_COLUMNS).to_csv(raw_dir / "crm_accounts.csv", index=False)
    return raw_dir


def _project_copy(root: Path, files: dict[str, str]) -> Path:
    """A copy of the dbt project with ``files`` (relative path -> text) replaced."""
    root.mkdir(parents=True)
    parts = ("dbt_project.yml", "profiles.yml", "macros", "models", "seeds", "snapshots", "tests", "analyses")
    for name in parts:
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    for relative, text in files.items():
        (root / relative).write_text(text)
    return root


def except_all_rows(left: Path, right: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows in ``left`` not in ``right`` and the reverse (EXCEPT ALL)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as one (read_only)")
        con.execute(f"attach '{right}' as two (read_only)")
        only_left = con.execute(f"select * from one.{TABLE} except all select * from two.{TABLE}").df()
        only_right = con.execute(f"select * from two.{TABLE} except all select * from one.{TABLE}").df()
    return only_left, only_right


def _keys(rows: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(rows["account_id"], rows["feature_date"].astype(str).str[:10], strict=True))


def _features(db: Path) -> pd.DataFrame:
    frame = query(db, f"select * from {TABLE}")
    frame["feature_date"] = pd.to_datetime(frame["feature_date"]).dt.strftime("%Y-%m-%d")
    return frame.set_index(["account_id", "feature_date"]).sort_index()


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """One full refresh of both days; day 1 from scratch (copied as it stood) and then both
    days incrementally."""
    work = tmp_path_factory.mktemp("incremental_features")
    raw_all = _write_raw(work / "raw_all", DAY_1 + DAY_2 + LATE_LANDED, CRM_2)
    raw_first = _write_raw(work / "raw_first", DAY_1, CRM_1)
    one_step = work / "one_step.duckdb"
    run_dbt([*ARGS, "--full-refresh"], one_step, work / "t1", raw_dir=raw_all)
    two_steps = work / "two_steps.duckdb"
    run_dbt([*ARGS, "--full-refresh"], two_steps, work / "t2", raw_dir=raw_first)
    after_first = work / "after_first.duckdb"
    shutil.copy(two_steps, after_first)
    run_dbt(ARGS, two_steps, work / "t2", raw_dir=raw_all)
    return {"work": work, "raw_all": raw_all, "one": one_step, "two": two_steps, "first": after_first}


def test_incremental_equals_full_refresh_row_for_row(worlds):
    only_incremental, only_full = except_all_rows(worlds["two"], worlds["one"])
    assert only_incremental.empty and only_full.empty, (only_incremental, only_full)
    full = _features(worlds["one"])
    # every account has one row per day from its creation to the data day (12 March)
    assert set(full.index.get_level_values(0)) == {"acc_f1", "acc_f2", "acc_f3", "acc_f4"}
    days = full.reset_index().groupby("account_id")["feature_date"].agg(["min", "max", "count"])
    assert days.loc["acc_f1"].tolist() == ["2026-02-01", "2026-03-12", 40]
    assert days.loc["acc_f3"].tolist() == ["2026-01-20", "2026-03-12", 52]
    assert days.loc["acc_f4"].tolist() == ["2026-03-11", "2026-03-12", 2]


def test_late_event_does_not_change_its_occurrence_day(worlds):
    before, after = _features(worlds["first"]), _features(worlds["two"])
    # 10 March: NPS 7 (the answer of 9 March was received on the 11th), feature uses of
    # 4 and 8 March in the 7 days 4-10 March (1 March is outside), $49
    for frame in (before, after):
        day_1 = frame.loc[("acc_f1", "2026-03-10")]
        assert day_1["latest_nps_score"] == 7
        assert day_1["feature_uses_7d"] == 2
        assert float(day_1["mrr_usd"]) == 49
    # every stored day of acc_f1 up to the first step's data day is unchanged
    kept = after.loc["acc_f1"].loc[:"2026-03-10"]
    assert kept.equals(before.loc["acc_f1"]), "a late event changed a past day of acc_f1"
    # from the day of receipt on, the late answer is the latest known one (it happened after 2 March)
    assert after.loc[("acc_f1", "2026-03-11"), "latest_nps_score"] == 3
    assert float(after.loc[("acc_f1", "2026-03-12"), "mrr_usd"]) == 99
    assert float(after.loc[("acc_f1", "2026-03-12"), "mrr_change_30d"]) == 99 - 49


def test_changes_inside_the_lookback_and_of_the_creation_day_are_applied(worlds):
    before, after = _features(worlds["first"]), _features(worlds["two"])
    # the feature use received on 9 March and landed on day 2 counts from 9 March on
    assert before.loc[("acc_f2", "2026-03-09"), "feature_uses_7d"] == 1
    assert after.loc[("acc_f2", "2026-03-09"), "feature_uses_7d"] == 2
    assert after.loc[("acc_f2", "2026-03-08"), "feature_uses_7d"] == 1
    # acc_f3 was created at its first event (25 February); the CRM says 20 January
    assert before.loc["acc_f3"].index.min() == "2026-02-25"
    assert after.loc["acc_f3"].index.min() == "2026-01-20"
    # 20 January -> 6 March: 11 days to 31 January, 28 in February, 6 in March
    assert after.loc[("acc_f3", "2026-03-06"), "account_age_days"] == 11 + 28 + 6


def test_rows_before_the_lookback_are_not_rewritten(worlds, tmp_path):
    """The incremental run keeps the stored rows of unchanged accounts before the lookback:
    a value planted in one of them survives it (and is the only difference)."""
    db = tmp_path / "planted.duckdb"
    shutil.copy(worlds["first"], db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            f"update {TABLE} set feature_uses_baseline_28d = 999 "
            "where account_id = 'acc_f1' and feature_date = '2026-02-15'"
        )
    run_dbt(ARGS, db, tmp_path / "t", raw_dir=worlds["raw_all"])
    only_incremental, only_full = except_all_rows(db, worlds["one"])
    assert len(only_incremental) == 1 and len(only_full) == 1
    assert only_incremental["feature_uses_baseline_28d"].tolist() == [999]
    assert str(only_full["feature_date"].iloc[0])[:10] == "2026-02-15"


def test_negative_control_a_pre_hook_that_deletes_nothing_fails_the_comparison(worlds, tmp_path):
    project = _project_copy(tmp_path / "project", {MACRO: NO_DELETE_MACRO})
    db = tmp_path / "wrong.duckdb"
    shutil.copy(worlds["first"], db)
    run_dbt(ARGS, db, tmp_path / "t", raw_dir=worlds["raw_all"], project_dir=project)
    only_incremental, only_full = except_all_rows(db, worlds["one"])
    stale, missing = _keys(only_incremental), _keys(only_full)
    # acc_f2's 9 March (and the 7 days after it) keep the old count; acc_f3 keeps its old
    # creation day and misses its January and February days
    assert ("acc_f2", "2026-03-09") in stale and ("acc_f2", "2026-03-09") in missing
    assert ("acc_f3", "2026-02-25") in stale
    assert ("acc_f3", "2026-01-20") in missing
    assert ("acc_f1", "2026-03-10") not in stale


def test_retention_purge_recomputes_the_accounts_of_purged_events(worlds, tmp_path):
    """Event history keeps 365 days: retention at 1 March 2027 deletes the valid events
    received before 1 March 2026 (acc_f1's $49 plan change, the sign-ups). A full refresh
    then computes other values for those accounts on every day; retention deletes their
    stored feature rows (lawn/feature_state.py), so the next incremental build equals it."""
    db = tmp_path / "purged.duckdb"
    shutil.copy(worlds["two"], db)
    apply_retention(db, reference=dt.datetime(2027, 3, 1), manifest_path=None)
    assert query(db, f"select count(*) as n from {TABLE} where account_id = 'acc_f1'")["n"].iloc[0] == 0
    run_dbt(ARGS, db, tmp_path / "t")  # incremental, the raw tables as they are
    full = tmp_path / "full.duckdb"
    shutil.copy(db, full)
    run_dbt(["run", "--select", "fct_account_features_daily", "--full-refresh"], full, tmp_path / "t2")
    only_incremental, only_full = except_all_rows(db, full)
    assert only_incremental.empty and only_full.empty, (only_incremental, only_full)
    # the purge matters: before it acc_f1 had $49 on 10 March, a full refresh now knows no MRR,
    # and the events-only acc_f2 now starts at its first remaining event (5 March)
    before, after = _features(worlds["two"]), _features(full)
    assert float(before.loc[("acc_f1", "2026-03-10"), "mrr_usd"]) == 49
    assert float(after.loc[("acc_f1", "2026-03-10"), "mrr_usd"]) == 0
    assert after.loc["acc_f2"].index.min() == "2026-03-05"


def test_forget_account_features_deletes_only_the_accounts_of_matching_events(tmp_path):
    """The helper erasure and retention call: hand-made tables, one person's events on two
    accounts; a third account, and events without an account, are left alone."""
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema intermediate")
        con.execute("create schema marts")
        con.execute(
            "create table intermediate.int_events_valid as select * from (values "
            "('e1', 'u_x', 'acc_1'), ('e2', 'u_x', 'acc_2'), ('e3', 'u_y', 'acc_3'), ('e4', 'u_x', null)"
            ") as t(event_id, user_id, account_id)"
        )
        con.execute(
            f"create table {TABLE} as select * from (values "
            "('acc_1', date '2026-03-01'), ('acc_1', date '2026-03-02'), ('acc_2', date '2026-03-02'), "
            "('acc_3', date '2026-03-02')) as t(account_id, feature_date)"
        )
        deleted = forget_account_features(con, "user_id = ?", ["u_x"])
        left = con.execute(f"select account_id from {TABLE}").fetchall()
    assert deleted == {TABLE: 3}
    assert left == [("acc_3",)]
