"""`compound_primary_key` (a compound key's uniqueness and its parts' not_null in one test
node, docs/test_cost.md) fails with what the separate tests report together.

The rows are test_test_cost's hand-written CRM export (a repeated account, half-filled rows);
every count is computed here again with pandas, and the separate tests
(expect_compound_columns_to_be_unique and dbt's not_null) run beside the folded one on the
same relations: a seed (a whole stored relation: the hash pass), a view, a `where` window."""

from __future__ import annotations

import pandas as pd
import pytest

from tests_py.scratch_dbt import parse_output, scratch_project, seed_run_test
from tests_py.test_test_cost import ACCOUNTS_CSV, accounts

PAIR = ["account_id", "region"]

SCHEMA = """
version: 2
seeds:
  - name: accounts
    columns:
      - name: account_id
        data_tests: [{not_null: {name: separate_account_not_null}}]
      - name: region
        data_tests: [{not_null: {name: separate_region_not_null}}]
    data_tests:
      - expect_compound_columns_to_be_unique:
          name: separate_pair_unique
          arguments: {column_list: [account_id, region]}
      - compound_primary_key:
          name: seed_bad
          arguments: {column_list: [account_id, region]}
      - compound_primary_key:
          name: seed_account_part_bad
          arguments: {column_list: [account_id, region], not_null: [account_id]}
      - compound_primary_key:
          name: seed_window_bad
          arguments: {column_list: [account_id, region]}
          config: {where: "plan = 'pro'"}
models:
  - name: accounts_view
    data_tests:
      - compound_primary_key:
          name: view_bad
          arguments: {column_list: [account_id, region]}
  - name: clean_table
    data_tests:
      - compound_primary_key:
          name: table_good
          arguments: {column_list: [account_id, region]}
"""


def repeated(frame: pd.DataFrame) -> pd.Series:
    """Each (account_id, region) found more than once, rows whose parts are all empty left
    out (nulls equal), with its count."""
    kept = frame[~frame[PAIR].isna().all(axis=1)]
    counts = kept.fillna("<null>").groupby(PAIR).size()
    return counts[counts > 1]


def expected_failures(frame: pd.DataFrame, not_null: list[str]) -> int:
    return len(repeated(frame)) + int(frame[not_null].isna().sum().sum())


def clean_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["account_id"].notna() & frame["region"].notna()].drop_duplicates(PAIR)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    project = scratch_project(tmp_path_factory.mktemp("compound_primary_key"), "compound_key")
    (project / "seeds" / "accounts.csv").write_text(ACCOUNTS_CSV)
    (project / "models" / "accounts_view.sql").write_text(
        "{{ config(materialized='view') }}\nselect * from {{ ref('accounts') }}"
    )
    # one row per complete pair: what a clean export holds
    (project / "models" / "clean_table.sql").write_text(
        "{{ config(materialized='table') }}\nselect distinct account_id, region from {{ ref('accounts') }}"
        " where account_id is not null and region is not null"
    )
    (project / "models" / "_schema.yml").write_text(SCHEMA)
    results, compiled = seed_run_test(project)
    return results, compiled, project / "scratch.duckdb"


@pytest.mark.parametrize(
    ("name", "rows", "not_null"),
    [
        ("seed_bad", "all", PAIR),
        ("view_bad", "all", PAIR),
        ("seed_account_part_bad", "all", ["account_id"]),
        ("seed_window_bad", "pro", PAIR),
        ("table_good", "clean", PAIR),
    ],
)
def test_compound_primary_key_fails_with_what_pandas_counts(scratch, name, rows, not_null):
    results, _, _ = scratch
    frame = accounts()
    if rows == "pro":
        frame = frame[frame["plan"] == "pro"]
    elif rows == "clean":
        frame = clean_rows(frame)
    expected = expected_failures(frame, not_null)
    assert (expected > 0) == name.endswith("_bad"), "the planted rows must break the key"
    assert results[name]["failures"] == expected
    assert results[name]["status"] == ("fail" if expected else "pass")


def test_compound_primary_key_reports_what_the_separate_tests_report(scratch):
    results, _, _ = scratch
    separate = ["separate_pair_unique", "separate_account_not_null", "separate_region_not_null"]
    assert all(results[name]["failures"] > 0 for name in separate)
    assert results["seed_bad"]["failures"] == sum(results[name]["failures"] for name in separate)
    assert results["seed_account_part_bad"]["failures"] == (
        results["separate_pair_unique"]["failures"] + results["separate_account_not_null"]["failures"]
    )


def test_compound_primary_key_rows_name_each_repeated_key_and_null_part(scratch):
    """One row per repeated combination (its parts joined by `|`, an empty part as '') with
    its count, one per part with nulls with its null rows; on the seed (the hash pass) and
    on the view (one group-by) alike."""
    import duckdb

    _, compiled, database = scratch
    frame = accounts()
    expected = {
        ("repeated key", "|".join("" if part == "<null>" else part for part in key), int(n), 1)
        for key, n in repeated(frame).items()
    }
    nulls = frame[PAIR].isna().sum()
    expected |= {("null part", column, int(n), int(n)) for column, n in nulls.items() if n > 0}
    assert "repeated_hashes" in compiled["seed_bad"] and "repeated_hashes" not in compiled["view_bad"]
    with duckdb.connect(str(database), read_only=True) as connection:
        for name in ("seed_bad", "view_bad"):
            assert set(connection.execute(compiled[name]).fetchall()) == expected, name


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("{column_list: account_id}", "`column_list` must be a non-empty list of column names"),
        ("{column_list: [account_id], not_null: [region]}", "`not_null` must be a non-empty list of parts"),
    ],
)
def test_compound_primary_key_refuses_a_malformed_key(tmp_path, arguments, message):
    project = scratch_project(tmp_path / "malformed", "malformed")
    (project / "models" / "one.sql").write_text("select 'a' as account_id, 'eu' as region")
    (project / "models" / "_schema.yml").write_text(
        "version: 2\nmodels:\n  - name: one\n    data_tests:\n"
        f"      - compound_primary_key: {{arguments: {arguments}}}\n"
    )
    returncode, output = parse_output(project)
    assert returncode != 0
    assert "compound_primary_key on" in output and message in output, output[-2000:]
