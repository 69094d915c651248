"""Billing events that name a user but no account (a B2C-style billing export, or a
server-side call that forgot the account) pass the event contract, since account_id is
optional on every event, but every revenue mart keys on the account and leaves them out.
The warn-severity test `assert_commercial_events_name_an_account` must say how many there are,
so the feed's owner is told instead of silently shown less revenue.

Feed: tests_py/fixtures/probe_metrics (hand-written billing world) plus three rows written
here: a plan change and an invoice with a user_id only, and a non-commercial event without an
account (not counted). The expected count is taken from the files with pandas.

The same build (one build for both, to spare CI a second) also carries invoices as billing
systems send their currency: Stripe's lower-case ISO 4217 code (`usd`), another currency
(`CAD`), and two values that are no currency code (`US Dollar`, `$`). The demo tracking plan
asks for a three-letter code in any letter case (it listed USD|EUR|GBP, upper case only, and
quarantined Stripe's invoices: a probe, 2026-12-07); `amount_usd` is dollars whatever the
currency. Expected verdicts come from lawn.tracking_plan's plain-Python statement of the
rules, checked here against hand-written ones."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from tests_py.billing_world import billing_world

TEST = "assert_commercial_events_name_an_account"
runner = CliRunner()


def _row(event_id: str, name: str, properties: dict, when: str) -> dict[str, str]:
    return {
        "event_id": event_id,
        "event_name": name,
        "schema_version": "1",
        "source": "backend",
        "occurred_at": when,
        "received_at": when,
        "anonymous_id": "",
        "device_id": "",
        "user_id": "u_billing_only",
        "account_id": "",
        "context": '{"platform": "server"}',
        "properties": json.dumps(properties),
    }


PLAN = {"from_plan": "trial", "to_plan": "starter", "mrr_usd": 49}
INVOICE = {"invoice_id": "inv-x1", "amount_usd": 49, "currency": "USD", "period_start": "2026-03-02"}
CURRENCIES = {"cur-usd-lower": "usd", "cur-cad": "CAD", "cur-words": "US Dollar", "cur-sign": "$"}
CURRENCY_ROWS = [
    {**_row(event_id, "invoice_paid", {**INVOICE, "invoice_id": event_id, "currency": code},
            "2026-03-03T09:00:00Z"), "account_id": "acc_currency"}
    for event_id, code in CURRENCIES.items()
]  # fmt: skip
EXTRA = [
    *CURRENCY_ROWS,
    _row("acctless-plan", "plan_changed", PLAN, "2026-03-02T10:00:00Z"),
    _row("acctless-invoice", "invoice_paid", INVOICE, "2026-03-02T10:05:00Z"),
    _row("acctless-login", "logged_in", {"login_method": "password"}, "2026-03-02T10:06:00Z"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("commercial_without_account")
    raw, env = billing_world(root)
    with open(raw / "raw_events" / "part-0002.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(EXTRA[0]))
        writer.writeheader()
        writer.writerows(EXTRA)
    result = runner.invoke(app, ["build", "--raw-dir", str(raw), "--no-unit-tests"], env=env)
    assert result.exit_code == 0, result.output
    events = pd.concat(
        [
            pd.read_csv(path, dtype=str, keep_default_na=False)
            for path in sorted((raw / "raw_events").glob("*.csv"))
        ]
    )
    return root / "target" / "run_results.json", events


def test_commercial_events_without_an_account_are_counted_in_a_warning(built):
    results_path, events = built
    commercial = pd.read_csv(
        Path(__file__).parent.parent / "seeds" / "tracking_plan" / "tracking_plan_events.csv", dtype=str
    )
    commercial = set(commercial.loc[commercial.category == "commercial", "event_name"])
    assert {"plan_changed", "invoice_paid", "subscription_canceled"} <= commercial
    expected = events[events.event_name.isin(commercial) & (events.account_id.str.strip() == "")]
    expected = expected.drop_duplicates("event_id")
    # valid ones only: the quarantined are in no revenue mart anyway
    with duckdb.connect(str(results_path.parent.parent / "lawn.duckdb"), read_only=True) as con:
        quarantined = {
            row[0] for row in con.execute("select event_id from marts.fct_quarantined_events").fetchall()
        }
    expected = expected[~expected.event_id.isin(quarantined)]
    assert set(expected.event_id) >= {"acctless-plan", "acctless-invoice"}
    assert "acctless-login" not in set(expected.event_id)

    results = json.loads(results_path.read_text())["results"]
    (row,) = [r for r in results if r["unique_id"].split(".")[-1] == TEST]
    assert row["status"] == "warn"
    assert row["failures"] == len(expected)


def test_a_currency_code_in_any_letter_case_is_valid_and_words_are_not(built):
    from lawn.tracking_plan import load_tracking_plan, property_problems

    results_path, _ = built
    spec = load_tracking_plan()[("invoice_paid", 1)]
    expected = {
        event_id: [reason for reason, name in property_problems(spec, {**INVOICE, "currency": code})]
        for event_id, code in CURRENCIES.items()
    }
    # the plain-Python rules against hand-written verdicts first
    assert expected == {"cur-usd-lower": [], "cur-cad": [], "cur-words": ["PATTERN_MISMATCH"],
                        "cur-sign": ["PATTERN_MISMATCH"]}  # fmt: skip
    with duckdb.connect(str(results_path.parent.parent / "lawn.duckdb"), read_only=True) as con:
        quarantined = dict(
            con.execute(
                "select event_id, primary_reason_code from marts.fct_quarantined_events "
                "where event_id like 'cur-%'"
            ).fetchall()
        )
        valid = {
            row[0]
            for row in con.execute(
                "select event_id from marts.fct_events where event_id like 'cur-%'"
            ).fetchall()
        }
    assert valid == {event_id for event_id, reasons in expected.items() if not reasons}
    assert quarantined == {event_id: reasons[0] for event_id, reasons in expected.items() if reasons}
