"""Two data tests on input the contract accepts (tests_py/fixtures/optional_crm_and_registry,
hand-written): a CRM account created the day before its first event (acc_1) and one with no
events at all (acc_2) pass assert_retention_period_zero_is_complete (an account's creation day
need not be an activity day; a visitor's page view on 2026-11-19, before both creation days,
starts the data, so both days 0 are observed: int_data_day.data_start_date), and an
experiment without guardrail_metrics (optional) passes
assert_experiment_metrics_cover_the_registry. Each test still fails on what it was written
to catch: here, a guardrail metric missing from the catalog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from lawn.validate_raw import load_raw
from tests_py.conftest import query, run_dbt

FIXTURE = Path(__file__).parent / "fixtures" / "optional_crm_and_registry"
RETENTION_TEST = "assert_retention_period_zero_is_complete"
REGISTRY_TEST = "assert_experiment_metrics_cover_the_registry"


def _test_statuses(work_dir: Path) -> dict[str, str]:
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r["status"] for r in results if r["unique_id"].startswith("test.")}


def _build(raw_dir: Path, tmp_path: Path, *tests: str) -> dict[str, str]:
    selection = [f"+{name}" for name in tests]
    run_dbt(
        ["build", "--select", *selection, "--exclude-resource-type", "unit_test"],
        tmp_path / "lawn.duckdb",
        tmp_path,
        raw_dir=raw_dir,
        check=False,
    )
    return _test_statuses(tmp_path)


def test_optional_crm_and_registry_values_pass(tmp_path):
    statuses = _build(FIXTURE, tmp_path, RETENTION_TEST, REGISTRY_TEST)
    assert statuses[RETENTION_TEST] == "pass", statuses
    assert statuses[REGISTRY_TEST] == "pass", statuses
    # the account's day 0 is really below 1 (created the day before its first event), while
    # people's day 0 stays 1; both days 0 are inside the data (it starts on 2026-11-19)
    day0 = query(
        tmp_path / "lawn.duckdb",
        "select entity_type, cast(sum(retained_units) as int) as retained_units, "
        "cast(sum(eligible_units) as int) as eligible_units from marts.fct_retention_cohorts "
        "where period_type = 'day' and period_number = 0 group by entity_type order by entity_type",
    )
    assert day0.to_dict("records") == [
        {"entity_type": "account", "retained_units": 0, "eligible_units": 2},
        {"entity_type": "user", "retained_units": 1, "eligible_units": 1},
    ]


def test_registry_test_still_catches_an_unknown_guardrail(tmp_path):
    """The raw gate refuses a registry naming a metric the catalog lacks (exit 2,
    tests_py/test_registry_gate.py); the data test stays for what the gate cannot see, a
    registry landed before (or a catalog edited after) it: here the landed row is changed in
    the warehouse, then the build runs on what is there."""
    import duckdb

    raw_dir = tmp_path / "raw"
    shutil.copytree(FIXTURE, raw_dir)
    registry = raw_dir / "experiment_registry.csv"
    header, row = registry.read_text().splitlines()
    fields = row.split(",")
    fields[header.split(",").index("guardrail_metrics")] = "no_such_metric"
    registry.write_text(f"{header}\n{','.join(fields)}\n")
    refused = load_raw(raw_dir, tmp_path / "refused.duckdb")
    assert not refused.ok and "no_such_metric" in refused.errors[0], refused.errors
    assert _build(FIXTURE, tmp_path, REGISTRY_TEST)[REGISTRY_TEST] == "pass"
    with duckdb.connect(str(tmp_path / "lawn.duckdb")) as connection:
        changed = connection.execute(
            "update raw.experiment_registry set guardrail_metrics = 'no_such_metric'"
        ).fetchone()[0]
    assert changed == 1
    run_dbt(
        ["build", "--select", f"+{REGISTRY_TEST}", "--exclude-resource-type", "unit_test"],
        tmp_path / "lawn.duckdb",
        tmp_path,
        check=False,
    )
    assert _test_statuses(tmp_path)[REGISTRY_TEST] == "fail"
