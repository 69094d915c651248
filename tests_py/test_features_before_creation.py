"""fct_account_features_daily for an account whose CRM creation comes after its first events
(a sales-led account entered in the CRM after its trial, a CRM migrated later): the windows
of its first days count the events received before the creation, as their definitions say
("feature uses received in the 7 days ending on D"). A black-box probe (2026-12-06) found
`feature_uses_7d` of such an account's creation day at 1 where 7 uses had been received in
the 7 days ending on it, and `usage_trend_7d` inflated for two weeks (+7 where +1 was right).

A hand-written feed (raw envelope and CRM export, not lawn's generator); every window feature
of every written row is recomputed in pandas from the raw receive days. A second build in two
steps (the first days, then everything incrementally) must equal the full refresh."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from tests_py.conftest import query, run_dbt
from tests_py.test_incremental_features import ARGS, _crm, _event, _write_raw, except_all_rows

DAY = dt.date(2026, 3, 1)


def _at(days: int, hour: int = 10) -> str:
    return f"{DAY + dt.timedelta(days=days)}T{hour:02d}:00:00Z"


def _events() -> list[dict]:
    events = []

    def add(name: str, days: int, user: str, account: str, hour: int = 10, **properties) -> None:
        at = _at(days, hour)
        events.append(_event(f"e{len(events):03d}", name, at, at, user, account, **properties))

    # acc_late: signed up and used the product from 3 March, entered in the CRM on 10 March
    add("signed_up", 2, "u_late", "acc_late", email="l@acc_late.com", signup_method="email")
    for day in range(3, 17):
        add("feature_used", day, "u_late", "acc_late", feature_name="reports", usage_count=1)
    add("support_ticket_created", 4, "u_late", "acc_late", ticket_id="t1", priority="normal", topic="billing")
    for day, status in ((5, 500), (11, 200)):
        add("api_request", day, "u_late", "acc_late", endpoint="/v1/x", http_method="GET", status_code=status,
            latency_ms=80)  # fmt: skip
    add("email_delivered", 6, "u_late", "acc_late", campaign_id="welcome", email_type="lifecycle")
    add("email_opened", 7, "u_late", "acc_late", campaign_id="welcome", email_type="lifecycle")
    # acc_older: events 60 days before its CRM creation on 20 March (more than the windows read)
    add("signed_up", -40, "u_old", "acc_older", email="o@acc_older.com", signup_method="email")
    for day in (-40, -20, 0, 14, 16, 18, 19, 20, 21):
        add("feature_used", day, "u_old", "acc_older", feature_name="create_invoice", usage_count=1)
    # acc_plain: created on its first event (the CRM agrees), used on and off
    add("signed_up", 1, "u_plain", "acc_plain", hour=23, email="p@acc_plain.com", signup_method="email")
    for day in (1, 2, 9, 10, 20):
        add("feature_used", day, "u_plain", "acc_plain", feature_name="reports", usage_count=1)
    # prices on a half cent, as a billing export writes them (MRR_TEXTS)
    for account, user, day in (("acc_plain", "u_plain", 3), ("acc_late", "u_late", 12)):
        add("plan_changed", day, user, account, from_plan="trial", to_plan="starter",
            mrr_usd=float(MRR_TEXTS[account]))  # fmt: skip
    return events


# each account's MRR as its plan change sends it, and the cents fct_mrr reads (half up)
MRR_TEXTS = {"acc_plain": "1.005", "acc_late": "2.135"}
CRM = [
    _crm("acc_late", "smb", _at(9, 0)),
    _crm("acc_older", "mid_market", _at(19, 0)),
    _crm("acc_plain", "smb", _at(1, 23)),
]
CREATED = {row["account_id"]: dt.date.fromisoformat(row["created_at"][:10]) for row in CRM}
# (column, event filter, first and last day before D the window reads)
WINDOWS = {
    "feature_uses_7d": ("feature_used", 0, 6),
    "feature_uses_prior_7d": ("feature_used", 7, 13),
    "feature_uses_baseline_28d": ("feature_used", 7, 34),
    "support_tickets_28d": ("support_ticket_created", 0, 27),
    "emails_delivered_28d": ("email_delivered", 0, 27),
    "emails_opened_28d": ("email_opened", 0, 27),
    "api_requests_7d": ("api_request", 0, 6),
    "api_errors_7d": ("api_error", 0, 6),
}


def _expected(rows: pd.DataFrame, events: list[dict]) -> pd.DataFrame:
    raw = pd.DataFrame(events)
    raw["day"] = pd.to_datetime(raw["received_at"]).dt.date
    status = raw["properties"].str.extract(r'"status_code": (\d+)')[0].astype(float)
    raw.loc[(raw["event_name"] == "api_request") & (status >= 400), "is_error"] = True
    expected = rows[["account_id", "feature_date"]].copy()
    for column, (name, near, far) in WINDOWS.items():
        chosen = raw[raw["is_error"].eq(True)] if name == "api_error" else raw[raw["event_name"] == name]
        expected[column] = [
            int(((chosen["account_id"] == account) & chosen["day"].between(
                day - dt.timedelta(days=far), day - dt.timedelta(days=near))).sum())
            for account, day in zip(expected["account_id"], expected["feature_date"], strict=True)
        ]  # fmt: skip
    expected["usage_trend_7d"] = expected["feature_uses_7d"] - expected["feature_uses_prior_7d"]
    return expected


def _rows(db) -> pd.DataFrame:
    rows = query(db, "select * from marts.fct_account_features_daily order by account_id, feature_date")
    rows["feature_date"] = pd.to_datetime(rows["feature_date"]).dt.date
    return rows


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    work = tmp_path_factory.mktemp("features_before_creation")
    events = _events()
    raw_all = _write_raw(work / "raw_all", events, CRM)
    first = [event for event in events if event["received_at"] < _at(8, 0)]
    raw_first = _write_raw(
        work / "raw_first", first, [row for row in CRM if row["account_id"] != "acc_older"]
    )
    one, two = work / "one.duckdb", work / "two.duckdb"
    run_dbt([*ARGS, "--full-refresh"], one, work / "t1", raw_dir=raw_all)
    run_dbt([*ARGS, "--full-refresh"], two, work / "t2", raw_dir=raw_first)
    shutil.copy(two, work / "after_first.duckdb")
    run_dbt(ARGS, two, work / "t2", raw_dir=raw_all)
    return {"events": events, "one": one, "two": two}


def test_every_window_counts_the_events_received_before_the_creation(worlds):
    rows = _rows(worlds["one"])
    # the feed is valid as written: the recomputation below reads every event
    valid = query(worlds["one"], "select count(*) as n from intermediate.int_events_valid")["n"].iloc[0]
    assert valid == len(worlds["events"])
    data_day = query(worlds["one"], "select data_day from intermediate.int_data_day")["data_day"].iloc[0]
    # one row per day from the CRM creation to the data day, never before the creation
    for account, created in CREATED.items():
        days = rows.loc[rows["account_id"] == account, "feature_date"]
        assert days.min() == created and days.max() == pd.Timestamp(data_day).date(), account
        assert len(days) == (days.max() - created).days + 1, account
    expected = _expected(rows, worlds["events"])
    columns = [*WINDOWS, "usage_trend_7d"]
    wrong = rows[columns].ne(expected[columns]).any(axis=1)
    shown = rows.loc[wrong, ["account_id", "feature_date", *columns]]
    assert not wrong.any(), pd.concat([shown, expected.loc[wrong, columns].add_suffix("_expected")], axis=1)
    # the probe's figures: on its creation day acc_late had used the product on each of the 7 days
    late = rows[rows["account_id"] == "acc_late"].set_index("feature_date")
    assert late.loc[dt.date(2026, 3, 10), ["feature_uses_7d", "feature_uses_prior_7d"]].tolist() == [7, 0]
    assert late.loc[dt.date(2026, 3, 16), ["feature_uses_7d", "usage_trend_7d"]].tolist() == [7, 1]
    assert late.loc[dt.date(2026, 3, 10), "support_tickets_28d"] == 1


def test_two_steps_equal_the_full_refresh(worlds):
    only_two, only_one = except_all_rows(worlds["two"], worlds["one"])
    assert only_two.empty and only_one.empty, (only_two, only_one)


def test_mrr_is_read_in_cents_as_fct_mrr_reads_it(worlds):
    """A PostgreSQL probe (2026-12-07) found `mrr_usd` 1.00 on DuckDB where fct_mrr and
    PostgreSQL said 1.01: the feature read the price as a double (1.005 is stored just below)
    and rounded that to cents. Now it reads the text in cents as int_account_plan_changes
    does; each day from the plan change on holds the half-up cents of the text sent."""
    rows = _rows(worlds["one"])
    changed = {"acc_plain": dt.date(2026, 3, 4), "acc_late": dt.date(2026, 3, 13)}
    for account, text in MRR_TEXTS.items():
        cents = float(Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        mine = rows[rows["account_id"] == account].set_index("feature_date")["mrr_usd"].astype(float)
        assert (mine[mine.index >= changed[account]] == cents).all(), (account, mine.tolist())
        assert (mine[mine.index < changed[account]] == 0).all(), account
