"""Build the identity models on a small feed that does not come from lawn's generator, and
score the result against a truth file.

A feed is a raw_events table following the raw envelope (every column text) plus a CRM
accounts table; the marketing spend and experiment registry are the demo seeds (identity
does not read them, staging needs them). Everything is written as Parquet with string
columns, as a warehouse export or `lawn generate --format parquet` would land it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd

from lawn.paths import RAW_SEEDS_DIR, REPO_ROOT
from tests_py.conftest import query, run_dbt

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "identity"
IDENTITY_MARTS = [
    "+dim_identifiers",
    "+fct_identity_review_queue",
    "+fct_identity_merges",
    "+fct_identity_conflicts",
    "+int_identity_match_scores",
]


def read_text_csv(path: Path) -> pd.DataFrame:
    """A CSV with every cell as text, exactly as written: 'nan', 'N/A' and 'null' stay text
    (pandas would otherwise turn them into missing values)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_raw_parquet(events: pd.DataFrame, accounts: pd.DataFrame, raw_dir: Path) -> Path:
    """Write the four raw tables staging reads into ``raw_dir`` (all columns as strings,
    empty cells as nulls)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "raw_events": events,
        "crm_accounts": accounts,
        "marketing_spend": read_text_csv(RAW_SEEDS_DIR / "marketing_spend.csv"),
        "experiment_registry": read_text_csv(RAW_SEEDS_DIR / "experiment_registry.csv"),
    }
    for name, frame in tables.items():
        text = frame.astype("string").mask(frame == "")
        text.to_parquet(raw_dir / f"{name}.parquet", index=False)
    return raw_dir


def build_identity(raw_dir: Path, work_dir: Path, project_dir: Path = REPO_ROOT) -> Path:
    """``dbt run`` of the identity models (and what they need) on the feed in ``raw_dir``;
    returns the DuckDB file. ``project_dir`` may be another checkout (to measure before a
    change)."""
    db_path = work_dir / "identity.duckdb"
    run_dbt(["seed"], db_path, work_dir, raw_dir=raw_dir, project_dir=project_dir)
    run_dbt(
        ["run", "--select", *IDENTITY_MARTS], db_path, work_dir, raw_dir=raw_dir, project_dir=project_dir
    )
    return db_path


def user_persons(db_path: Path) -> pd.Series:
    """The person the build gave each user_id (index: user_id as the map holds it)."""
    frame = query(
        db_path,
        "select identifier_value, person_id from marts.dim_identifiers where identifier_type = 'user_id'",
    )
    return frame.set_index("identifier_value")["person_id"]


def same_person_pairs(owner: pd.Series) -> set[tuple[str, str]]:
    """Unordered pairs of ids (index) sharing an owner (value)."""
    pairs: set[tuple[str, str]] = set()
    for _, members in owner.groupby(owner):
        pairs |= set(itertools.combinations(sorted(members.index), 2))
    return pairs


def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision and recall of same-person user_id pairs, on the user_ids of the
    truth (predicted persons of ids outside the truth, such as junk values, are dropped)."""
    predicted = predicted[predicted.index.isin(truth.index)]
    predicted_pairs, true_pairs = same_person_pairs(predicted), same_person_pairs(truth)
    hits = len(predicted_pairs & true_pairs)
    return {
        "precision": hits / len(predicted_pairs) if predicted_pairs else 1.0,
        "recall": hits / len(true_pairs) if true_pairs else 1.0,
        "predicted_pairs": len(predicted_pairs),
        "true_pairs": len(true_pairs),
        "hits": hits,
    }
