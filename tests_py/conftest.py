"""Shared fixtures: small generated datasets and dbt builds into temporary DuckDB files."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn import dbt_parse_cache, dbt_runner
from lawn.generator import DirtRates, GeneratorConfig, generate
from lawn.generator.writers import write_generated
from lawn.identity_key import IdentityKey, install_key
from lawn.paths import DEMO_RAW_DIR, REPO_ROOT
from lawn.tracking_plan import load_tracking_plan
from lawn.validate_raw import load_raw
from tests_py.expectations import expected_verdicts, parse_utc
from tests_py.ordering import load_costs, longest_files_first, scope_of

# dirt tripled so that every kind is planted even at this size
SMALL = GeneratorConfig(seed=7, accounts=25, days=60, dirt=DirtRates().scaled(3))
# ...so the daily valid-share floor is lowered to what tripled dirt still clears
TEST_VARS = {"dq_valid_share_floor": 0.8}
# the identity hash key of test builds (lawn build / lawn nightly install theirs the same way);
# distinctive, with a quote, so that the leak test can grep for it
TEST_HASH_KEY = IdentityKey(b"LeakCanary-7f3a9c-'quoted'-identity-key", "test")


def run_dbt(
    args: list[str],
    db_path: Path,
    work_dir: Path,
    raw_dir: Path | None = None,
    check: bool = True,
    project_dir: Path = REPO_ROOT,
    dbt_vars: dict | None = None,
    as_of: dt.date | None = None,
    unit_tests: bool = False,
) -> subprocess.CompletedProcess:
    """Run dbt on ``project_dir`` (the repo's project), writing to ``db_path`` and a private
    target dir; with ``raw_dir``, its files are landed in ``raw`` first (`lawn load`), and
    a warehouse with no raw tables yet gets the demo data; ``as_of`` replays that day (as
    `lawn build --as-of` does, docs/as_of.md). A `build` leaves dbt's unit tests out unless
    ``unit_tests`` (see :func:`without_unit_tests`)."""
    if not unit_tests:
        args = without_unit_tests(args)
    if raw_dir is not None or not _has_raw_tables(db_path):
        report = load_raw(raw_dir or DEMO_RAW_DIR, db_path)
        assert report.ok, report.errors
    install_key(db_path, TEST_HASH_KEY)  # as lawn build does: dbt never sees the key
    result = dbt_runner.run_dbt(
        args,
        db_path,
        dbt_vars={**TEST_VARS, **(dbt_vars or {})},
        as_of=as_of,
        target_path=work_dir / "target",
        log_path=work_dir / "logs",
        project_dir=project_dir,
    )
    if check and result.returncode != 0:
        summary = result.stdout[result.stdout.rfind("Completed with") :] or result.stdout[-4000:]
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{summary[:6000]}\n{result.stderr[-2000:]}")
    return result


def without_unit_tests(args: list[str]) -> list[str]:
    """``args`` of a `dbt build` with dbt's unit tests left out, unless the arguments already
    choose resource types. The unit tests test the models' SQL on their own fixed rows, never
    the warehouse's data: the same 34 tests give the same verdicts in every build, and
    `scripts/test.sh`'s demo build (`lawn build --full-refresh`) runs all of them before
    pytest starts. In the tests' builds they were about a quarter of dbt's node time (the
    demo build: 14.6 of 58.7 s)."""
    if args[:1] != ["build"] or any(arg in ("--resource-type", "--exclude-resource-type") for arg in args):
        return args
    return [*args, "--exclude-resource-type", "unit_test"]


def dbt_show(sql: str, db_path: Path, work_dir: Path, limit: int = 1000) -> list[dict]:
    """The rows of an inline query compiled with the project's macros (`dbt show --inline` on
    a DuckDB file of its own, nothing landed), read from dbt's JSON log."""
    done = dbt_runner.run_dbt(
        ["show", "--inline", sql, "--limit", str(limit), "--output", "json", "--log-format", "json"],
        db_path,
        target_path=work_dir / "target",
        log_path=work_dir / "logs",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for line in done.stdout.splitlines():
        event = json.loads(line)
        if event["info"]["name"] == "ShowNode":
            return json.loads(event["data"]["preview"])
    raise AssertionError("dbt show printed no rows")


def _has_raw_tables(db_path: Path) -> bool:
    if not db_path.exists():
        return False
    with duckdb.connect(str(db_path), read_only=True) as connection:
        found = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    return found[0][0] > 0


def query(db_path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return connection.sql(sql).df()


@pytest.fixture(scope="session")
def small_data():
    return generate(SMALL)


@pytest.fixture(scope="session")
def valid_events(small_data) -> pd.DataFrame:
    """The small dataset's valid first deliveries, by the rules restated in Python, with
    parsed properties (``props``) and UTC times (``at``)."""
    verdicts = expected_verdicts(small_data.raw["raw_events"], load_tracking_plan())
    valid = verdicts[~verdicts["is_redelivery"] & (verdicts["expected_reasons"].map(len) == 0)].copy()
    valid["props"] = valid["properties"].map(json.loads)
    valid["at"] = valid["occurred_at"].map(parse_utc)
    return valid


@pytest.fixture(scope="session")
def small_parquet(small_data, tmp_path_factory) -> Path:
    """The small dataset written as Parquet, as a scale run would read it."""
    root = tmp_path_factory.mktemp("small")
    write_generated(small_data, root / "raw", root / "truth", "parquet")
    return root


@pytest.fixture(scope="session")
def built_small(small_parquet, tmp_path_factory) -> Path:
    """A full dbt build (models, data tests, unit tests) over the small Parquet dataset."""
    work = tmp_path_factory.mktemp("build_small")
    db_path = work / "lawn.duckdb"
    run_dbt(["build", "--full-refresh"], db_path, work, raw_dir=small_parquet / "raw")
    return db_path


@pytest.fixture(scope="session")
def built_small_profiles(built_small, tmp_path_factory) -> Path:
    """built_small with the on-demand comparison mart pii_user_match_profiles (a view and its
    key test), as `lawn identity-weights` builds it: no `dbt build` without a selection does."""
    work = tmp_path_factory.mktemp("profiles")
    run_dbt(["build", "--select", "pii_user_match_profiles"], built_small, work)
    return built_small


@pytest.fixture(scope="session")
def two_days(small_data, tmp_path_factory) -> tuple[dict[str, Path], dt.date]:
    """The small world's raw files as two nightly deliveries (tests_py/nightly_world.py)."""
    from tests_py.nightly_world import write_two_days

    return write_two_days(small_data, tmp_path_factory.mktemp("nightly_raw"))


@pytest.fixture(scope="session")
def nightly_runs(two_days, tmp_path_factory) -> dict:
    """The small world's nights, shared by test_nightly.py and test_cadence_reports.py (one
    worker: tests_py/ordering.py); tests_py/nightly_world.py says what runs."""
    from tests_py.nightly_world import run_nightly_world

    return run_nightly_world(two_days, tmp_path_factory)


@pytest.fixture(scope="session")
def pg_env() -> dict[str, str]:
    """LAWN_PG_* settings of a reachable PostgreSQL server (tests_py/pg_harness.py): skip
    locally, fail in CI when there is none."""
    from tests_py.pg_harness import server_env

    return server_env()


@pytest.fixture(scope="session")
def spark_ready() -> None:
    """Java and the pinned pyspark/dbt-spark are here (scripts/spark_ci.sh), else skip; in CI
    a missing Spark fails."""
    from lawn.spark import java_problem

    problem = java_problem()
    if problem:
        message = f"no Spark for lawn ({problem}); run `bash scripts/spark_ci.sh`"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {message}")
        pytest.skip(message)


@pytest.fixture(scope="session")
def spark(spark_ready, tmp_path_factory):
    """One local Spark session per worker for SQL checks on Spark (test_portable_macros,
    test_ordered_text_list): one JVM start."""
    from pyspark.sql import SparkSession

    work = tmp_path_factory.mktemp("spark_engines")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("lawn-portable-macros")
        .config("spark.sql.session.timeZone", "UTC")  # as profiles.yml sets it
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(work / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={work}")
        .getOrCreate()
    )
    yield session
    session.stop()


def spark_env(work: Path) -> dict[str, str]:
    """The environment of a `lawn spark` / dbt-spark run of its own under ``work``: the Spark
    warehouse, dbt's target and log folders, the test identity key, and the small-world
    session settings (profiles.yml: no whole-stage code generation, no adaptive planning)."""
    env = {
        **os.environ,
        "LAWN_SPARK_DIR": str(work / "spark"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "LAWN_IDENTITY_HASH_KEY": TEST_HASH_KEY.secret.decode(),
        "LAWN_SPARK_CODEGEN": "false",
        "LAWN_SPARK_ADAPTIVE": "false",
    }
    env.pop("LAWN_IDENTITY_HASH_KEY_FILE", None)
    return env


def pytest_configure(config: pytest.Config) -> None:
    """One dbt parse store for the whole run (lawn/dbt_parse_cache.py): every build here gets a
    fresh target folder, and without it each starts with a full parse of the project. Set once,
    before xdist starts its workers (they inherit the environment); dbt itself checks every
    seeded parse, so the store changes how long a build takes, never what it builds."""
    if hasattr(config, "workerinput") or os.environ.get(dbt_parse_cache.CACHE_ENV):
        return
    store = tempfile.mkdtemp(prefix="lawn-dbt-parse-")
    os.environ[dbt_parse_cache.CACHE_ENV] = store
    config.add_cleanup(lambda: shutil.rmtree(store, ignore_errors=True))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest test files first (tests_py/ordering.py), so that `scripts/test.sh`'s two
    workers, fed whole files in this order, finish together."""
    items[:] = longest_files_first(items, load_costs())


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile` with the files of a shared world (tests_py/ordering.py's
    SHARED_WORLDS) as one unit of work: the group goes to one worker, which builds the world
    once. Every other file is its own unit, as in plain loadfile."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedWorldScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return SharedWorldScheduling(config, log)
