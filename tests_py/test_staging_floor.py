"""The staging floor (scripts/staging_floor.py, the benchmark's hand-written DuckDB script) gives
every raw delivery the verdict the dbt staging nodes give it: same rows, same columns, same
status and reason codes, on the demo seeds, on a small generated world and on a hand-written
feed of dirty rows. That is what makes its time a fair floor for the dbt nodes' time."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.paths import DEMO_RAW_DIR, REPO_ROOT
from lawn.raw_loader import land_raw_dir
from lawn.settings import var
from tests_py.conftest import run_dbt

spec = importlib.util.spec_from_file_location("staging_floor", REPO_ROOT / "scripts" / "staging_floor.py")
floor = importlib.util.module_from_spec(spec)
sys.modules["staging_floor"] = floor  # its dataclass looks its module up
spec.loader.exec_module(floor)

FIXTURE = Path(__file__).parent / "fixtures" / "staging_floor"
# receive times are judged against this instant in both builds (dbt var received_at_reference_time)
REFERENCE = dt.datetime(2026, 9, 1)
# the dbt nodes whose work the floor does
STAGING_NODES = (
    "stg_tracking__events",
    "int_events_deduplicated",
    "int_event_properties_checked",
    "int_events_validated",
)
STAGING_ONLY = [
    "build",
    "--select",
    "+int_events_validated",
    "--exclude-resource-type",
    "test",
    "--exclude-resource-type",
    "unit_test",
    "--full-refresh",
]


def dbt_staging(raw_dir: Path, work: Path) -> Path:
    """The event staging nodes built by dbt over ``raw_dir`` (landed without the raw-file gate,
    which would refuse the hand-written feed's unparseable receive time)."""
    db_path = work / "dbt.duckdb"
    with duckdb.connect(str(db_path)) as connection:
        report = land_raw_dir(raw_dir, connection)
    assert report.ok, report.errors
    reference = {"received_at_reference_time": REFERENCE.strftime("%Y-%m-%d %H:%M:%S")}
    run_dbt(STAGING_ONLY, db_path, work, dbt_vars=reference)
    return db_path


def verdicts(db_path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return connection.execute(
            f"select raw_event_key, delivery_status, primary_reason_code, reason_codes, reason_details "
            f"from {table} order by raw_event_key"
        ).fetchall()


def rows_only_in_one(dbt_db: Path, floor_db: Path) -> tuple[int, int, list[str]]:
    """Rows (every column) of int_events_validated missing from the floor's table, and the
    reverse; and the column names, which must be the same in the same order."""
    with duckdb.connect() as connection:
        connection.execute(f"attach '{dbt_db}' as built (read_only)")
        connection.execute(f"attach '{floor_db}' as floor (read_only)")
        describe = "describe built.intermediate.int_events_validated"
        built_columns = [row[0] for row in connection.execute(describe).fetchall()]
        floor_columns = [row[0] for row in connection.execute("describe floor.events_validated").fetchall()]
        assert floor_columns == built_columns
        columns = ", ".join(built_columns)
        built = f"select {columns} from built.intermediate.int_events_validated"
        mine = f"select {columns} from floor.events_validated"
        only_built = connection.execute(f"select count(*) from ({built} except all {mine})").fetchone()[0]
        only_floor = connection.execute(f"select count(*) from ({mine} except all {built})").fetchone()[0]
    return only_built, only_floor, built_columns


def assert_same_verdicts(raw_dir: Path, work: Path) -> list[tuple]:
    dbt_db = dbt_staging(raw_dir, work)
    result = floor.run_floor(raw_dir, work / "floor.duckdb", reference_time=REFERENCE, threads=1)
    built, mine = (
        verdicts(dbt_db, "intermediate.int_events_validated"),
        verdicts(result.db_path, "events_validated"),
    )
    assert result.rows == len(built) > 0
    # counts per status and per primary reason, then per delivery, then every column of every row
    assert Counter(row[1] for row in mine) == Counter(row[1] for row in built)
    assert Counter(row[2] for row in mine) == Counter(row[2] for row in built)
    assert {row[0]: row[1:] for row in mine} == {row[0]: row[1:] for row in built}
    assert rows_only_in_one(dbt_db, result.db_path)[:2] == (0, 0)
    return mine


@pytest.fixture(scope="module")
def fixture_feed(tmp_path_factory) -> Path:
    """The hand-written feed plus one delivery whose payload is too large to keep in git."""
    raw_dir = tmp_path_factory.mktemp("floor_fixture") / "raw"
    raw_dir.mkdir()
    shutil.copy(FIXTURE / "raw_events.csv", raw_dir / "raw_events.csv")
    comment = "x" * (int(var("max_payload_characters")) + 1)
    with (raw_dir / "raw_events.csv").open("a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(
            [
                *("f-big", "nps_submitted", "1", "web", "2026-08-10T10:00:00Z", "2026-08-10T10:00:01Z"),
                *("anon-1", "dev-1", "u-1", "acc-1", ""),
                json.dumps({"score": 9, "comment": comment}),
            ]
        )
    return raw_dir


@pytest.fixture(scope="module")
def fixture_built(fixture_feed, tmp_path_factory) -> tuple[Path, list[tuple]]:
    work = tmp_path_factory.mktemp("floor_fixture_build")
    return work, assert_same_verdicts(fixture_feed, work)


def test_hand_written_feed_same_verdicts_as_dbt_and_as_expected(fixture_built):
    """dbt and the floor agree row for row, and each line of the feed gets the verdict a reader
    of the contract expects (expected.csv, written by hand with the feed)."""
    work, _ = fixture_built
    with (FIXTURE / "expected.csv").open(newline="") as handle:
        expected = list(csv.DictReader(handle))
    with (FIXTURE / "raw_events.csv").open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [int(row["line"]) for row in expected] == list(range(2, len(lines) + 2))
    # a line is found by its trimmed event id and its receive time as sent
    wanted = Counter(
        (
            line["event_id"].strip() or None,
            line["received_at"],
            row["expected_status"],
            row["expected_primary_reason_code"] or None,
        )
        for line, row in zip(lines, expected, strict=True)
    )
    wanted[("f-big", "2026-08-10T10:00:01Z", "quarantined", "PAYLOAD_TOO_LARGE")] += 1
    with duckdb.connect(str(work / "floor.duckdb"), read_only=True) as connection:
        got = Counter(
            connection.execute(
                "select event_id, received_at_raw, delivery_status, primary_reason_code from events_validated"
            ).fetchall()
        )
    assert got == wanted


def test_comparison_can_fail(fixture_feed, fixture_built):
    """The negative control: judged a month earlier, the floor sends August deliveries to
    RECEIVED_AT_OUT_OF_RANGE and no longer matches the dbt build."""
    work, mine = fixture_built
    earlier = floor.run_floor(
        fixture_feed, work / "floor_earlier.duckdb", reference_time=dt.datetime(2026, 8, 1)
    )
    shifted = verdicts(earlier.db_path, "events_validated")
    assert Counter(row[2] for row in shifted) != Counter(row[2] for row in mine)
    assert rows_only_in_one(work / "dbt.duckdb", earlier.db_path)[0] > 0


def test_demo_seeds_same_verdicts_as_dbt(tmp_path):
    mine = assert_same_verdicts(DEMO_RAW_DIR, tmp_path)
    assert {row[1] for row in mine} == {"valid", "quarantined", "duplicate"}


def test_generated_world_same_verdicts_as_dbt(small_parquet, tmp_path):
    """The small generated world (Parquet, dirt tripled) of tests_py/conftest.py."""
    mine = assert_same_verdicts(small_parquet / "raw", tmp_path)
    reasons = {row[2] for row in mine if row[2]}
    assert len(reasons) >= 8, reasons


def _load_script(name: str):
    script = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(script)
    sys.modules[name] = module
    script.loader.exec_module(module)
    return module


def test_benchmark_reads_the_staging_nodes_times(fixture_built):
    """The benchmark's numerator: the four staging nodes' times from the build's run_results."""
    work, _ = fixture_built
    seconds = _load_script("benchmark_staging").staging_node_seconds(work / "target" / "run_results.json")
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    by_id = {result["unique_id"]: result["execution_time"] for result in results}
    assert seconds == {name: by_id[f"model.lawn.{name}"] for name in STAGING_NODES}


def test_benchmark_holds_back_the_last_full_day(small_parquet, tmp_path):
    """The one-day increment: everything received from the last full day on is held back, the
    rest (and the other raw files) is what the first build reads."""
    bench = _load_script("benchmark_staging")
    raw = small_parquet / "raw"
    day, kept, held = bench.hold_back_last_day(raw, tmp_path / "first")
    frame = pd.read_parquet(raw / "raw_events.parquet")
    received = pd.to_datetime(frame["received_at"], utc=True, errors="coerce", format="ISO8601")
    per_day = received.dt.date.value_counts()
    assert per_day[day] >= 0.5 * per_day.median()
    assert held == int((received.dt.date >= day).sum()) > 0
    assert kept + held == len(frame)
    first = pd.read_parquet(tmp_path / "first" / "raw_events.parquet")
    assert len(first) == kept and first.columns.tolist() == frame.columns.tolist()
    assert {path.name for path in (tmp_path / "first").iterdir()} == {path.name for path in raw.iterdir()}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--raw-dir", "no-such-folder"], "raw_events.csv: file not found"),
        (["--raw-dir", str(FIXTURE), "--reference-time", "tomorrow"], "--reference-time: 'tomorrow'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "staging_floor.py"),
            *args,
            "--db",
            str(tmp_path / "f.duckdb"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
