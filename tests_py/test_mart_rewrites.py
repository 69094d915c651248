"""The cheaper SQL of five heavy marts (docs/full_build_cost.md, "Marts after the event
models") gives the rows the previous SQL gave. The previous SQL is kept as the oracle in
tests_py/fixtures/reference_sql/ (the straightforward formulations: a spine x events range
join per feature, every event's masked payload from fct_events, every rule condition kept for
a second read, every active day range-joined to every retention period). A copy of the
project with those files as the models is built on the same hand-written feed as this
checkout, and the marts are compared with EXCEPT ALL both ways.

The feed is written for the rewrites, not by lawn's generator:
- activity with gaps shorter than 7 days, between 7 and 28 days and longer than 28 days, two
  users on one day, a user's two events on one day (active-user spans);
- activity and moments before the account's CRM creation day (the running counts start from
  what came before the first spine day);
- NPS answers received out of the order they happened in, two with the same occurred_at (the
  event_id decides), a plan change received after a later one (never the latest);
- a young events-only account (the onboarding rule fires: fct_next_best_actions has rows), an
  account known only from the CRM (no events);
- a second world where the governance map masks every `none`-class property, so the masked
  score and feature name are null in both versions (visible_property).
The incremental path of fct_account_features_daily is checked on the same feed: the feed up to
10 March from scratch, then everything incrementally, equals one full refresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.contract import RAW_EVENT_COLUMNS, RAW_TABLES
from lawn.paths import REPO_ROOT
from tests_py.conftest import run_dbt

REFERENCE = Path(__file__).parent / "fixtures" / "reference_sql"
MODELS = {
    "marts.fct_account_features_daily": "models/marts/features/fct_account_features_daily.sql",
    "marts.dim_users": "models/marts/identity/dim_users.sql",
    "marts.dim_accounts": "models/marts/identity/dim_accounts.sql",
    "marts.fct_next_best_actions": "models/marts/actions/fct_next_best_actions.sql",
    "marts.fct_retention_cohorts": "models/marts/metrics/fct_retention_cohorts.sql",
}
SELECT = [f"+{Path(path).stem}" for path in MODELS.values()]
ARGS = ["build", "--select", *SELECT, "--exclude", "test_type:data", "test_type:unit"]
FEATURES = [
    "build",
    "--select",
    "+fct_account_features_daily",
    "--exclude",
    "test_type:data",
    "test_type:unit",
]
# every property of pii_class `none` (score, feature_name, mrr_usd...) is masked in fct_events
MASK_ALL = {
    "governance_plan_pii_classes": {
        "personal": "direct_pii",
        "sensitive": "indirect_pii",
        "pseudonymous": "pseudonymous",
        "none": "direct_pii",
    }
}
CRM_COLUMNS = list(RAW_TABLES["crm_accounts"].column_names)  # the contract's columns, in order


def _event(event_id, name, occurred, user, account, received=None, **properties):
    return {
        "event_id": event_id,
        "event_name": name,
        "schema_version": "1",
        "source": "web",
        "occurred_at": f"{occurred}Z",
        "received_at": f"{received or occurred[:-1] + '9'}Z",
        "anonymous_id": f"anon_{user}",
        "device_id": f"dev_{user}",
        "user_id": user,
        "account_id": account,
        "context": "",
        "properties": json.dumps(properties),
    }


def _crm(account_id, created_at):
    return {
        "account_id": account_id,
        "account_name": f"Firm {account_id}",
        "email_domain": f"{account_id}.com",
        "industry": "software",
        "segment": "smb",
        "country": "NL",
        "created_at": created_at,
        "acquisition_channel": "organic",
        "sales_owner": "ann.k",
    }


def _signup(event_id, occurred, user, account):
    return _event(
        event_id, "signed_up", occurred, user, account, email=f"{user}@{account}.com", signup_method="email"
    )


def _use(event_id, occurred, user, account, feature="reports"):
    return _event(event_id, "feature_used", occurred, user, account, feature_name=feature, usage_count=1)


def _login(event_id, occurred, user, account):
    return _event(event_id, "logged_in", occurred, user, account, login_method="password")


def _nps(event_id, occurred, received, score):
    return _event(event_id, "nps_submitted", occurred, "u_m1", "acc_m1", received=received, score=score)


def _plan(event_id, occurred, received, to_plan, mrr):
    return _event(
        event_id, "plan_changed", occurred, "u_m1", "acc_m1", received=received,
        from_plan="trial", to_plan=to_plan, mrr_usd=mrr,
    )  # fmt: skip


EVENTS = [
    # acc_m1: in the CRM from 10 February, but its first user signed up on 1 February
    _signup("m_01", "2026-02-01T10:00:00", "u_m1", "acc_m1"),
    _login("m_02", "2026-02-03T10:00:00", "u_m1", "acc_m1"),
    _use("m_03", "2026-02-05T10:00:00", "u_m1", "acc_m1", feature="create_invoice"),
    _use("m_04", "2026-02-20T10:00:00", "u_m1", "acc_m1"),  # 15 days later: inside 28, not 7
    _login("m_05", "2026-03-25T10:00:00", "u_m1", "acc_m1"),  # 33 days later: a new span
    _use("m_06", "2026-03-27T10:00:00", "u_m1", "acc_m1"),  # 2 days later: inside 7
    _signup("m_10", "2026-02-12T09:00:00", "u_m2", "acc_m1"),
    _use("m_11", "2026-02-12T11:00:00", "u_m2", "acc_m1"),  # same user, same day
    _use("m_12", "2026-02-20T15:00:00", "u_m2", "acc_m1"),  # same day as u_m1
    _login("m_13", "2026-03-06T10:00:00", "u_m2", "acc_m1"),
    _use("m_14", "2026-03-12T10:00:00", "u_m2", "acc_m1", feature="create_invoice"),
    # NPS: m_n2 happened before m_n1 but arrived after it (never the latest); m_n3 and m_n4
    # happened at the same second, m_n4 (the larger event_id) wins from the day it arrived
    _nps("m_n1", "2026-02-14T10:00:00", "2026-02-14T10:00:09", 8),
    _nps("m_n2", "2026-02-10T10:00:00", "2026-02-18T08:00:00", 2),
    _nps("m_n4", "2026-02-20T10:00:00", "2026-02-22T08:00:00", 9),
    _nps("m_n3", "2026-02-20T10:00:00", "2026-02-25T08:00:00", 5),
    _nps("m_n5", "2026-03-08T10:00:00", "2026-03-14T08:00:00", 6),
    # plans: $29, then back to a $0 trial on 1 March; the $59 change of 28 February arrives on 3 March
    _plan("m_p1", "2026-02-11T10:00:00", "2026-02-11T10:00:09", "starter", 29),
    _plan("m_p2", "2026-03-01T10:00:00", "2026-03-01T10:00:09", "trial", 0),
    _plan("m_p3", "2026-02-28T10:00:00", "2026-03-03T08:00:00", "growth", 59),
    _plan("m_p4", "2026-03-20T10:00:00", "2026-03-20T10:00:09", "growth", 99),
    # acc_m2: a young account known from events only (the onboarding rule fires)
    _signup("m_20", "2026-03-16T10:00:00", "u_p1", "acc_m2"),
    _use("m_21", "2026-03-18T10:00:00", "u_p1", "acc_m2"),
    _login("m_22", "2026-03-22T10:00:00", "u_p1", "acc_m2"),
    _use("m_23", "2026-03-28T10:00:00", "u_p1", "acc_m2"),
]  # fmt: skip
CRM = [_crm("acc_m1", "2026-02-10T09:00:00Z"), _crm("acc_m3", "2026-03-01T09:00:00Z")]
FIRST_PART_END = "2026-03-10T23:59:59Z"  # the first incremental step: received by 10 March


def _write_raw(raw_dir: Path, events: list[dict]) -> Path:
    raw_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(events, columns=list(RAW_EVENT_COLUMNS)).to_csv(raw_dir / "raw_events.csv", index=False)
    pd.DataFrame(CRM, columns=CRM_COLUMNS).to_csv(raw_dir / "crm_accounts.csv", index=False)
    return raw_dir


def _reference_project(root: Path) -> Path:
    """A copy of the dbt project whose five marts are the reference (previous) SQL."""
    root.mkdir(parents=True)
    parts = ("dbt_project.yml", "profiles.yml", "macros", "models", "seeds", "snapshots", "tests", "analyses")
    for name in parts:
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    for path in MODELS.values():
        shutil.copy(REFERENCE / Path(path).name, root / path)
    return root


def _except_all(
    left: Path, right: Path, table: str, plant: str | None = None, changes: str = "true"
) -> tuple[int, int]:
    """Rows of ``table`` only in ``left`` and only in ``right`` (EXCEPT ALL both ways); with
    ``plant``, after that SET clause is applied to one row of a copy of ``left``'s table: the
    first row (in storage order, which a threaded build does not fix) for which ``changes``
    holds, so the SET really changes it (``activated_at = null`` on a user never activated
    would plant nothing)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as one (read_only)")
        con.execute(f"attach '{right}' as two (read_only)")
        con.execute(f"create temp table mine as select * from one.{table}")
        if plant is not None:
            target = con.execute(f"select min(rowid) from mine where {changes}").fetchone()[0]
            assert target is not None, f"no row of {table} where {changes}: nothing to plant"
            con.execute(f"update mine set {plant} where rowid = {target}")
        only_left = con.execute(
            f"select count(*) from (select * from mine except all select * from two.{table})"
        )
        left_count = only_left.fetchone()[0]
        only_right = con.execute(
            f"select count(*) from (select * from two.{table} except all select * from mine)"
        )
        return left_count, only_right.fetchone()[0]


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    work = tmp_path_factory.mktemp("mart_rewrites")
    raw_all = _write_raw(work / "raw_all", EVENTS)
    raw_first = _write_raw(work / "raw_first", [e for e in EVENTS if e["received_at"] <= FIRST_PART_END])
    reference = _reference_project(work / "reference_project")
    dbs = {name: work / f"{name}.duckdb" for name in ("new", "old", "new_masked", "old_masked", "two_steps")}
    run_dbt([*ARGS, "--full-refresh"], dbs["new"], work / "t_new", raw_dir=raw_all)
    run_dbt([*ARGS, "--full-refresh"], dbs["old"], work / "t_old", raw_dir=raw_all, project_dir=reference)
    identity = [
        "build",
        "--select",
        "+dim_users",
        "+dim_accounts",
        "--exclude",
        "test_type:data",
        "test_type:unit",
    ]
    run_dbt(
        [*identity, "--full-refresh"], dbs["new_masked"], work / "t_nm", raw_dir=raw_all, dbt_vars=MASK_ALL
    )
    run_dbt(
        [*identity, "--full-refresh"], dbs["old_masked"], work / "t_om", raw_dir=raw_all,
        project_dir=reference, dbt_vars=MASK_ALL,
    )  # fmt: skip
    run_dbt([*FEATURES, "--full-refresh"], dbs["two_steps"], work / "t_two", raw_dir=raw_first)
    run_dbt(FEATURES, dbs["two_steps"], work / "t_two", raw_dir=raw_all)
    return dbs


@pytest.mark.parametrize("table", list(MODELS))
def test_new_sql_gives_the_reference_rows(worlds, table):
    assert _except_all(worlds["new"], worlds["old"], table) == (0, 0)
    count = _rows(worlds["new"], f"select count(*) from {table}")[0][0]
    assert count > 0, f"{table} is empty on the fixture: the comparison would prove nothing"


@pytest.mark.parametrize(
    ("table", "plant", "changes"),
    [
        (
            "marts.fct_account_features_daily",
            "active_users_28d = active_users_28d + 1",
            "active_users_28d is not null",
        ),
        ("marts.fct_account_features_daily", "latest_nps_score = 2", "latest_nps_score is distinct from 2"),
        ("marts.dim_users", "activated_at = null", "activated_at is not null"),
        ("marts.dim_accounts", "nps_responses = nps_responses + 1", "nps_responses is not null"),
        ("marts.fct_next_best_actions", "decided_on = decided_on + 1", "decided_on is not null"),
        ("marts.fct_retention_cohorts", "retained_units = retained_units + 1", "retained_units is not null"),
    ],
)
def test_negative_control_a_planted_difference_is_caught(worlds, table, plant, changes):
    assert _except_all(worlds["new"], worlds["old"], table, plant=plant, changes=changes) == (1, 1)


@pytest.mark.parametrize("table", ["marts.dim_users", "marts.dim_accounts"])
def test_masked_properties_give_the_reference_rows(worlds, table):
    assert _except_all(worlds["new_masked"], worlds["old_masked"], table) == (0, 0)


def test_masking_really_hides_the_score_and_the_feature_name(worlds):
    # what the masked world must differ in, so that its comparison is not vacuous
    scores = "select account_id, latest_nps_score, nps_responses from marts.dim_accounts"
    scores += " where account_id = 'acc_m1'"
    assert _rows(worlds["new"], scores) == [("acc_m1", 6, 5)]
    assert _rows(worlds["new_masked"], scores) == [("acc_m1", None, 5)]
    activated = "select count(activated_at) from marts.dim_users"
    assert _rows(worlds["new"], activated)[0][0] == 2
    assert _rows(worlds["new_masked"], activated)[0][0] == 0


def test_incremental_features_equal_a_full_refresh(worlds):
    assert _except_all(worlds["two_steps"], worlds["new"], "marts.fct_account_features_daily") == (0, 0)


def test_features_by_hand(worlds):
    """A few days of acc_m1 worked out by hand from the feed."""
    sql = """
        select cast(feature_date as varchar), account_age_days, active_users_7d, active_users_28d,
               milestones_reached, latest_nps_score, cast(mrr_usd as double)
        from marts.fct_account_features_daily
        where account_id = 'acc_m1' and feature_date in (
            date '2026-02-10', date '2026-02-21', date '2026-02-24', date '2026-03-04',
            date '2026-03-20', date '2026-03-27'
        )
        order by feature_date
    """
    assert _rows(worlds["new"], sql) == [
        # created 10 Feb; u_m1 active 1, 3 and 5 Feb (5 Feb is inside the 7-day window too);
        # the account's signup moment (1 Feb) came before its creation day
        ("2026-02-10", 0, 1, 1, 1, None, 0.0),
        # both users on 20 Feb (u_m1 answered NPS on the 18th too); NPS m_n1 (8, 14 Feb)
        # beats m_n2 (arrived later, happened earlier); $29 since 11 Feb (first_paid)
        ("2026-02-21", 11, 2, 2, 2, 8.0, 29.0),
        # m_n4 arrived on the 22nd: 9
        ("2026-02-24", 14, 2, 2, 2, 9.0, 29.0),
        # nobody in 26 Feb .. 4 Mar; m_n3 (same second as m_n4, smaller id, arrived 25 Feb)
        # never wins; $0 since 1 March: the $59 change of 28 Feb (arrived 3 March) is older
        ("2026-03-04", 22, 0, 2, 2, 9.0, 0.0),
        # answering NPS is activity: m_n5 (received 14 March) makes u_m1 active in both
        # windows, u_m2 (6 and 12 March) only in the 28 days; m_n5's score; $99 since the 20th
        ("2026-03-20", 38, 1, 2, 2, 6.0, 99.0),
        # u_m1 on 25 and 27 March; u_m2's 6 and 12 March still in the 28 days
        ("2026-03-27", 45, 1, 2, 2, 6.0, 99.0),
    ]
