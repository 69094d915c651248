"""Build the identity models on a small feed that does not come from lawn's generator, and
score the result against a truth file.

A feed is a folder of raw files following the input contract (raw_events.csv, and
crm_accounts.csv when there is one), landed by the loader like any user's export.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd

from lawn.paths import REPO_ROOT
from tests_py.conftest import query, run_dbt

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "identity"
IDENTITY_MODELS = [
    "+dim_identifiers",
    "+fct_identity_review_queue",
    "+fct_identity_merges",
    "+fct_identity_conflicts",
    # the restricted schema: the emails and names the marts above show only as keyed hashes
    "+pii_identifiers",
    "+pii_identity_review_queue",
]


def read_text_csv(path: Path) -> pd.DataFrame:
    """A CSV with every cell as text, exactly as written: 'nan', 'N/A' and 'null' stay text
    (pandas would otherwise turn them into missing values)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# characters Python does not count as whitespace (str.isspace) but a feed hides in ids
INVISIBLE = {"\u180e", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


def normal_form(value: str) -> str:
    """The normal form of an identifier, written independently of the SQL macro
    (normalize_identifier): drop whitespace and invisible characters, lower-case, strip a
    leading mailto: and wrapping brackets or quotes, and trailing dots."""
    text = "".join(ch for ch in value if not ch.isspace() and ch not in INVISIBLE)
    # lower case, with a dotted capital I as `i` and a final sigma U+03C2 as U+03C3 (engines differ)
    text = text.replace("\u0130", "i").lower().replace("\u03c2", "\u03c3")
    text = text.lstrip("<\"'")
    text = text.removeprefix("mailto:").lstrip("<\"'")
    return text.rstrip(">\"'.")


def build_identity(
    raw_dir: Path, work_dir: Path, project_dir: Path = REPO_ROOT, dbt_vars: dict | None = None
) -> Path:
    """Land the feed in ``raw_dir`` and build the identity models (and what they need,
    with their data tests); returns the DuckDB file. ``project_dir`` may be another
    checkout (to measure before a change)."""
    db_path = work_dir / "identity.duckdb"
    args = ["build", "--indirect-selection", "cautious", "--select", *IDENTITY_MODELS]
    run_dbt(args, db_path, work_dir, raw_dir=raw_dir, project_dir=project_dir, dbt_vars=dbt_vars)
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


def measure(project_dir: Path, work_dir: Path, accounts: int, seed: int) -> dict[str, float]:
    """Pairwise scores of ``project_dir``'s identity models on the synthetic feed of
    ``accounts`` accounts and ``seed`` (to compare a checkout before and after a change)."""
    from tests_py.identity_feed import build_identity_feed

    events, crm, truth = build_identity_feed(accounts, seed)
    raw_dir = work_dir / "feed"
    raw_dir.mkdir(parents=True, exist_ok=True)
    events.to_csv(raw_dir / "raw_events.csv", index=False)
    crm.to_csv(raw_dir / "crm_accounts.csv", index=False)
    return pairwise_scores(user_persons(build_identity(raw_dir, work_dir, project_dir)), truth)


if __name__ == "__main__":
    # python -m tests_py.identity_harness PROJECT_DIR [ACCOUNTS] [SEED]
    import sys
    import tempfile

    project = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    feed_seed = int(sys.argv[3]) if len(sys.argv) > 3 else 11
    print(measure(project, Path(tempfile.mkdtemp(prefix="identity_measure_")), size, feed_seed))
