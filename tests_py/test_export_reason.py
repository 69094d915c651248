"""Issue 15 item 3, the export's human-readable reason: the files `lawn actions export` writes
and the ledger mart fct_action_exports carry each action's reason as it was decided (a
reversal repeats its action's reason), the CSV with the CSV-injection guard applied to it,
and a ledger created before exports carried a reason still builds (its rows read null)."""

from __future__ import annotations

import csv

import duckdb
import pandas as pd

from lawn.actions import export_actions, revert
from tests_py.conftest import query, run_dbt
from tests_py.test_hardening import ACTIONS, MAX_AGE, make_warehouse

LEDGER_MODELS = ["stg_ops__action_exports", "fct_action_exports"]
# what rule authors and the churn model write: text a spreadsheet would read as a formula too
REASONS = {
    "act_a01": "churn risk 0.3 (model v1): days_since_last_active +1.21, seats_used -0.4",
    "act_a02": '=HYPERLINK("http://x.example/","why")',
    "act_a03": "-3 active users in 7 days; expansion signal",
    "act_a04": "+40% feature use week on week",
    "act_a05": "@owner: stalled at first import, 9 days",
    "act_a08": 'expansion: 5 seats of 5 used, "plan" limit, 2 invoices',
}


def _warehouse(tmp_path):
    db = make_warehouse(tmp_path / "lawn.duckdb")
    with duckdb.connect(str(db)) as con:
        for action_id, reason in REASONS.items():
            con.execute(
                "update marts.fct_next_best_actions set reason = ? where action_id = ?", [reason, action_id]
            )
    return db


def test_old_ledger_without_a_reason_column_still_builds(tmp_path):
    db = _warehouse(tmp_path)  # ops.action_exports as first created: no reason column
    with duckdb.connect(str(db)) as con:
        con.execute(
            "insert into ops.action_exports (run_id, action_id, record_type, exported_at, rule_id, "
            "account_key, decided_on) values ('old', 'act_x', 'action', timestamp '2026-05-01 09:00', "
            "'expansion_sales', 'k', date '2026-04-30')"
        )
    run_dbt(["build", "--select", *LEDGER_MODELS], db, tmp_path)
    ledger = query(db, "select action_id, reason from marts.fct_action_exports")
    assert ledger["action_id"].tolist() == ["act_x"] and ledger["reason"].isna().all()


def test_files_and_ledger_mart_carry_the_reason_guarded_in_the_csv(tmp_path):
    db = _warehouse(tmp_path)
    first = export_actions(db, tmp_path / "out", "r1", max_age_days=MAX_AGE)
    sent = {a[0] for a in ACTIONS if not a[6] and -a[5] <= MAX_AGE}
    with open(first.csv_path, newline="") as handle:
        rows = {row["action_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == sent and "reason" in next(iter(rows.values()))
    for action_id in sent:
        expected = REASONS[action_id]
        guarded = "'" + expected if expected[0] in "=+-@\t\r" else expected
        assert rows[action_id]["reason"] == guarded, action_id
    assert rows["act_a02"]["reason"].startswith("'=") and rows["act_a08"]["reason"] == REASONS["act_a08"]
    parquet = pd.read_parquet(first.parquet_path).set_index("action_id")
    assert parquet["reason"].to_dict() == {a: REASONS[a] for a in sent}  # typed file: as decided

    revert(db, ["act_a02"], reverted_by="ana", reason="sent to the wrong owner")
    second = export_actions(db, tmp_path / "out", "r2", max_age_days=MAX_AGE)
    reversal = pd.read_csv(second.csv_path, keep_default_na=False)
    assert reversal[["record_type", "action_id", "reason", "reversal_reason"]].values.tolist() == [
        ["reversal", "act_a02", "'" + REASONS["act_a02"], "sent to the wrong owner"]
    ]

    run_dbt(["build", "--select", *LEDGER_MODELS], db, tmp_path)
    mart = query(db, "select run_id, action_id, record_type, reason from marts.fct_action_exports")
    expected = [("r1", a, "action", REASONS[a]) for a in sent] + [
        ("r2", "act_a02", "reversal", REASONS["act_a02"])
    ]
    assert sorted(mart.itertuples(index=False, name=None)) == sorted(expected)
