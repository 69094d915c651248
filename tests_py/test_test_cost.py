"""Cheaper data tests (docs/test_cost.md) still catch what they caught.

- The rewritten uniqueness tests (dbt's `unique` on DuckDB and our
  `expect_compound_columns_to_be_unique`, both through `lawn_duplicate_groups`, which groups
  a stored table by a 64-bit hash first) fail on planted duplicates with exactly the rows and
  fail count of the plain group-by, counted here independently with pandas, on tables (the
  hash pass) and on views and windowed tests (the plain pass). Negative controls: each
  rewritten test fails on hand-written data.
- The tests dropped from the `int_event_properties_checked` view are pinned by construction:
  its failed_reason_code CASE yields only the seed's property reason codes (checked here on
  the SQL text) and its unit test yields each of them.
- `primary_key` (a key's unique and not_null in one test node) fails with the sum of the two
  tests it replaces, on views (one read) and on stored relations (the hash pass, with the
  null rows read apart from it), and returns the plain group-by's rows.
- Every model keeps a primary-key test pair (a uniqueness test and not_null, or
  `primary_key` / `compound_primary_key`)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pandas as pd
import pytest
import yaml

from lawn.dbt_runner import run_dbt
from lawn.paths import REPO_ROOT
from tests_py.scratch_dbt import scratch_project

# hand-written rows: what a CRM export with a repeated account and a half-filled row holds
ACCOUNTS_CSV = """account_id,region,plan
a1,eu,pro
a2,eu,free
a2,us,free
a3,us,pro
a3,us,pro
a3,us,team
,eu,pro
,us,pro
a4,,pro
a4,,free
,,free
,,pro
"""
CLEAN_CSV = "account_id,region\nb1,eu\nb2,eu\nb3,us\n,us\n,eu\n"

SCHEMA = """
version: 2
seeds:
  - name: accounts
    columns:
      - name: account_id
        data_tests:
          - unique: {name: unique_table_bad}
          - unique:
              name: unique_table_window_bad
              config: {where: "plan = 'pro'"}
          - not_null: {name: not_null_table_bad}
          - primary_key: {name: primary_key_table_bad}
          - primary_key:
              name: primary_key_table_window_bad
              config: {where: "plan = 'pro'"}
    data_tests:
      - expect_compound_columns_to_be_unique:
          name: compound_table_bad
          arguments: {column_list: [account_id, region]}
      - expect_compound_columns_to_be_unique:
          name: compound_table_any_missing_bad
          arguments: {column_list: [account_id, region], ignore_row_if: any_value_is_missing}
      - expect_compound_columns_to_be_unique:
          name: compound_table_row_condition_bad
          arguments: {column_list: [account_id, region], row_condition: "plan = 'pro'"}
      - expect_compound_columns_to_be_unique:
          name: compound_table_all_rows_bad
          arguments: {column_list: [account_id, region]}
          config: {where: "1 = 1"}
  - name: clean_accounts
    columns:
      - name: account_id
        data_tests:
          - unique: {name: unique_table_good}
    data_tests:
      - expect_compound_columns_to_be_unique:
          name: compound_table_good
          arguments: {column_list: [account_id, region]}
      - not_null_columns:
          name: not_null_columns_table_bad
          arguments: {columns: [region, account_id]}
      - not_null_columns:
          name: not_null_columns_table_good
          arguments: {columns: [region]}
models:
  - name: accounts_view
    columns:
      - name: account_id
        data_tests:
          - unique: {name: unique_view_bad}
          - not_null: {name: not_null_view_bad}
          - primary_key: {name: primary_key_view_bad}
    data_tests:
      - expect_compound_columns_to_be_unique:
          name: compound_view_bad
          arguments: {column_list: [account_id, region]}
      - not_null_columns:
          name: not_null_columns_view_bad
          arguments: {columns: [account_id, region, plan]}
      - not_null_columns:
          name: not_null_columns_window_bad
          arguments: {columns: [region, account_id]}
          config: {where: "plan = 'pro'"}
      - not_null_columns:
          name: not_null_columns_view_good
          arguments: {columns: [plan]}
  - name: clean_view
    columns:
      - name: account_id
        data_tests:
          - primary_key: {name: primary_key_nulls_bad}
  - name: clean_keys_view
    columns:
      - name: account_id
        data_tests:
          - primary_key: {name: primary_key_good}
  - name: accounts_table
    columns:
      - name: account_key
        data_tests:
          - unique: {name: unique_table_expression_bad}
  - name: one_null_table
    columns: [{name: account_id, data_tests: [{primary_key: {name: primary_key_table_one_null_bad}}]}]
  - name: clean_keys_table
    columns: [{name: account_id, data_tests: [{primary_key: {name: primary_key_table_good}}]}]
"""


def accounts() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(ACCOUNTS_CSV), dtype=str, keep_default_na=False).replace("", None)


def duplicate_groups(frame: pd.DataFrame, columns: list[str], skip) -> int:
    """Combinations of `columns` found more than once (nulls equal), rows where skip() holds dropped."""
    kept = frame[~frame.apply(skip, axis=1)]
    counts = kept.fillna("<null>").groupby(columns).size()
    return int((counts > 1).sum())


def all_missing(columns):
    return lambda row: all(pd.isna(row[c]) for c in columns)


def any_missing(columns):
    return lambda row: any(pd.isna(row[c]) for c in columns)


def expected_failures() -> dict[str, int]:
    frame = accounts()
    pro = frame[frame["plan"] == "pro"]
    pair = ["account_id", "region"]
    clean = pd.read_csv(io.StringIO(CLEAN_CSV), dtype=str, keep_default_na=False).replace("", None)
    one_null = clean[~(clean["account_id"].isna() & (clean["region"] == "eu"))]
    ids = frame["account_id"].dropna()
    return {
        "unique_table_bad": int((ids.value_counts() > 1).sum()),
        "unique_table_window_bad": int((pro["account_id"].dropna().value_counts() > 1).sum()),
        "unique_view_bad": int((ids.value_counts() > 1).sum()),
        "unique_table_expression_bad": int((ids.str.upper().value_counts() > 1).sum()),
        "compound_table_bad": duplicate_groups(frame, pair, all_missing(pair)),
        "compound_table_all_rows_bad": duplicate_groups(frame, pair, all_missing(pair)),
        "compound_view_bad": duplicate_groups(frame, pair, all_missing(pair)),
        "compound_table_any_missing_bad": duplicate_groups(frame, pair, any_missing(pair)),
        "compound_table_row_condition_bad": duplicate_groups(pro, pair, all_missing(pair)),
        "unique_table_good": int((clean["account_id"].dropna().value_counts() > 1).sum()),
        "not_null_view_bad": int(frame["account_id"].isna().sum()),
        # primary_key: the repeated values plus the null rows (unique + not_null together)
        "primary_key_view_bad": int((ids.value_counts() > 1).sum()) + int(frame["account_id"].isna().sum()),
        "primary_key_nulls_bad": int((clean["account_id"].dropna().value_counts() > 1).sum())
        + int(clean["account_id"].isna().sum()),
        "primary_key_good": 0,
        # on stored relations (the hash pass, except under a restricting where)
        "not_null_table_bad": int(frame["account_id"].isna().sum()),
        "primary_key_table_bad": int((ids.value_counts() > 1).sum()) + int(frame["account_id"].isna().sum()),
        "primary_key_table_window_bad": int((pro["account_id"].dropna().value_counts() > 1).sum())
        + int(pro["account_id"].isna().sum()),
        # one null row: its hash is not repeated, so the null rows are read apart from the pass
        "primary_key_table_one_null_bad": int(one_null["account_id"].isna().sum())
        + int((one_null["account_id"].dropna().value_counts() > 1).sum()),
        "primary_key_table_good": 0,
        "compound_table_good": duplicate_groups(clean, pair, all_missing(pair)),
        # not_null_columns: the null rows of every listed column, added up
        "not_null_columns_view_bad": int(frame[["account_id", "region", "plan"]].isna().sum().sum()),
        "not_null_columns_window_bad": int(pro[["region", "account_id"]].isna().sum().sum()),
        "not_null_columns_view_good": int(frame["plan"].isna().sum()),
        "not_null_columns_table_bad": int(clean[["region", "account_id"]].isna().sum().sum()),
        "not_null_columns_table_good": int(clean["region"].isna().sum()),
    }


# the tests that must take the hash pass (a stored relation read whole) and those that must not
HASH_PASS = {
    "unique_table_bad",
    "unique_table_expression_bad",
    "compound_table_bad",
    "compound_table_any_missing_bad",
    "compound_table_row_condition_bad",
    "compound_table_all_rows_bad",
    "unique_table_good",
    "compound_table_good",
    "primary_key_table_bad",
    "primary_key_table_one_null_bad",
    "primary_key_table_good",
}
PLAIN_PASS = {
    "unique_table_window_bad",
    "unique_view_bad",
    "compound_view_bad",
    "primary_key_table_window_bad",
    "primary_key_view_bad",
    "primary_key_good",
}
PRIMARY_KEY = {
    "not_null_view_bad",
    "primary_key_view_bad",
    "primary_key_nulls_bad",
    "primary_key_good",
    "not_null_table_bad",
    "primary_key_table_bad",
    "primary_key_table_window_bad",
    "primary_key_table_one_null_bad",
    "primary_key_table_good",
}
NOT_NULL_COLUMNS = {
    "not_null_columns_view_bad",
    "not_null_columns_window_bad",
    "not_null_columns_view_good",
    "not_null_columns_table_bad",
    "not_null_columns_table_good",
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    project = scratch_project(tmp_path_factory.mktemp("test_cost"), "test_cost")
    (project / "seeds" / "accounts.csv").write_text(ACCOUNTS_CSV)
    (project / "seeds" / "clean_accounts.csv").write_text(CLEAN_CSV)
    view, table = "{{ config(materialized='view') }}\n", "{{ config(materialized='table') }}\n"
    models = {
        "accounts_view": view + "select * from {{ ref('accounts') }}",
        "clean_view": view + "select * from {{ ref('clean_accounts') }}",
        "clean_keys_view": view + "select * from {{ ref('clean_accounts') }} where account_id is not null",
        # an expression key: upper-casing keeps a1..a4 apart, so the same groups as account_id
        "accounts_table": table
        + "select upper(account_id) as account_key, region from {{ ref('accounts') }}",
        # a stored key column with one null row (its hash is not repeated) and one without nulls
        "one_null_table": table
        + "select * from {{ ref('clean_accounts') }} where not (account_id is null and region = 'eu')",
        "clean_keys_table": table + "select * from {{ ref('clean_accounts') }} where account_id is not null",
    }
    for name, sql in models.items():
        (project / "models" / f"{name}.sql").write_text(sql)
    (project / "models" / "_schema.yml").write_text(SCHEMA)
    # seed and run first: `dbt build` would skip the models under a failing seed test
    for command in ("seed", "run", "test"):
        run_dbt([command], None, project_dir=project)
    run_results = json.loads((project / "target" / "run_results.json").read_text())
    results = {
        r["unique_id"].split(".")[2]: r for r in run_results["results"] if r["unique_id"].startswith("test.")
    }
    compiled = {path.stem: path.read_text() for path in (project / "target" / "compiled").rglob("*.sql")}
    return results, compiled, project / "scratch.duckdb"


@pytest.mark.parametrize("name", sorted(HASH_PASS | PLAIN_PASS | PRIMARY_KEY | NOT_NULL_COLUMNS))
def test_rewritten_uniqueness_tests_count_what_pandas_counts(scratch, name):
    results, _, _ = scratch
    failures = expected_failures()[name]
    if name.endswith("_bad"):
        assert failures > 0, f"{name}: the planted data must hold a violation"
    else:
        assert failures == 0
    result = results[name]
    assert result["status"] == ("fail" if failures else "pass"), result.get("message")
    assert result["failures"] == failures


@pytest.mark.parametrize("name", sorted(HASH_PASS | PLAIN_PASS))
def test_only_whole_stored_relations_take_the_hash_pass(scratch, name):
    _, compiled, _ = scratch
    assert ("repeated_hashes" in compiled[name]) == (name in HASH_PASS)


def test_primary_key_reports_what_unique_and_not_null_report(scratch):
    """The folded test fails with the sum of the two tests it replaces, run on the same
    relation: on a view (which it reads once) and on a stored seed (through the hash pass)."""
    results, compiled, _ = scratch
    assert results["primary_key_view_bad"]["failures"] == (
        results["unique_view_bad"]["failures"] + results["not_null_view_bad"]["failures"]
    )
    assert compiled["primary_key_view_bad"].count("accounts_view") == 1
    assert results["primary_key_table_bad"]["failures"] == (
        results["unique_table_bad"]["failures"] + results["not_null_table_bad"]["failures"]
    )


def test_primary_key_rows_on_a_stored_relation_are_the_plain_group_by_rows(scratch):
    """The hash pass returns exactly the rows of the plain group-by (each repeated value with
    its count, and the nulls with theirs), counted here with pandas on the same seed."""
    import duckdb

    _, compiled, database = scratch
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(compiled["primary_key_table_bad"]).fetchall()
    counts = accounts()["account_id"].fillna("<null>").value_counts()
    expected = {
        (None if key == "<null>" else key, int(n)) for key, n in counts.items() if n > 1 or key == "<null>"
    }
    assert {(key, n) for key, n, _ in rows} == expected


def test_not_null_columns_names_each_column_with_its_nulls_in_one_read(scratch):
    """The folded not_null test returns one row per listed column that holds nulls, with the
    count pandas finds, reads the view once, and on the view's account_id reports what the
    separate not_null test reports."""
    import duckdb

    results, compiled, database = scratch
    frame = accounts()
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(compiled["not_null_columns_view_bad"]).fetchall()
    nulls = frame[["account_id", "region", "plan"]].isna().sum()
    assert sorted(rows) == sorted((column, int(n)) for column, n in nulls.items() if n > 0)
    assert {column for column, _ in rows} == {"account_id", "region"}  # plan is never empty
    assert compiled["not_null_columns_view_bad"].count("accounts_view") == 1
    assert dict(rows)["account_id"] == results["not_null_view_bad"]["failures"]


def test_not_null_columns_refuses_a_column_name_given_as_text(tmp_path):
    """`columns: account_id` (text, not a list) would test each letter: a compile error."""
    project = tmp_path / "text_columns"
    shutil.copytree(REPO_ROOT / "macros", project / "macros")
    (project / "models").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: text_columns\nversion: '1.0.0'\nconfig-version: 2\nprofile: text_columns\n"
    )
    (project / "profiles.yml").write_text(
        f"text_columns:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {project / 'scratch.duckdb'}\n"
    )
    (project / "models" / "one.sql").write_text("select 1 as account_id")
    (project / "models" / "_schema.yml").write_text(
        "version: 2\nmodels:\n  - name: one\n    data_tests:\n"
        "      - not_null_columns: {arguments: {columns: account_id}}\n"
    )
    result = run_dbt(["build"], None, project_dir=project)
    assert result.returncode != 0
    assert "`columns` must be a non-empty list of column names" in result.stdout + result.stderr


def test_the_hash_pass_returns_the_plain_group_by_rows(scratch):
    """The rows (not only their count) of the rewritten unique test are dbt's: each offending
    value and how often it occurs."""
    import duckdb

    _, compiled, database = scratch
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(compiled["unique_table_bad"]).fetchall()
    counts = accounts()["account_id"].dropna().value_counts()
    assert sorted(rows) == sorted((value, int(n)) for value, n in counts.items() if n > 1)


def failed_reason_case(sql: str) -> str:
    head, found, _ = sql.partition("end as failed_reason_code")
    assert found, "int_event_properties_checked: the failed_reason_code CASE is gone"
    # the CASE that ends there (it holds no other CASE)
    return head[[m.start() for m in re.finditer(r"\bcase\b", head)][-1] :]


def test_property_check_codes_are_the_seed_property_codes():
    """What the two dropped data tests (in-set and relationships) checked is fixed by the view's
    SQL: every branch of the failed_reason_code CASE yields a literal or null, the literals are
    exactly the property-scope codes of the reason-code seed (int_events_validated joins the
    codes to that seed, an unknown one would vanish), and the view's keys are selected from
    int_events_deduplicated."""
    sql = (REPO_ROOT / "models/intermediate/events/int_event_properties_checked.sql").read_text()
    case = failed_reason_case(sql)
    outcomes = re.findall(r"\bthen\s+('?)(\w+)'?", case)
    assert outcomes, case
    assert all(quote == "'" or value == "null" for quote, value in outcomes), outcomes
    assert "else" not in re.sub(r"'[^']*'", "", case.lower()).split(), (
        "an ELSE branch could yield a computed value"
    )
    literals = {value for quote, value in outcomes if quote}
    with (REPO_ROOT / "seeds/tracking_plan/quarantine_reason_codes.csv").open() as handle:
        seed = {row["reason_code"] for row in csv.DictReader(handle) if row["check_scope"] == "property"}
    assert literals == seed
    # the keys: raw_event_key of int_events_deduplicated, passed through unchanged
    assert re.search(r"from \{\{ ref\('int_events_deduplicated'\) \}\}", sql)
    assert "first_deliveries.raw_event_key," in sql


def test_property_check_unit_test_yields_every_code():
    units = yaml.safe_load((REPO_ROOT / "models/intermediate/events/_events__unit_tests.yml").read_text())
    unit = next(
        u for u in units["unit_tests"] if u["name"] == "test_property_checks_apply_plan_rules_in_order"
    )
    expected = unit["expect"]["rows"]
    codes = {row["failed_reason_code"] for row in expected}
    with (REPO_ROOT / "seeds/tracking_plan/quarantine_reason_codes.csv").open() as handle:
        seed = {row["reason_code"] for row in csv.DictReader(handle) if row["check_scope"] == "property"}
    assert codes == seed | {None}
    # keys out are the first deliveries with valid JSON in: a#1, b#1 and e#1, not c#2 (a
    # redelivery) nor d#1 (malformed JSON)
    given = {row["raw_event_key"] for row in unit["given"][0]["rows"]}
    assert {row["raw_event_key"] for row in expected} == {"a#1", "b#1", "e#1"} < given


# A model whose key tests run on the table that stores its rows (docs/incremental_staging.md),
# or on the tables whose keys make its key: int_event_properties_checked is one row per first
# delivery (raw_event_key) and declared property (tracking_plan_key, property_name),
# tests_py/test_property_checks_once.py (docs/full_build_cost.md)
KEY_TESTED_ELSEWHERE = {
    "stg_tracking__events": ("int_events_deduplicated",),
    "int_event_properties_checked": ("int_events_deduplicated", "stg_tracking_plan__properties"),
}


def test_every_model_keeps_a_primary_key_test_pair(tmp_path):
    run_dbt(["parse"], tmp_path / "empty.duckdb", target_path=tmp_path / "target")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    kinds: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node") and node.get("test_metadata"):
            kinds.setdefault(node["attached_node"].split(".")[-1], set()).add(node["test_metadata"]["name"])
    models = [n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 100
    # a test's name is its key outside dbt (dagster-dbt's asset checks): never two alike
    names = [n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert sorted({name for name in names if names.count(name) > 1}) == []
    missing = []
    for name in models:
        for keyed in KEY_TESTED_ELSEWHERE.get(name, (name,)):
            found = kinds.get(keyed, set())
            if found & {"primary_key", "compound_primary_key"}:  # uniqueness and not_null in one test
                continue
            if not (found & {"unique", "expect_compound_columns_to_be_unique"}) or "not_null" not in found:
                missing.append(name)
    assert missing == []


def test_mrr_month_key_determines_account_and_month():
    """int_account_mrr_monthly lost its (account_id, month_start) uniqueness test: its key is
    `account_id || ':' || month_start as text`, and a date's text has a fixed width, so two
    rows share the pair exactly when they share the key, which unique + not_null check."""
    sql = (REPO_ROOT / "models/intermediate/metrics/int_account_mrr_monthly.sql").read_text()
    key = "account_id || ':' || cast(month_start as {{ dbt.type_string() }}) as account_month_key"
    assert key in sql
    # month_start is a calendar date: its text is YYYY-MM-DD on DuckDB, PostgreSQL and Spark
    calendar = (REPO_ROOT / "models/intermediate/metrics/int_calendar_days.sql").read_text()
    assert "month_start" in calendar
    dates = pd.date_range("2020-01-01", "2031-12-01", freq="MS")
    assert {len(str(d.date())) for d in dates} == {10}
    # the pair comes back from the key, even when the account id holds ':'
    for account, month in [("a:1", "2026-02-01"), ("a", "2026-12-01")]:
        key_text = f"{account}:{month}"
        assert (key_text[:-11], key_text[-10:]) == (account, month)
    schema = yaml.safe_load((REPO_ROOT / "models/intermediate/metrics/_metrics__models.yml").read_text())
    model = next(m for m in schema["models"] if m["name"] == "int_account_mrr_monthly")
    key_column = next(c for c in model["columns"] if c["name"] == "account_month_key")
    assert set(key_column["data_tests"]) in ({"unique", "not_null"}, {"primary_key"})


OBSERVATIONS = "intermediate.int_identity_observations"
OBSERVATION_TEST = "expect_compound_columns_to_be_unique_int_identity_observations_event_id__identifier_type"


@pytest.fixture(scope="module")
def observations_planted(tmp_path_factory):
    """int_identity_observations' tests use the test window (docs/test_cost.md). The demo feed
    lands in two batches (cut at the 80% quantile of receive time); after batch 1 two faults
    are planted in observations older than the lookback: a copy of the oldest observation
    (old collides with old), and copies of an old observation carrying the event_id of a
    batch-2 event as its anonymous_id observation (old collides with what batch 2 writes)."""
    from lawn.paths import DEMO_RAW_DIR
    from tests_py.conftest import run_dbt as run_project_dbt
    from tests_py.expectations import parse_utc

    selection = ["--select", "+int_identity_observations", "--indirect-selection", "cautious"]
    selection += ["--exclude-resource-type", "unit_test"]
    work = tmp_path_factory.mktemp("windowed_observations")
    raw = pd.read_csv(DEMO_RAW_DIR / "raw_events.csv", dtype=str, keep_default_na=False)
    received = raw["received_at"].map(parse_utc)
    cutoff = received.quantile(0.8)
    first_received = received.groupby(raw["event_id"]).transform("min")
    batch_two = raw[(raw["event_id"] != "") & (first_received >= cutoff) & (raw["anonymous_id"] != "")]
    new_ids = sorted(set(batch_two["event_id"]))[:20]
    raw_dir = work / "raw"
    raw_dir.mkdir()
    raw[received < cutoff].to_csv(raw_dir / "raw_events.csv", index=False)
    db_path = work / "observations.duckdb"
    run_project_dbt(["build", "--full-refresh", *selection], db_path, work, raw_dir=raw_dir)
    with duckdb_connect(db_path) as con:
        oldest = con.execute(
            f"select event_id from {OBSERVATIONS} where received_at is not null "
            "and identifier_type = 'anonymous_id' order by received_at, event_id limit 2"
        ).fetchall()
        con.execute(
            f"insert into {OBSERVATIONS} select * from {OBSERVATIONS} "
            "where event_id = ? and identifier_type = 'anonymous_id'",
            [oldest[0][0]],
        )
        for new_id in new_ids:
            con.execute(
                f"insert into {OBSERVATIONS} select * replace (? as event_id) from {OBSERVATIONS} "
                "where event_id = ? and identifier_type = 'anonymous_id'",
                [new_id, oldest[1][0]],
            )
    raw.to_csv(raw_dir / "raw_events.csv", index=False)
    run_project_dbt(["build", *selection], db_path, work, raw_dir=raw_dir, check=False)
    incremental = json.loads((work / "target" / "run_results.json").read_text())["results"]
    run_project_dbt(["test", *selection], db_path, work, check=False)
    plain = json.loads((work / "target" / "run_results.json").read_text())["results"]
    with duckdb_connect(db_path) as con:
        collided = con.execute(
            f"select count(*) from (select event_id from {OBSERVATIONS} where identifier_type = "
            f"'anonymous_id' and event_id in ({', '.join('?' for _ in new_ids)}) "
            "group by event_id having count(*) > 1)",
            new_ids,
        ).fetchone()[0]

    def by_name(results):
        return {r["unique_id"].split(".")[2]: r for r in results}

    return by_name(incremental), by_name(plain), collided


def duckdb_connect(path):
    import duckdb

    return duckdb.connect(str(path))


def test_windowed_observation_test_catches_new_rows_colliding_with_old(observations_planted):
    """Batch 2 wrote observations for events whose event_id an old planted row already holds:
    the key= part of the window reads those old rows, so the incremental build fails with one
    row per collision (counted in the table). The old-with-old copy is outside the window."""
    incremental, plain, collided = observations_planted
    assert collided > 0
    assert incremental["int_identity_observations"]["status"] == "success"
    result = incremental[OBSERVATION_TEST]
    assert (result["status"], result["failures"]) == ("fail", collided)
    assert "received_at >" in result["compiled_code"] and "1 = 1" not in result["compiled_code"]
    # a plain `dbt test` reads every row: the old-with-old copy too
    assert (plain[OBSERVATION_TEST]["status"], plain[OBSERVATION_TEST]["failures"]) == ("fail", collided + 1)
    for name in (
        "not_null_int_identity_observations_event_id",
        "not_null_int_identity_observations_identifier_type",
    ):
        assert incremental[name]["status"] == "pass", name
