"""Our generic tests (dbt-expectations namesakes) pass on good data and fail on bad data,
reporting exactly the offending rows. Runs them in a scratch dbt project with our macros."""

from __future__ import annotations

import json
import shutil

import pytest

from lawn.dbt_runner import run_dbt
from lawn.paths import REPO_ROOT

SCHEMA = """
version: 2
seeds:
  - name: numbers_good
    columns:
      - name: n
        data_tests:
          - expect_column_values_to_be_between:
              name: between_good
              arguments: {min_value: 1, max_value: 10}
      - name: code
        data_tests:
          - expect_column_values_to_match_regex:
              name: regex_good
              arguments: {regex: "^[A-Z]{2}$"}
          - expect_column_values_to_be_in_set:
              name: in_set_good
              arguments: {value_set: [AB, CD]}
    data_tests:
      - expect_compound_columns_to_be_unique:
          name: compound_good
          arguments: {column_list: [n, code]}
      - expect_table_row_count_to_equal_other_table:
          name: row_count_good
          arguments: {compare_model: ref('numbers_same_size')}
  - name: numbers_bad
    columns:
      - name: n
        data_tests:
          - expect_column_values_to_be_between:
              name: between_bad
              arguments: {min_value: 1, max_value: 10}
          - expect_column_values_to_be_between:
              name: between_strict_bad
              arguments: {min_value: 1, max_value: 10, strictly: true}
          - expect_column_values_to_be_between:
              name: between_row_condition_good
              arguments: {min_value: 1, max_value: 10, row_condition: "code = 'CD'"}
      - name: code
        data_tests:
          - expect_column_values_to_match_regex:
              name: regex_bad
              arguments: {regex: "^[A-Z]{2}$"}
          - expect_column_values_to_be_in_set:
              name: in_set_bad
              arguments: {value_set: [AB, CD]}
    data_tests:
      - expect_compound_columns_to_be_unique:
          name: compound_bad
          arguments: {column_list: [n, code]}
      - expect_table_row_count_to_equal_other_table:
          name: row_count_bad
          arguments: {compare_model: ref('numbers_same_size')}
      - expect_table_row_count_to_equal_other_table:
          name: row_count_factor_good
          arguments: {compare_model: ref('numbers_same_size'), factor: 2}
models:
  - name: fresh_rows
    columns:
      - name: seen_at
        data_tests:
          - expect_row_values_to_have_recent_data:
              name: recency_good
              arguments: {datepart: day, interval: 1}
  - name: stale_rows
    columns:
      - name: seen_at
        data_tests:
          - expect_row_values_to_have_recent_data:
              name: recency_bad
              arguments: {datepart: day, interval: 1}
"""
# name -> number of failing rows expected (0 = pass)
EXPECTED_FAILURES = {
    "between_good": 0,
    "regex_good": 0,
    "in_set_good": 0,
    "compound_good": 0,
    "row_count_good": 0,
    "between_bad": 2,
    "between_strict_bad": 5,
    "between_row_condition_good": 0,
    "regex_bad": 2,
    "in_set_bad": 2,
    "compound_bad": 1,
    "row_count_bad": 1,
    "row_count_factor_good": 0,
    "recency_good": 0,
    "recency_bad": 1,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    project = tmp_path_factory.mktemp("generic_tests")
    shutil.copytree(REPO_ROOT / "macros", project / "macros")
    (project / "seeds").mkdir()
    (project / "models").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: generic_tests\nversion: '1.0.0'\nconfig-version: 2\nprofile: generic_tests\n"
        "dispatch:\n  - macro_namespace: lawn\n    search_order: [generic_tests]\n"
    )
    (project / "profiles.yml").write_text(
        f"generic_tests:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {project / 'scratch.duckdb'}\n"
    )
    (project / "seeds" / "numbers_good.csv").write_text("n,code\n1,AB\n5,CD\n10,AB\n")
    (project / "seeds" / "numbers_same_size.csv").write_text("n\n1\n2\n3\n")
    # out of range: 0 and 11; strictly also 1 and both 10s; regex and set: 'A1' and 'ab'
    (project / "seeds" / "numbers_bad.csv").write_text("n,code\n0,AB\n11,A1\n1,ab\n10,CD\n10,CD\n,AB\n")
    (project / "models" / "fresh_rows.sql").write_text("select current_timestamp as seen_at")
    (project / "models" / "stale_rows.sql").write_text("select cast('2020-01-01' as timestamp) as seen_at")
    (project / "models" / "_schema.yml").write_text(SCHEMA)
    run_dbt(["build"], None, project_dir=project)
    run_results = json.loads((project / "target" / "run_results.json").read_text())
    return {
        r["unique_id"].split(".")[2]: r for r in run_results["results"] if r["unique_id"].startswith("test.")
    }


@pytest.mark.parametrize(("name", "failures"), sorted(EXPECTED_FAILURES.items()))
def test_generic_test_outcome(results, name, failures):
    result = results[name]
    assert result["status"] == ("pass" if failures == 0 else "fail"), result.get("message")
    assert result["failures"] == failures
