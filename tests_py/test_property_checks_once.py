"""The property checks are computed once (docs/full_build_cost.md, "Property checks computed
once"): int_events_validated counts every first delivery's declared and present properties
in the same read of the int_event_properties_checked view that finds the failing checks,
and int_event_volumes_filled sums those counts instead of re-aggregating the view.

- The counts equal an independent count in Python (json.loads of each first delivery's
  properties against the tracking-plan seed), on the demo feed; the volumes' day rows add up
  to the same totals.
- The view lost its (raw_event_key, property_name) uniqueness test, which parsed every
  event's JSON again. Uniqueness follows from two keys tested on tables: raw_event_key in
  int_events_deduplicated (the view keeps its first deliveries) and (tracking_plan_key,
  property_name) in the plan (each delivery joins one plan version). Negative controls: a
  duplicated plan property, or a duplicated first delivery, each gives the view duplicate
  pairs, and the kept test on the table they come from fails; the clean warehouse passes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.paths import TRACKING_PLAN_DIR
from tests_py.conftest import run_dbt

BUILD = ["build", "--select", "+int_event_volumes_filled", "--exclude-resource-type", "test"]
BUILD += ["--exclude-resource-type", "unit_test"]
VIEW = "intermediate.int_event_properties_checked"
DEDUPLICATED = "intermediate.int_events_deduplicated"
PLAN_UNIQUE = "compound_primary_key_stg_tracking_plan__properties"
DEDUP_UNIQUE = "unique_int_events_deduplicated_raw_event_key"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("property_checks_once")
    db_path = work / "demo.duckdb"
    run_dbt(BUILD, db_path, work)
    return db_path


def _query(db_path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).df()


def _python_counts(deliveries: pd.DataFrame) -> pd.DataFrame:
    """Declared and present properties of every first delivery, counted with json.loads
    against the tracking-plan seed: declared = the properties its (event_name,
    schema_version) declares when its properties are a JSON object; present = those whose
    key holds a non-null value."""
    plan = pd.read_csv(TRACKING_PLAN_DIR / "tracking_plan_properties.csv", dtype=str)
    declared = plan.groupby(["event_name", "schema_version"])["property_name"].apply(list).to_dict()
    rows = []
    for row in deliveries.itertuples():
        names = []
        if row.is_properties_valid_json and pd.notna(row.schema_version):
            names = declared.get((row.event_name, str(int(row.schema_version))), [])
        payload = json.loads(row.properties_raw) if names else {}
        present = sum(1 for name in names if payload.get(name) is not None)
        rows.append((row.raw_event_key, len(names), present))
    return pd.DataFrame(rows, columns=["raw_event_key", "declared", "present"])


def test_counts_equal_an_independent_count_in_python(warehouse):
    deliveries = _query(
        warehouse,
        "select raw_event_key, event_name, schema_version, properties_raw, is_properties_valid_json, "
        f"received_at from {DEDUPLICATED} where delivery_number = 1",
    )
    expected = _python_counts(deliveries)
    validated = _query(
        warehouse,
        "select raw_event_key, delivery_number, declared_property_count, present_property_count "
        "from intermediate.int_events_validated",
    )
    first = validated[validated["delivery_number"] == 1]
    merged = expected.merge(first, on="raw_event_key", how="outer", validate="one_to_one")
    assert len(merged) == len(expected) == len(first) > 0
    assert (merged["declared"] == merged["declared_property_count"]).all()
    assert (merged["present"] == merged["present_property_count"]).all()
    # the demo has absent optional properties and deliveries without checks: not all equal
    assert (merged["present"] < merged["declared"]).any() and (merged["declared"] == 0).any()
    redeliveries = validated[validated["delivery_number"] > 1]
    assert len(redeliveries) > 0
    assert redeliveries[["declared_property_count", "present_property_count"]].isna().all().all()
    # the volumes' day rows count every first delivery with a receive time once
    timed = expected[deliveries["received_at"].notna().to_numpy()]
    days = _query(
        warehouse,
        "select sum(declared_property_count) as declared, sum(present_property_count) as present "
        "from intermediate.int_event_volumes_filled where rollup_level = 'day'",
    )
    assert int(days["declared"].iloc[0]) == timed["declared"].sum()
    assert int(days["present"].iloc[0]) == timed["present"].sum()


def _duplicate_pairs(db_path: Path) -> int:
    return int(
        _query(
            db_path,
            f"select count(*) - count(distinct (raw_event_key, property_name)) as n from {VIEW}",
        )["n"].iloc[0]
    )


def _test_outcomes(db_path: Path, work: Path, select: str) -> dict[str, str]:
    run_dbt(["test", "--select", select], db_path, work, check=False)
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[2]: result["status"] for result in results}


def _outcome(outcomes: dict[str, str], prefix: str) -> str:
    found = [status for name, status in outcomes.items() if name.startswith(prefix)]
    assert len(found) == 1, (prefix, outcomes)
    return found[0]


def test_the_clean_warehouse_has_unique_pairs_and_passes_the_kept_tests(warehouse, tmp_path):
    assert _duplicate_pairs(warehouse) == 0
    assert int(_query(warehouse, f"select count(*) as n from {VIEW}")["n"].iloc[0]) > 0
    db_path = tmp_path / "clean.duckdb"
    shutil.copy(warehouse, db_path)
    outcomes = _test_outcomes(db_path, tmp_path, "stg_tracking_plan__properties int_events_deduplicated")
    assert _outcome(outcomes, PLAN_UNIQUE) == "pass"
    assert _outcome(outcomes, DEDUP_UNIQUE) == "pass"


def test_a_duplicated_plan_property_breaks_the_pairs_and_fails_the_plan_test(warehouse, tmp_path):
    db_path = tmp_path / "plan.duckdb"
    shutil.copy(warehouse, db_path)
    with duckdb.connect(str(db_path)) as con:
        schema = con.execute(
            "select schema_name from duckdb_tables() where table_name = 'tracking_plan_properties'"
        ).fetchone()[0]
        # a property of a version the demo sends, declared twice (a row pasted twice in the seed)
        con.execute(
            f"insert into {schema}.tracking_plan_properties select * from {schema}.tracking_plan_properties "
            f"where (event_name, schema_version) in (select event_name, schema_version from {DEDUPLICATED} "
            "where delivery_number = 1 and is_properties_valid_json) limit 1"
        )
    assert _duplicate_pairs(db_path) > 0
    outcomes = _test_outcomes(db_path, tmp_path, "stg_tracking_plan__properties")
    assert _outcome(outcomes, PLAN_UNIQUE) == "fail"


def test_a_duplicated_first_delivery_breaks_the_pairs_and_fails_the_dedup_test(warehouse, tmp_path):
    db_path = tmp_path / "dedup.duckdb"
    shutil.copy(warehouse, db_path)
    with duckdb.connect(str(db_path)) as con:
        con.execute(
            f"insert into {DEDUPLICATED} select * from {DEDUPLICATED} where raw_event_key = ("
            f"select min(raw_event_key) from {VIEW})"
        )
    assert _duplicate_pairs(db_path) > 0
    outcomes = _test_outcomes(db_path, tmp_path, "int_events_deduplicated")
    assert _outcome(outcomes, DEDUP_UNIQUE) == "fail"
