"""lawn on Spark (issue 18 item 5, docs/spark.md): the `spark` selector builds on a local
Spark session (dbt-spark, method session, Parquet tables), and what it builds equals the
DuckDB build of the same files, key and vars.

Needs Java 17 and pyspark (scripts/spark_ci.sh installs both): without them the tests are
skipped locally and FAIL in CI (CI=true): a missing engine there is a broken pipeline.

One build (`lawn spark build` of the small Parquet world, with the DuckDB build's key and
vars) is shared by every test; its marts, raw tables and seeds are copied into a DuckDB file
(`lawn.spark.export_spark_schemas`, through Parquet) and compared with
scripts/compare_marts.py's comparison."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import duckdb
import pytest

from lawn.paths import REPO_ROOT
from tests_py.conftest import TEST_VARS, spark_env
from tests_py.spark_steps import run_steps

_spec = importlib.util.spec_from_file_location("compare_marts", REPO_ROOT / "scripts" / "compare_marts.py")
assert _spec is not None and _spec.loader is not None
compare_marts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_marts)

# the public marts the Spark selection must build (the event path so far; docs/spark.md)
REQUIRED_MARTS = {"fct_events", "fct_quarantined_events", "fct_data_quality_daily", "fct_data_day"}


@pytest.fixture(scope="session")
def spark_build(spark_ready, small_parquet, tmp_path_factory) -> dict:
    """`lawn spark build` of the small world, then its marts, raw tables and seeds copied
    into a DuckDB file; the run_results, the manifest and that file. Both steps in one
    process (tests_py/spark_steps.py): one Spark JVM for the landing, the build and the export."""
    work = tmp_path_factory.mktemp("spark_build")
    exported = work / "spark_export.duckdb"
    build_args = [
        *("spark", "build", "--raw-dir", str(small_parquet / "raw")),
        *("--vars", json.dumps(TEST_VARS)),
    ]
    build, export = run_steps(
        [
            {"kind": "cli", "args": build_args, "may_fail": True},  # judged by the tests below
            # the build's vars, so that the export's dbt reuses its parse (saved per vars)
            {"kind": "export", "out": str(exported), "schemas": ["marts", "raw", "registry"],
             "target_path": str(work / "export_target"), "vars": TEST_VARS},
        ],
        spark_env(work),
        work,
    )  # fmt: skip
    output = build["output"]
    done = [line for line in output.splitlines() if "Done. PASS=" in line]
    target = work / "target"
    assert (target / "run_results.json").exists(), f"spark build did not run:\n{output[-6000:]}"
    return {
        "returncode": build["code"],
        "output": output,
        "summary": done[-1] if done else "",
        "run_results": json.loads((target / "run_results.json").read_text()),
        "manifest": json.loads((target / "manifest.json").read_text()),
        "exported": exported,
        "counts": export["counts"],
    }


def test_the_spark_selection_builds(spark_build):
    results = spark_build["run_results"]["results"]
    bad = [
        (r["unique_id"], r["status"], (r.get("message") or "")[:300])
        for r in results
        if r["status"] not in ("success", "pass", "warn")
    ]
    assert not bad, bad
    assert spark_build["returncode"] == 0, spark_build["output"][-3000:]
    nodes = spark_build["manifest"]["nodes"]
    warned = [r["unique_id"] for r in results if r["status"] == "warn"]
    assert all(nodes[unique_id]["config"]["severity"].lower() == "warn" for unique_id in warned)
    built = {nodes[r["unique_id"]]["name"] for r in results if r["unique_id"].startswith("model.")}
    assert built >= REQUIRED_MARTS, REQUIRED_MARTS - built
    # the data tests of what was built ran too (primary keys at least)
    tests = [r["unique_id"] for r in results if r["unique_id"].startswith("test.")]
    assert any("unique_fct_events_event_id" in unique_id for unique_id in tests)


def _copy_as(duck_path: Path, spark_path: Path, schema: str, out: Path) -> list[str]:
    """The tables of ``schema`` that the Spark export holds, copied from both files into
    ``out``/duckdb.duckdb and ``out``/spark.duckdb with the DuckDB build's column order and
    types (Spark's Parquet types are read back as DuckDB's: int vs bigint, decimal widths;
    the values are compared, not the engines' type names). Returns the tables compared."""
    with duckdb.connect(str(spark_path), read_only=True) as spark:
        spark_tables = [
            row[0]
            for row in spark.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1",
                [schema],
            ).fetchall()
        ]
    left, right = out / "duckdb.duckdb", out / "spark.duckdb"
    with duckdb.connect(str(left)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{duck_path}' as built (read_only)")
        con.execute(f"attach '{spark_path}' as sparked (read_only)")
        con.execute(f"attach '{right}' as right_side")
        con.execute(f"create schema {schema}")
        con.execute(f"create schema right_side.{schema}")
        for table in spark_tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_catalog = 'built' and table_schema = ? and table_name = ?"
                " order by ordinal_position",
                [schema, table],
            ).fetchall()
            assert columns, f"{schema}.{table} is on Spark but not in the DuckDB build"
            listed = ", ".join(name for name, _ in columns)
            casts = ", ".join(f"cast({name} as {data_type}) as {name}" for name, data_type in columns)
            con.execute(f"create table {schema}.{table} as select {listed} from built.{schema}.{table}")
            con.execute(
                f"create table right_side.{schema}.{table} as select {casts} from sparked.{schema}.{table}"
            )
        con.execute("detach right_side")
    return spark_tables


def _canonical_json(text: str | None) -> str | None:
    """A JSON object's text with every number written as a float (57 and 57.0 alike)."""
    if text is None:
        return None

    def numbers_as_floats(value: object) -> object:
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, list):
            return [numbers_as_floats(item) for item in value]
        return {key: numbers_as_floats(item) for key, item in value.items()}  # type: ignore[union-attr]

    return json.dumps(numbers_as_floats(json.loads(text)), separators=(",", ":"))


def test_spark_marts_equal_the_duckdb_build(spark_build, built_small, tmp_path):
    """The marts Spark builds equal DuckDB's row for row (text, integers, dates, timestamps
    exactly; numbers within 1e-9; NULL only against NULL), by scripts/compare_marts.py.

    Accepted difference (docs/spark.md): the masked JSON `properties` of fct_events spell
    some numbers differently (Spark's VARIANT writes 57.0 as 57, DuckDB keeps 57.0): the same
    JSON values, compared as parsed JSON with numbers as floats (keys in the same order)."""
    tables = _copy_as(built_small, spark_build["exported"], "marts", tmp_path)
    for name in ("duckdb.duckdb", "spark.duckdb"):
        with duckdb.connect(str(tmp_path / name)) as con:
            con.create_function("canonical_json", _canonical_json, ["VARCHAR"], "VARCHAR")
            con.execute("update marts.fct_events set properties = canonical_json(properties)")
    assert set(tables) >= REQUIRED_MARTS, REQUIRED_MARTS - set(tables)
    problems = compare_marts.compare(tmp_path / "duckdb.duckdb", tmp_path / "spark.duckdb", "marts", 1e-9)
    assert not problems, problems[:20]
    # not a comparison of empty tables
    nonempty = [name for name in tables if spark_build["counts"][f"marts.{name}"] > 0]
    assert set(nonempty) >= REQUIRED_MARTS, nonempty


def test_raw_landing_and_seeds_equal_duckdbs(spark_build, built_small, tmp_path):
    """raw.* and the seeds (regular expressions with backslashes, texts with apostrophes,
    empty cells as NULL) hold on Spark what DuckDB holds. No exception: agate reads a bare
    seed text `null` as NULL, and the one seed value it hit (the identity blocklist's
    placeholder) is written `<null>` (docs/spark.md)."""
    for schema in ("raw", "registry"):
        out = tmp_path / schema
        out.mkdir()
        tables = _copy_as(built_small, spark_build["exported"], schema, out)
        assert tables, schema
        problems = compare_marts.compare(out / "duckdb.duckdb", out / "spark.duckdb", schema, 1e-9)
        assert not problems, problems[:20]
    with duckdb.connect(str(spark_build["exported"]), read_only=True) as con:
        patterns = con.execute(
            "select count(*) from registry.tracking_plan_properties where pattern like '%\\%'"
        ).fetchone()[0]
    assert patterns > 0  # the backslashes survived


# -- the command line (no Spark needed) ---------------------------------------------------


def test_a_refused_raw_file_is_bad_input_and_lands_nothing(tmp_path):
    from typer.testing import CliRunner

    from lawn.cli import app

    # a CRM-style export without the required column, as a hand-written file
    (tmp_path / "raw_events.csv").write_text("event_name,occurred_at\nsigned_up,2026-01-01T00:00:00Z\n")
    result = CliRunner().invoke(
        app, ["spark", "land", "--raw-dir", str(tmp_path)], env={"LAWN_SPARK_DIR": str(tmp_path / "spark")}
    )
    assert result.exit_code == 2, result.output
    assert "raw_events.csv: missing column" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "spark").exists()  # refused before Spark was started
