"""The same company sent with another company's habits (`lawn generate --habits foreign`):
trials as $0 plans, tabs in emails, same-name colleagues, junk ids, typed Parquet, no
optional tables. Revenue and identity must still equal the planted truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from lawn.generator import DirtRates, GeneratorConfig, generate
from lawn.generator.foreign import apply_foreign_habits
from lawn.generator.writers import write_generated
from tests_py.conftest import TEST_VARS, run_dbt
from tests_py.foreign_feed import identity_scores, mrr_agreement

# more re-signups than the default so that same-person pairs exist to be found
CONFIG = GeneratorConfig(
    seed=11, accounts=40, days=75, dirt=DirtRates().with_overrides({"resignup_typo": 0.2})
)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("foreign")
    data = apply_foreign_habits(generate(CONFIG), CONFIG.seed)
    write_generated(data, root / "raw", root / "truth", "parquet-typed")
    db = root / "lawn.duckdb"
    run_dbt(
        ["build", "--exclude-resource-type", "unit_test"], db, root, raw_dir=root / "raw", dbt_vars=TEST_VARS
    )
    return db, root / "truth", data.raw["raw_events"]


def test_the_foreign_feed_plants_every_habit(foreign):
    _, truth, _ = foreign
    habits = pd.read_csv(truth / "truth_habits.csv")["habit"].value_counts()
    for habit in ("trial_as_zero_plan", "same_name_colleague", "odd_whitespace_email", "junk_anonymous_id"):
        assert habits.get(habit, 0) >= 3, habit
    schema = pq.read_schema(truth.parent / "raw" / "raw_events.parquet")
    assert str(schema.field("received_at").type).startswith("timestamp")
    assert not (truth.parent / "raw" / "marketing_spend.parquet").exists()


def test_revenue_starts_at_the_first_payment(foreign):
    db, truth, events = foreign
    scores = mrr_agreement(db, truth, events)
    assert scores["agreement"] == 1.0, scores
    assert (
        scores["mart_new"] == scores["truth_new"]
        and scores["mart_reactivation"] == scores["truth_reactivation"]
    )
    assert scores["rows_of_never_paying_accounts"] == 0
    assert scores["cac_new_customers"] == scores["truth_new"]


def test_identity_keeps_colleagues_apart_and_joins_resignups(foreign):
    db, truth, _ = foreign
    scores = identity_scores(db, truth)
    assert scores["true_pairs"] >= 3, scores
    assert scores["precision"] >= 0.99 and scores["recall"] >= 0.95, scores
