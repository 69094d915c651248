"""`value_rules` (a model's value rules in one test node and one read, docs/test_cost.md)
fails with what the separate tests it replaces report together, on hand-written rows.

The rows are what a billing export sends: a plan outside the catalogue (twice, and a second
one once), a negative and a zero amount, a discount over 100 %, a country written out, a
region outside the set, a flag that is neither true nor false as a number, and empty cells
(which pass every rule, as in the separate tests). Every count is computed here again with
pandas; each `value_rules` test also runs beside the separate dbt / dbt-expectations-style
tests on the same relation, and the failures must add up."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from tests_py.scratch_dbt import parse_output, scratch_project, seed_run_test

SUBSCRIPTIONS_CSV = """subscription_id,plan,mrr_usd,discount_pct,country_code,region,is_paying
s1,pro,49.00,0,NL,eu,1
s2,team,199.00,10,DE,eu,1
s3,enterprise,0.00,0,US,us,0
s4,pro,-12.50,0,US,us,1
s5,premium,49.00,120,Netherlands,eu,1
s6,premium,,,nl,apac,2
s7,legacy,15.00,5,,,
s8,,15.00,5,FR,eu,1
"""
PLANS = ["free", "pro", "team", "enterprise"]
REGIONS = ["eu", "us"]
CLEAN_IDS = ["s1", "s2", "s8"]  # rows that break no rule (s8: an empty plan passes)
COUNTRY = "^[A-Z]{2}$"

RULES = f"""
              - {{column: plan, accepted_values: {PLANS}}}
              - {{column: mrr_usd, min_value: 0, strictly: true}}
              - {{column: discount_pct, min_value: 0, max_value: 100}}
              - {{column: country_code, regex: "{COUNTRY}"}}
              - {{column: region, in_set: {REGIONS}}}
              - {{column: is_paying, accepted_values: [0, 1], quote: false}}"""

SEPARATE = f"""
      - name: plan
        data_tests:
          - accepted_values: {{name: separate_plan, arguments: {{values: {PLANS}}}}}
      - name: mrr_usd
        data_tests:
          - expect_column_values_to_be_between:
              name: separate_mrr
              arguments: {{min_value: 0, strictly: true}}
      - name: discount_pct
        data_tests:
          - expect_column_values_to_be_between:
              name: separate_discount
              arguments: {{min_value: 0, max_value: 100}}
      - name: country_code
        data_tests:
          - expect_column_values_to_match_regex:
              name: separate_country
              arguments: {{regex: "{COUNTRY}"}}
      - name: region
        data_tests:
          - expect_column_values_to_be_in_set:
              name: separate_region
              arguments: {{value_set: {REGIONS}}}
      - name: is_paying
        data_tests:
          - accepted_values:
              name: separate_is_paying
              arguments: {{values: [0, 1], quote: false}}"""

SCHEMA = f"""
version: 2
seeds:
  - name: subscriptions
    data_tests:
      - value_rules:
          name: value_rules_seed_bad
          arguments:
            rules:{RULES}
      - value_rules:
          name: value_rules_seed_window_bad
          arguments:
            rules:{RULES}
          config: {{where: "region = 'eu'"}}
    columns:{SEPARATE}
models:
  - name: subscriptions_view
    data_tests:
      - value_rules:
          name: value_rules_view_bad
          arguments:
            rules:{RULES}
  - name: clean_table
    data_tests:
      - value_rules:
          name: value_rules_table_good
          arguments:
            rules:{RULES}
"""

SEPARATE_TESTS = {
    "plan": "separate_plan",
    "mrr_usd": "separate_mrr",
    "discount_pct": "separate_discount",
    "country_code": "separate_country",
    "region": "separate_region",
    "is_paying": "separate_is_paying",
}


def subscriptions() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(SUBSCRIPTIONS_CSV), dtype=str, keep_default_na=False).replace("", None)


def violations(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Per rule, the non-null values that break it (one entry per row)."""
    mrr = pd.to_numeric(frame["mrr_usd"])
    discount = pd.to_numeric(frame["discount_pct"])
    paying = pd.to_numeric(frame["is_paying"])
    country = frame["country_code"].dropna()
    return {
        "plan": frame["plan"].dropna()[lambda s: ~s.isin(PLANS)],
        "mrr_usd": mrr.dropna()[lambda s: ~(s > 0)],
        "discount_pct": discount.dropna()[lambda s: ~((s >= 0) & (s <= 100))],
        "country_code": country[~country.map(lambda v: re.search(COUNTRY, v) is not None)],
        "region": frame["region"].dropna()[lambda s: ~s.isin(REGIONS)],
        "is_paying": paying.dropna()[lambda s: ~s.isin([0, 1])],
    }


def as_text(column: str, value) -> str:
    """A value as DuckDB casts the seed's typed column to text."""
    if column == "mrr_usd":
        return f"{value:.2f}"
    if column in ("discount_pct", "is_paying"):
        return str(int(value))
    return str(value)


def pandas_failures(frame: pd.DataFrame) -> dict[str, int]:
    """What each separate test reports: accepted_values one failure per distinct value, the
    expect_* tests one per row."""
    found = violations(frame)
    return {
        column: int(values.nunique()) if column in ("plan", "is_paying") else len(values)
        for column, values in found.items()
    }


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    project = scratch_project(
        tmp_path_factory.mktemp("value_rules"),
        "value_rules",
        "seeds:\n  value_rules:\n    subscriptions:\n      +column_types:\n"
        "        mrr_usd: decimal(18, 2)\n        discount_pct: integer\n        is_paying: integer\n",
    )
    (project / "seeds" / "subscriptions.csv").write_text(SUBSCRIPTIONS_CSV)
    (project / "models" / "subscriptions_view.sql").write_text(
        "{{ config(materialized='view') }}\nselect * from {{ ref('subscriptions') }}"
    )
    # the rows that break no rule (nulls included), stored
    (project / "models" / "clean_table.sql").write_text(
        "{{ config(materialized='table') }}\nselect * from {{ ref('subscriptions') }}"
        + " where subscription_id in ("
        + ", ".join(f"'{key}'" for key in CLEAN_IDS)
        + ")"
    )
    (project / "models" / "_schema.yml").write_text(SCHEMA)
    results, compiled = seed_run_test(project)
    return results, compiled, project / "scratch.duckdb"


def test_planted_rows_break_every_rule():
    """The fixture is a negative control for each rule, and the clean rows break none."""
    frame = subscriptions()
    assert all(n > 0 for n in pandas_failures(frame).values()), pandas_failures(frame)
    clean = frame[frame["subscription_id"].isin(CLEAN_IDS)]
    assert sum(pandas_failures(clean).values()) == 0


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("value_rules_seed_bad", "all"),
        ("value_rules_view_bad", "all"),
        ("value_rules_seed_window_bad", "eu"),
        ("value_rules_table_good", "clean"),
    ],
)
def test_value_rules_fail_with_what_pandas_counts(scratch, name, rows):
    results, _, _ = scratch
    frame = subscriptions()
    if rows == "eu":
        frame = frame[frame["region"] == "eu"]
    elif rows == "clean":
        frame = frame[frame["subscription_id"].isin(CLEAN_IDS)]
    expected = sum(pandas_failures(frame).values())
    assert results[name]["failures"] == expected
    assert results[name]["status"] == ("fail" if expected else "pass")


def test_value_rules_report_what_the_separate_tests_report(scratch):
    """On the same seed, the folded test's failures are the separate tests' failures added
    up, and each separate test fails with pandas' count for its rule."""
    results, _, _ = scratch
    expected = pandas_failures(subscriptions())
    for column, test in SEPARATE_TESTS.items():
        assert results[test]["failures"] == expected[column], test
    assert results["value_rules_seed_bad"]["failures"] == sum(
        results[test]["failures"] for test in SEPARATE_TESTS.values()
    )


def test_value_rules_rows_name_each_rule_and_value_and_read_once(scratch):
    """One row per (column, rule, unexpected value) with its row count, as pandas finds them;
    the view is read once."""
    import duckdb

    _, compiled, database = scratch
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(compiled["value_rules_view_bad"]).fetchall()
    kinds = {
        "plan": "accepted_values",
        "mrr_usd": "between",
        "discount_pct": "between",
        "country_code": "regex",
        "region": "in_set",
        "is_paying": "accepted_values",
    }
    expected = set()
    for column, values in violations(subscriptions()).items():
        for value, n in values.value_counts().items():
            failures = 1 if kinds[column] == "accepted_values" else int(n)
            expected.add((column, kinds[column], as_text(column, value), int(n), failures))
    assert set(rows) == expected
    assert compiled["value_rules_view_bad"].count("subscriptions_view") == 1


NOT_A_LIST = "`rules` must be a non-empty list of rules"
ONE_RULE = "each rule needs a `column` and exactly one of"
MALFORMED = {
    "text_rules": ("plan", NOT_A_LIST),
    "empty_rules": ("[]", NOT_A_LIST),
    "no_column": ("[{accepted_values: [a]}]", ONE_RULE),
    "no_rule": ("[{column: plan}]", ONE_RULE),
    "two_rules": ("[{column: plan, accepted_values: [a], regex: '^a'}]", ONE_RULE),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_value_rules_refuse_a_malformed_rule(tmp_path, case):
    """A rule list given as text or empty, a rule without a column, or with no rule or two,
    is an error naming the model and the rule when the project is parsed."""
    rules, message = MALFORMED[case]
    project = scratch_project(tmp_path / "malformed", "malformed")
    (project / "models" / f"{case}.sql").write_text("select 'a' as plan")
    (project / "models" / "_schema.yml").write_text(
        f"version: 2\nmodels:\n  - name: {case}\n    data_tests:\n"
        f"      - value_rules: {{arguments: {{rules: {rules}}}}}\n"
    )
    returncode, output = parse_output(project)
    assert returncode != 0
    assert re.search(rf"value_rules on \S*{case}\S*[:,] .*{re.escape(message)}", output), output[-2000:]
