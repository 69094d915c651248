"""The hand-written billing world (tests_py/fixtures/probe_metrics) copied into a raw folder,
with the environment a `lawn build` of it runs under (its own warehouse, dbt target folder and
the tests' identity hash key). Shared by the tests that build it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from tests_py.conftest import TEST_HASH_KEY

FEED = Path(__file__).parent / "fixtures" / "probe_metrics"


def billing_world(root: Path) -> tuple[Path, dict[str, str]]:
    """Copy the world's files under ``root / "raw"`` (events as raw_events/part-0001.csv);
    return that folder and the build's environment."""
    raw = root / "raw"
    (raw / "raw_events").mkdir(parents=True)
    shutil.copy(FEED / "raw_events.csv", raw / "raw_events" / "part-0001.csv")
    for name in ("crm_accounts.csv", "marketing_spend.csv"):
        shutil.copy(FEED / name, raw / name)
    env = {
        "LAWN_DUCKDB_PATH": str(root / "lawn.duckdb"),
        "DBT_TARGET_PATH": str(root / "target"),
        "LAWN_IDENTITY_HASH_KEY": TEST_HASH_KEY.secret.decode(),
    }
    return raw, env


def month_end_mrr(events: pd.DataFrame, account: str) -> dict[str, float]:
    """Month-end MRR of one account from raw rows, restated in pandas: the last plan_changed
    (its mrr_usd) or subscription_canceled ($0) by UTC occurred_at before each month ended."""
    rows = events[
        (events.account_id == account) & events.event_name.isin(["plan_changed", "subscription_canceled"])
    ].copy()
    rows = rows.drop_duplicates("event_id")
    rows["when"] = pd.to_datetime(rows.occurred_at, utc=True, format="ISO8601")
    rows["mrr"] = [
        float(json.loads(p)["mrr_usd"]) if name == "plan_changed" else 0.0
        for name, p in zip(rows.event_name, rows.properties, strict=True)
    ]
    rows = rows.sort_values("when")
    out = {}
    for month in pd.period_range("2026-01", "2026-06", freq="M"):
        before = rows[rows["when"] < (month + 1).start_time.tz_localize("UTC")]
        out[str(month.start_time.date())] = before.mrr.iloc[-1] if len(before) else 0.0
    return out
