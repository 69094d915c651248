"""Scores of a build against the planted truth of a feed: identity pairs and MRR movements.

Used by the foreign-feed test and runnable by hand to report numbers:
``python -m tests_py.foreign_feed WAREHOUSE.duckdb TRUTH_DIR``.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pandas as pd

from tests_py.conftest import query
from tests_py.metric_expectations import monthly_mrr


def _pairs(groups: pd.Series) -> set[tuple[str, str]]:
    """Unordered pairs of user_ids that share a group (index: user_id, value: group)."""
    pairs: set[tuple[str, str]] = set()
    for _, members in groups.groupby(groups):
        pairs |= set(itertools.combinations(sorted(members.index), 2))
    return pairs


def identity_scores(db: Path, truth_dir: Path) -> dict[str, float]:
    """Pairwise precision and recall over user_ids: same person in the build vs in the truth."""
    truth = pd.read_csv(truth_dir / "truth_identities.csv", dtype="string")
    truth = truth[truth["identifier_type"] == "user_id"].set_index("identifier_value")["person_id"]
    built = query(
        db,
        "select identifier_value, person_id from marts.dim_identifiers where identifier_type = 'user_id'",
    ).set_index("identifier_value")["person_id"]
    common = truth.index.intersection(built.index)
    true_pairs, built_pairs = _pairs(truth[common]), _pairs(built[common])
    hits = len(true_pairs & built_pairs)
    return {
        "user_ids": float(len(common)),
        "true_pairs": float(len(true_pairs)),
        "built_pairs": float(len(built_pairs)),
        "precision": hits / len(built_pairs) if built_pairs else 1.0,
        "recall": hits / len(true_pairs) if true_pairs else 1.0,
    }


def mrr_agreement(db: Path, truth_dir: Path, raw_events: pd.DataFrame) -> dict[str, float]:
    """Account-months whose MRR and movement type equal the planted ledger, for accounts whose
    paid plan changes all passed validation; accounts that never paid must have no rows."""
    ledger = pd.read_csv(truth_dir / "truth_mrr_movements.csv", parse_dates=["movement_date"])
    ledger["day"] = ledger["movement_date"].dt.date
    quarantined = set(query(db, "select event_id from marts.fct_quarantined_events")["event_id"].dropna())
    plan_events = raw_events[raw_events["event_name"] == "plan_changed"]
    dirty = set(plan_events.loc[plan_events["event_id"].isin(quarantined), "account_id"])
    data_end = query(db, "select max(occurred_at) as at from marts.fct_events")["at"].iloc[0].date()
    changes = ledger.rename(columns={"mrr_after_usd": "mrr_usd"})[["account_id", "day", "mrr_usd"]]
    truth = monthly_mrr(changes, data_end)
    truth = truth[~truth["account_id"].isin(dirty)].set_index(["account_id", "month_start"])
    mart = query(db, "select account_id, month_start, mrr_usd, movement_type from marts.fct_mrr")
    mart["month_start"] = pd.to_datetime(mart["month_start"]).dt.date
    mart["mrr_usd"] = mart["mrr_usd"].astype(float)
    mart = mart[~mart["account_id"].isin(dirty)].set_index(["account_id", "month_start"])
    joined = truth.join(mart, how="outer", suffixes=("_truth", ""))
    agree = (joined["movement_type"] == joined["movement_type_truth"]) & (
        (joined["mrr_usd"] - joined["mrr_usd_truth"]).abs() < 0.005
    )
    truth_new = int((truth["movement_type"] == "new").sum())
    cac_new = int(
        query(db, "select sum(new_customers) as n from marts.fct_cac_payback")["n"].fillna(0).iloc[0]
    )
    paying = set(ledger.loc[ledger["mrr_after_usd"] > 0, "account_id"])
    never_paid_rows = int((~mart.index.get_level_values("account_id").isin(paying)).sum())
    return {
        "account_months": float(len(joined)),
        "agreement": float(agree.mean()),
        "truth_new": float(truth_new),
        "mart_new": float((mart["movement_type"] == "new").sum()),
        "mart_reactivation": float((mart["movement_type"] == "reactivation").sum()),
        "truth_reactivation": float((truth["movement_type"] == "reactivation").sum()),
        "cac_new_customers": float(cac_new),
        "rows_of_never_paying_accounts": float(never_paid_rows),
        "dirty_accounts": float(len(dirty)),
    }


if __name__ == "__main__":
    database, truth_folder, raw_file = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    events = pd.read_parquet(raw_file).astype("string")
    print("identity", identity_scores(database, truth_folder))
    print("mrr", mrr_agreement(database, truth_folder, events))
