"""A nightly increment on PostgreSQL: a NEW day delivered after a full build gives the marts a
full build of every day gives (issue 18: the incremental models' pre-hooks, deletes and
merges do real work on PostgreSQL, not only on DuckDB).

The small Parquet world with its last received day held back (scripts/benchmark_staging.py
`hold_back_last_day`) is built with `lawn postgres build --full-refresh`; then the day arrives
as a second file of the raw_events folder (`raw_events/part-0001.parquet`, as a nightly export
delivers it; scripts/landing_benchmark.py `as_deliveries`) and `lawn postgres build` runs
incrementally. Every marts table is then compared row for row with conftest's `built_small`,
the DuckDB full build of all the days (tests_py/pg_harness.py `mart_differences`).

The file's last three tests build small hand-written feeds in the same database, after the
increment's tests: inputs on which PostgreSQL's build failed where DuckDB's did not (probe,
2026-12-07).

The build runs in the server's third database, ``<LAWN_PG_DATABASE>_increment``
(scripts/postgres_ci.sh makes it), so test_postgres.py's and test_nightly_postgres.py's state is
untouched whatever the order. Its project schemas are dropped first: a snapshot or an ops table
of an earlier session must not pass for this build's."""

from __future__ import annotations

import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from lawn.paths import REPO_ROOT
from tests_py.conftest import query as duckdb_query
from tests_py.conftest import run_dbt
from tests_py.pg_harness import (
    drop_project_schemas,
    lawn_postgres_build,
    mart_differences,
    own_database_env,
    query,
)

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from benchmark_staging import hold_back_last_day
from landing_benchmark import as_deliveries

# what PostgreSQL answers to the statement that writes an incremental model's rows in an
# increment: an insert (append, delete+insert) or a merge
INCREMENTAL_WRITE = ("INSERT", "MERGE")
# the day's staging rows: the model that keys every delivered event row, and its receive time
DELIVERIES = "intermediate.int_events_deduplicated"


@pytest.fixture(scope="module")
def increment_env(pg_env) -> dict[str, str]:
    """The LAWN_PG_* settings with this test's own database."""
    return own_database_env(pg_env, "_increment")


def _rows_received_on(env: dict[str, str], day) -> int:
    (count,) = query(
        env,
        "dbt",
        f"select count(*) from {DELIVERIES} where cast(received_at at time zone 'UTC' as date) = %s",
        (day,),
    )[0]
    return count


@pytest.fixture(scope="module")
def increment(increment_env, small_parquet, built_small, tmp_path_factory) -> dict:
    """A full build of all but the last received day, then that day delivered and built
    incrementally; what each run reported, the day's rows before and after, and how the marts
    differed from the DuckDB full build of every day before the increment."""
    out = tmp_path_factory.mktemp("pg_increment")
    raw = small_parquet / "raw"
    day, kept, held = hold_back_last_day(raw, out / "raw_first")
    feed_first, feed_inc = as_deliveries(raw, out / "raw_first", day, held, out)
    drop_project_schemas(increment_env)
    first, _, first_seconds = lawn_postgres_build(increment_env, feed_first, out / "first", "--full-refresh")
    before = _rows_received_on(increment_env, day)
    differences_before, _ = mart_differences(increment_env, built_small)
    second, manifest, second_seconds = lawn_postgres_build(increment_env, feed_inc, out / "second")
    after = _rows_received_on(increment_env, day)
    print(f"\npostgres: full build (all but {day}) {first_seconds:.1f} s, increment {second_seconds:.1f} s")
    return {
        "day": day,
        "kept": kept,
        "held": held,
        "delivered": out / "feed_inc" / "raw_events" / "part-0001.parquet",
        "first": first,
        "second": second,
        "manifest": manifest,
        "before": before,
        "differences_before": differences_before,
        "after": after,
    }


def _by_model(run_results: dict) -> dict[str, dict]:
    return {r["unique_id"]: r for r in run_results["results"] if r["unique_id"].startswith("model.")}


def test_the_increment_delivers_a_day_the_first_build_lacked(increment):
    """The held-back day is a real day of the world, absent after the first build and landed
    by the increment: every row of the delivered file whose receive time falls on that day
    (parsed by pandas from the file's text) is in the deduplication model as received that
    day."""
    delivered = pd.read_parquet(increment["delivered"])
    assert increment["held"] == len(delivered) == pq.read_metadata(increment["delivered"]).num_rows > 0
    assert increment["kept"] > 10 * increment["held"]
    received = pd.to_datetime(delivered["received_at"], utc=True, errors="coerce", format="ISO8601")
    on_the_day = int((received.dt.date == increment["day"]).sum())
    assert increment["before"] == 0
    assert increment["after"] == on_the_day > 0


def test_the_increment_ran_the_incremental_models_incrementally(increment, increment_env):
    """Not a full build in disguise: each incremental model's write in the increment is an
    insert or a merge of fewer rows than its table then holds (a rebuild, `create table as` or
    an emptied table filled again, writes every row), and the deduplication model inserted
    the new day's rows (its lookback window's too: they are deleted and inserted again)."""
    nodes = increment["manifest"]["nodes"]
    incremental = sorted(
        unique_id
        for unique_id, node in nodes.items()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") == "incremental"
        and node["config"].get("enabled", True)
    )
    assert len(incremental) >= 6, incremental
    second = _by_model(increment["second"])
    written, held = {}, {}
    for unique_id in incremental:
        result, node = second[unique_id], nodes[unique_id]
        assert result["status"] == "success", unique_id
        written[unique_id] = (result["adapter_response"]["code"], result["adapter_response"]["rows_affected"])
        relation = f"{node['schema']}.{node['alias']}"
        held[unique_id] = query(increment_env, "dbt", f"select count(*) from {relation}")[0][0]
    assert all(code in INCREMENTAL_WRITE for code, _ in written.values()), written
    assert all(0 <= rows < held[m] for m, (_, rows) in written.items()), (written, held)
    inserted = written[f"model.lawn.{DELIVERIES.split('.')[1]}"][1]
    assert inserted >= increment["after"] > 0


def test_every_mart_equals_the_duckdb_full_build(increment, increment_env, built_small):
    """The increment's marts are the marts of a DuckDB full build of every day (the same files,
    key and vars), row for row, by test_postgres.py's comparison; before the increment the
    same comparison found the missing day (so it can fail, and the day changes the marts)."""
    assert len(increment["differences_before"]) >= 3, increment["differences_before"]
    differences, nonempty = mart_differences(increment_env, built_small)
    assert not differences
    assert nonempty >= 25, nonempty


def test_every_incremental_table_equals_the_duckdb_full_build(increment, increment_env, built_small):
    """The incremental models' own tables (intermediate and marts), row for row: what their
    deletes, windows and merges left equals a full build of every day."""
    by_schema: dict[str, list[str]] = {}
    for node in increment["manifest"]["nodes"].values():
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental":
            by_schema.setdefault(node["schema"], []).append(node["alias"])
    assert "intermediate" in by_schema
    for schema, tables in by_schema.items():
        differences, nonempty = mart_differences(increment_env, built_small, schema, tables)
        assert not differences, schema
        assert nonempty == len(tables), (schema, tables)


# A re-signup on day 2 with the same mailbox (plus-addressed, other case): a new deterministic
# edge, so the increment labels the touched component again ('labels_recomputed' scratch tables)
RESIGNUP_HEADER = (
    "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,device_id,"
    "user_id,account_id,properties\n"
)
RESIGNUP_DAY_1 = (
    'm1,page_viewed,1,web,2026-11-10T09:00:00Z,2026-11-10T09:00:01Z,a1,,,,"{""page_path"":""/""}"\n'
    "m2,signed_up,1,web,2026-11-10T09:05:00Z,2026-11-10T09:05:01Z,a1,,u1,acc_1,"
    '"{""email"":""ana@x.io"",""signup_method"":""email""}"\n'
)
RESIGNUP_DAY_2 = (
    "m3,signed_up,1,web,2026-11-20T09:00:00Z,2026-11-20T09:00:01Z,a2,,u2,acc_1,"
    '"{""email"":""Ana+new@x.io"",""signup_method"":""email""}"\n'
)


def test_an_increment_that_relabels_a_component_keeps_its_scratch_names_apart(increment_env, tmp_path):
    """PostgreSQL cuts identifiers to 63 bytes: the relabelling's scratch tables of
    int_identity_deterministic_components were named `..._labels_recomputed_graph_0` and
    `..._1` (64 characters), one table once cut, and the increment failed with "relation ...
    does not exist" (macros/portability/scratch_table_name.sql). Runs last in this file: it
    drops the project schemas of this file's database. Day 2's re-signup joins day 1's user:
    the increment gives the full refresh's components."""
    raw = tmp_path / "raw" / "raw_events"
    raw.mkdir(parents=True)
    (raw / "part-0000.csv").write_text(RESIGNUP_HEADER + RESIGNUP_DAY_1)
    select = ("--select", "+int_identity_deterministic_components")
    # only the tests of what is built (dbt's flag as its environment variable)
    env = {**increment_env, "DBT_INDIRECT_SELECTION": "cautious"}
    drop_project_schemas(increment_env)
    lawn_postgres_build(env, tmp_path / "raw", tmp_path / "first", "--full-refresh", *select)
    (raw / "part-0001.csv").write_text(RESIGNUP_HEADER + RESIGNUP_DAY_2)
    lawn_postgres_build(env, tmp_path / "raw", tmp_path / "second", *select)
    components = (
        "select user_id, deterministic_component from intermediate.int_identity_deterministic_components"
    )
    incremental = sorted(query(increment_env, "dbt", components))
    log = (tmp_path / "second" / "logs" / "dbt.log").read_text(errors="replace")
    assert "affected nodes recomputed" in log  # the relabelling ran, not a full labelling
    lawn_postgres_build(env, tmp_path / "raw", tmp_path / "full", "--full-refresh", *select)
    assert incremental == sorted(query(increment_env, "dbt", components))
    assert len({component for _, component in incremental}) == 1 and len(incremental) == 2


# JSON that no engine's text can hold: a NUL escape (in properties, in context) and half an
# emoji (a lone surrogate, as JavaScript cuts a string); one valid row each beside them
UNSTORABLE_JSON = (
    "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,user_id,account_id,"
    "context,properties\n"
    'b1,logged_in,1,web,2026-11-11T09:11:00Z,2026-11-11T09:11:00Z,,u1,acc_1,,"{""login_method"":""password""}"\n'
    "b2,logged_in,1,web,2026-11-11T09:12:00Z,2026-11-11T09:12:00Z,,u1,acc_1,,"
    '"{""login_method"":""password"",""note"":""a\\u0000b""}"\n'
    "p2,page_viewed,1,web,2026-11-08T10:01:00Z,2026-11-08T10:01:00Z,anon1,,,,"
    '"{""page_path"":""/blog"",""title"":""Launch day \\ud83d""}"\n'
    "k2,logged_in,1,web,2026-11-11T09:13:00Z,2026-11-11T09:13:00Z,,u1,acc_1,"
    '"{""platform"":""web"",""ua"":""Mozilla\\u0000""}","{""login_method"":""password""}"\n'
)


def test_json_no_text_can_hold_is_quarantined_not_a_failed_build(increment_env, tmp_path):
    """A probe (2026-12-07): a `\\u0000` escape in properties stopped the PostgreSQL build
    ("\\u0000 cannot be converted to text", 268 nodes skipped; in context it stopped at the
    deduplication), and so did a lone surrogate, where DuckDB quarantined the one and kept the
    other valid. Both are malformed JSON on every engine now (json_has_strict_tokens; DuckDB's
    verdicts in tests_py/test_strict_json.py): quarantined with the same reasons as the
    Python restatement gives. Runs after the relabelling test, in this file's database."""
    from tests_py.expectations import strict_json_object

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "raw_events.csv").write_text(UNSTORABLE_JSON)
    env = {**increment_env, "DBT_INDIRECT_SELECTION": "cautious"}
    drop_project_schemas(increment_env)
    lawn_postgres_build(env, raw, tmp_path / "build", "--full-refresh", "--select", "+fct_quarantined_events")
    found = dict(
        query(increment_env, "dbt", "select event_id, reason_codes from marts.fct_quarantined_events")
    )
    assert found == {
        "b2": "MALFORMED_PROPERTIES_JSON",
        "p2": "MALFORMED_PROPERTIES_JSON",
        "k2": "MALFORMED_CONTEXT_JSON",
    }
    rows = pd.read_csv(raw / "raw_events.csv", dtype=str, keep_default_na=False)
    for _, row in rows.iterrows():
        bad = {c for c in ("properties", "context") if row[c] and strict_json_object(row[c]) is None}
        assert bad == (
            {"context"} if row["event_id"] == "k2" else {"properties"} if row["event_id"] in found else set()
        )


def _long_name_feed() -> str:
    """Two people of one account whose first names are pasted paragraphs (266 characters),
    and two whose mailboxes' local parts are (260): a typo comparison on each pair."""
    header = (
        "event_id,event_name,schema_version,source,occurred_at,received_at,user_id,account_id,properties\n"
    )
    rows, number = [], 0
    people = [
        ("u1", "maria@acme.com", "Maria-" + "x" * 260),
        ("u2", "m.garcia@acme.com", "Maria-" + "y" * 260),
        ("u3", "a" * 260 + "@acme.com", "Jo"),
        ("u4", "a" * 259 + "b@acme.com", "Jo"),
    ]
    for day, (user, email, first) in enumerate(people, start=5):
        for name, properties in (
            ("signed_up", f'{{""email"": ""{email}"", ""signup_method"": ""email""}}'),
            (
                "identified",
                f'{{""email"": ""{email}"", ""first_name"": ""{first}"", ""last_name"": ""Gil""}}',
            ),
        ):
            number += 1
            at = f"2026-11-{day:02d}T09:{number:02d}:00Z"
            rows.append(f'e{number},{name},1,web,{at},{at},{user},acc_1,"{properties}"\n')
    return header + "".join(rows)


def test_texts_over_255_characters_are_compared_alike_on_both_engines(increment_env, tmp_path):
    """A probe (2026-12-07): PostgreSQL's levenshtein refuses arguments over 255 characters,
    and a 266-letter first name stopped the identity build there (DuckDB compared it). Now
    such a text is never a typo of another on any engine (macros/identity/within_edits.sql):
    PostgreSQL builds, and its match scores equal DuckDB's. Runs after the tests above, in
    this file's database."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "raw_events.csv").write_text(_long_name_feed())
    select = ("--select", "+int_identity_match_scores")
    env = {**increment_env, "DBT_INDIRECT_SELECTION": "cautious"}
    drop_project_schemas(increment_env)
    lawn_postgres_build(env, raw, tmp_path / "pg", "--full-refresh", *select)
    columns = "user_id_a, user_id_b, full_name_level, email_local_part_level, match_probability"
    scores = f"select {columns} from intermediate.int_identity_match_scores order by 1, 2"
    on_postgres = [(*row[:4], round(float(row[4]), 9)) for row in query(increment_env, "dbt", scores)]
    duck = tmp_path / "lawn.duckdb"
    run_dbt(["build", *select, "--indirect-selection", "cautious"], duck, tmp_path / "duck", raw_dir=raw)
    on_duckdb = [
        (*row[:4], round(float(row[4]), 9)) for row in duckdb_query(duck, scores).itertuples(index=False)
    ]
    assert on_postgres == on_duckdb
    levels = {(a, b): (name, local) for a, b, name, local, _ in on_postgres}
    assert levels[("u1", "u2")][0] == "different"  # the long first names: no typo
    assert levels[("u3", "u4")][1] == "different"  # the long local parts: no typo
