"""`lawn validate-raw`: a broken raw file stops the run with one line naming file and problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.generator.writers import write_generated
from lawn.validate_raw import RAW_TABLES
from tests_py.conftest import query

runner = CliRunner()


@pytest.fixture()
def csv_dir(small_data, tmp_path) -> Path:
    write_generated(small_data, tmp_path / "raw", tmp_path / "truth", "csv")
    return tmp_path / "raw"


def _error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def test_generated_csv_and_parquet_pass(csv_dir, small_parquet):
    for raw_dir in (csv_dir, small_parquet / "raw"):
        result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw_dir)])
        assert result.exit_code == 0, result.output
        assert "passed validation" in result.output


def test_missing_column_names_file_and_column(csv_dir):
    path = csv_dir / "raw_events.csv"
    pd.read_csv(path, dtype="string").drop(columns=["received_at"]).to_csv(path, index=False)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 2
    [line] = _error_lines(result)
    assert str(path) in line and "missing column 'received_at'" in line


def test_unparseable_timestamp_names_the_row(csv_dir):
    path = csv_dir / "crm_accounts.csv"
    frame = pd.read_csv(path, dtype="string")
    frame.loc[4, "created_at"] = "last tuesday"
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 2
    [line] = _error_lines(result)
    assert str(path) in line and "'created_at'" in line
    assert "data row 5" in line and "'last tuesday'" in line


def test_a_few_bad_client_clocks_are_not_a_broken_file(csv_dir):
    """occurred_at is client data: a few bad values are quarantined later, not fatal here."""
    path = csv_dir / "raw_events.csv"
    frame = pd.read_csv(path, dtype="string")
    frame.loc[:9, "occurred_at"] = "not a time"
    frame.to_csv(path, index=False)
    assert runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)]).exit_code == 0
    frame.loc[:, "occurred_at"] = "1700000000"  # every row in epoch seconds: a broken export
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 2 and "'occurred_at'" in _error_lines(result)[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "file is empty (not even a header row)"), (None, "file is empty (header only, no rows)")],
)
def test_empty_files_are_refused(csv_dir, content, message):
    path = csv_dir / "raw_events.csv"
    if content is None:
        content = ",".join(RAW_TABLES["raw_events"].column_names) + "\n"
    path.write_text(content)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 2
    [line] = _error_lines(result)
    assert line == f"error: {path}: {message}"


def test_missing_file_and_duplicate_keys(csv_dir):
    path = csv_dir / "experiment_registry.csv"
    frame = pd.read_csv(path, dtype="string")
    pd.concat([frame, frame.iloc[[0]]]).to_csv(path, index=False)
    (csv_dir / "raw_events.csv").unlink()
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 2
    lines = [*_error_lines(result), result.output.splitlines()[-1]]
    assert any("raw_events.csv: file not found" in line for line in lines)


def test_optional_tables_may_be_absent_or_empty(csv_dir):
    (csv_dir / "marketing_spend.csv").unlink()
    header = ",".join(RAW_TABLES["experiment_registry"].column_names)
    (csv_dir / "experiment_registry.csv").write_text(header + "\n")
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 0, result.output


def test_duplicate_keys_are_named(csv_dir):
    path = csv_dir / "experiment_registry.csv"
    frame = pd.read_csv(path, dtype="string")
    pd.concat([frame, frame.iloc[[0]]]).to_csv(path, index=False)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    [line] = _error_lines(result)
    assert "'experiment_id' has duplicate values" in line and frame.iloc[0]["experiment_id"] in line


def test_build_stops_before_dbt_loads_anything(csv_dir, tmp_path, monkeypatch):
    (csv_dir / "raw_events.csv").write_text("")
    db_path = tmp_path / "never.duckdb"
    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(db_path))
    result = runner.invoke(app, ["build", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 2
    assert "raw_events.csv: file is empty" in result.output
    assert not db_path.exists(), "nothing may be loaded half-way"


def test_a_failed_load_keeps_the_previous_raw_tables(csv_dir, tmp_path, monkeypatch):
    """All tables or none: a broken file leaves what was landed before untouched."""
    db_path = tmp_path / "kept.duckdb"
    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(db_path))
    assert runner.invoke(app, ["load", "--raw-dir", str(csv_dir)]).exit_code == 0
    before = query(db_path, "select count(*) as n from raw.raw_events")["n"].iloc[0]
    accounts = csv_dir / "crm_accounts.csv"
    frame = pd.read_csv(accounts, dtype="string")
    pd.concat([frame, frame.iloc[[0]]]).to_csv(accounts, index=False)
    (csv_dir / "raw_events.csv").write_text((csv_dir / "raw_events.csv").read_text().splitlines()[0] + "\n")
    result = runner.invoke(app, ["load", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 2
    assert query(db_path, "select count(*) as n from raw.raw_events")["n"].iloc[0] == before
    assert len(query(db_path, "select * from raw.crm_accounts")) == len(frame)


def _ten_times(path: Path) -> pd.DataFrame:
    """The small world's raw events ten times over (redeliveries are not the gate's concern)."""
    frame = pd.concat([pd.read_csv(path, dtype="string")] * 10, ignore_index=True)
    frame.to_csv(path, index=False)
    return frame


def _gate(csv_dir: Path, monkeypatch, vectors: int):
    import lawn.validate_raw as gate

    monkeypatch.setattr(gate, "CHUNK_VECTORS", vectors)
    return runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])


def test_batched_gate_decides_on_the_whole_file(csv_dir, monkeypatch):
    """raw_events is validated in batches (2,048 rows each here): one batch that is all bad
    client clocks is still within the file's allowance (the contract's parse share), so the
    file passes; more bad rows than the allowance, all in the last batches, fail with the whole
    file's count and first bad row, the same line as one frame gives."""
    allowance = 1 - RAW_TABLES["raw_events"].column("occurred_at").parse_share
    path = csv_dir / "raw_events.csv"
    frame = _ten_times(path)
    rows = len(frame)
    assert rows * allowance > 2048, rows  # a batch of 2,048 is within the allowance
    frame.loc[2048 : 2 * 2048 - 1, "occurred_at"] = "not a time"  # the whole second batch
    frame.to_csv(path, index=False)
    assert _gate(csv_dir, monkeypatch, 1).exit_code == 0
    bad = int(rows * (allowance + 0.02))  # over the allowance, all at the end of the file
    frame = pd.read_csv(path, dtype="string")
    frame.loc[: 2 * 2048, "occurred_at"] = frame.loc[2 * 2048 + 1, "occurred_at"]  # undo
    frame.loc[rows - bad :, "occurred_at"] = "yesterday"
    frame.to_csv(path, index=False)
    batched, whole = _gate(csv_dir, monkeypatch, 1), _gate(csv_dir, monkeypatch, 10**6)
    assert batched.exit_code == whole.exit_code == 2
    [line] = _error_lines(batched)
    assert _error_lines(whole) == [line]
    assert f"has {bad} value(s)" in line and f"first at data row {rows - bad + 1}:" in line


def test_batched_gate_names_an_empty_required_value_deep_in_the_file(csv_dir, monkeypatch):
    """marketing_spend (no unique column, so batched) forty times over: two empty days deep
    in the file, in the second and third batches of 2,048 rows."""
    path = csv_dir / "marketing_spend.csv"
    frame = pd.concat([pd.read_csv(path, dtype="string")] * 40, ignore_index=True)
    assert len(frame) > 4100, len(frame)
    frame.loc[[2500, 4100], "spend_date"] = pd.NA
    frame.to_csv(path, index=False)
    batched, whole = _gate(csv_dir, monkeypatch, 1), _gate(csv_dir, monkeypatch, 10**6)
    assert batched.exit_code == whole.exit_code == 2
    [line] = _error_lines(batched)
    assert _error_lines(whole) == [line]
    assert "'spend_date' is empty in 2 row(s), first at data row 2501" in line


def test_a_missing_or_unreadable_receive_time_is_a_row_for_staging_not_a_broken_file(csv_dir):
    """A collector export where a few rows lost their receive time (empty) or hold text that
    is no time passes the gate: staging quarantines those rows as INVALID_RECEIVED_AT
    (tests_py/test_incremental_receive_window.py builds them). A file where most do not parse
    is a wrong column and is refused."""
    path = csv_dir / "raw_events.csv"
    frame = pd.read_csv(path, dtype="string")
    frame.loc[[3, 40], "received_at"] = pd.NA
    frame.loc[[7, 50], "received_at"] = ["not recorded", "30/11/2026 10:00"]
    frame.to_csv(path, index=False)
    assert runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)]).exit_code == 0
    frame["received_at"] = "30/11/2026 10:00"
    frame.loc[: len(frame) // 3, "received_at"] = "2026-11-30T10:00:00Z"
    frame.to_csv(path, index=False)
    refused = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert refused.exit_code == 2
    [line] = _error_lines(refused)
    assert "'received_at'" in line and "not an ISO 8601 timestamp" in line


def test_the_gate_skips_great_expectations_batch_fingerprint_and_nothing_else_changes():
    """The gate turns off GX's batch fingerprint (a hash of every value of every batch, metadata
    only). If the pinned GX stopped honouring the switch the fingerprint would reappear here; the
    results of every expectation are the same with and without it, on rows with a bad timestamp,
    an offset-less time where one is required, an empty required value and good rows."""
    from great_expectations.execution_engine import pandas_execution_engine

    from lawn.validate_raw import _suite, _validator

    table = RAW_TABLES["raw_events"]
    frame = pd.DataFrame(
        {
            "occurred_at": [
                "2026-11-30T10:00:00Z",
                "yesterday",
                "2026-11-30 10:00:00",
                None,
                "2026-11-30T10:00:00+01:00",
            ],
            "received_at": [
                "2026-11-30 10:00:01",
                "2026-11-30T10:00:02Z",
                None,
                "2026-11-30 10:00:04",
                "30/11/2026",
            ],
        }
    ).astype("string")
    threshold = pandas_execution_engine.HASH_THRESHOLD
    outcomes = {}
    for fingerprint in (True, False):
        result = _validator(table, fingerprint=fingerprint)(frame, _suite(table, has_rows_required=True))
        outcomes[fingerprint] = [
            (item.expectation_config.type, item.expectation_config.kwargs.get("column"), item.success,
             item.result.get("unexpected_count"), item.result.get("element_count"))
            for item in result.results
        ]  # fmt: skip
        assert ("pandas_data_fingerprint" in result.meta["batch_markers"]) is fingerprint
    assert threshold == pandas_execution_engine.HASH_THRESHOLD  # restored after the gate
    assert outcomes[False] == outcomes[True]
    # and the outcome is the one the rows call for (independent count: the bad values above)
    by_rule = {
        (kind, column): (success, unexpected) for kind, column, success, unexpected, _ in outcomes[False]
    }
    # 2 of 4 non-empty client times fail (no offset, "yesterday"), 1 of 4 receive times
    for column, bad in (("occurred_at", 2), ("received_at", 1)):
        share = table.column(column).parse_share
        expected = ((4 - bad) / 4 >= share, bad)
        assert by_rule[("expect_column_values_to_match_regex", column)] == expected, column


# a hand-written feed: what a PostgreSQL `COPY ... TO csv` export and an ad platform send
_HEADER = "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,device_id,user_id,account_id,context,properties\n"  # noqa: E501


def _feed(tmp_path: Path, received: list[str], spend_dates: list[str] | None = None) -> Path:
    raw = tmp_path / "feed"
    raw.mkdir()
    rows = "".join(
        f'p{n},page_viewed,1,web,2026-11-28 10:00:00.25+00,{value},anon_{n},,,,,"{{""page_path"":""/""}}"\n'
        for n, value in enumerate(received)
    )
    (raw / "raw_events.csv").write_text(_HEADER + rows)
    if spend_dates is not None:
        spend = "".join(f"{day},paid_search,10.00,100,5\n" for day in spend_dates)
        (raw / "marketing_spend.csv").write_text("spend_date,channel,spend_usd,impressions,clicks\n" + spend)
    return raw


def test_hours_only_offsets_pass_the_gate(tmp_path):
    """PostgreSQL writes timestamptz as `2026-11-28 10:00:00.123456+00` (the offset in hours):
    ISO 8601, a whole file of it is not a broken file."""
    raw = _feed(
        tmp_path, ["2026-11-28 10:00:01.123456+00", "2026-11-28 05:00:02-05", "2026-11-28T10:00:03+0530"]
    )
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0, result.output


def test_crm_dates_without_a_time_pass_the_gate(tmp_path):
    """A CRM export's created_at as a date alone or without seconds (no offset: UTC, a date is
    its midnight; tests_py/test_portable_macros.py checks how staging reads them): before,
    the gate refused the whole feed for it."""
    raw = _feed(tmp_path, ["2026-11-28T10:00:00Z"])
    (raw / "crm_accounts.csv").write_text(
        "account_id,account_name,created_at\n"
        "acc_1,Société Générale,2024-03-15\n"
        "acc_2,Müller GmbH,2024-03-15 10:23\n"
        "acc_3,Globex,2024-03-15T10:23:45+01:00\n"
    )
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0, result.output
    (raw / "crm_accounts.csv").write_text("account_id,account_name,created_at\nacc_1,Globex,03/15/2024\n")
    refused = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert refused.exit_code == 2 and "'created_at'" in refused.output


@pytest.mark.parametrize(
    ("received", "spend_dates", "file", "column", "row", "value", "what"),
    [
        # the form is right, the calendar has no such day
        (["2026-11-28T10:00:00Z"], ["2026-11-28", "2026-11-31"], "marketing_spend.csv", "spend_date", 2,
         "2026-11-31", "on a day the calendar lacks"),
        # fields out of range are not ISO 8601 at all
        (["2026-11-28T24:00:00Z"], None, "raw_events.csv", "received_at", 1, "2026-11-28T24:00:00Z",
         "not an ISO 8601 timestamp"),
        (["2026-11-28T10:00:00Z"], ["2026-13-01"], "marketing_spend.csv", "spend_date", 1, "2026-13-01",
         "not a date"),
    ],
)  # fmt: skip
def test_a_day_or_time_that_does_not_exist_is_refused_naming_the_row(
    tmp_path, received, spend_dates, file, column, row, value, what
):
    """Before: 2026-11-31 passed the gate's pattern, then failed the build with a DuckDB
    conversion error in staging (or quarantined every event received that day)."""
    raw = _feed(tmp_path, received, spend_dates)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result)
    assert str(raw / file) in line and f"'{column}'" in line and what in line
    assert f"data row {row}" in line and repr(value) in line


@pytest.mark.parametrize(
    ("row", "column", "value", "what"),
    [
        ('2026-11-28,paid_search,"$1,200.00",100,5', "spend_usd", "$1,200.00", "not a number"),
        ('2026-11-28,paid_search,"1,200.50",100,5', "spend_usd", "1,200.50", "not a number"),
        ('2026-11-28,paid_search,12.5,"12,000",5', "impressions", "12,000", "not an integer"),
        ("2026-11-28,paid_search,12.5,100,5.5", "clicks", "5.5", "not an integer"),
    ],
)
def test_money_and_counts_as_a_spreadsheet_formats_them_are_refused(tmp_path, row, column, value, what):
    """Before: '$1,200.00' and '12,000' passed the gate and became NULL in staging (the
    spend failing a not_null test, the impressions silently lost)."""
    raw = _feed(tmp_path, ["2026-11-28T10:00:00Z"], [])
    path = raw / "marketing_spend.csv"
    path.write_text(path.read_text() + "2026-11-27,paid_search,7.0e0,1000.0,4\n" + row + "\n")
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result)
    assert str(path) in line and f"'{column}'" in line and what in line
    assert "data row 2" in line and repr(value) in line


def test_a_registry_may_write_shares_as_percents(csv_dir):
    # a spreadsheet's percent cells export as `5%`: a share, read as 0.05 by staging (the
    # unit test of stg_experimentation__experiments); other text is still refused
    path = csv_dir / "experiment_registry.csv"
    frame = pd.read_csv(path, dtype="string")
    frame.loc[0, ["alpha", "power", "holdout_share"]] = ["5%", "80 %", "0.1"]
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 0, result.output
    frame.loc[1, "holdout_share"] = "10 percent"
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(csv_dir)])
    assert result.exit_code == 2
    [line] = _error_lines(result)
    assert "'holdout_share' has 1 value(s) that are not a share (0.05, or a percent: 5%)" in line
    assert "'10 percent'" in line


GATE_IN_FRESH_PROCESS = """
import sys, threading
from pathlib import Path
import duckdb
class Unimportable:  # every import of great_expectations raises ImportError
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "great_expectations":
            raise ImportError("great_expectations blocked by the test")
if sys.argv[2] == "unimportable":
    sys.meta_path.insert(0, Unimportable())
from lawn import validate_raw
assert "great_expectations" not in sys.modules
seen = []
original = validate_raw._import_great_expectations
def spy():
    seen.append(threading.current_thread().name)
    original()
validate_raw._import_great_expectations = spy
try:
    with duckdb.connect() as connection:
        report = validate_raw.land_and_check(Path(sys.argv[1]), connection)
    outcome = "errors: " + repr(report.errors)
except ImportError as exc:
    outcome = "ImportError: " + str(exc).splitlines()[0]
alive = [t.name for t in threading.enumerate() if t.name == "lawn-gx-import"]
print(outcome, "| imported on:", seen, "| still running:", alive)
"""


@pytest.mark.parametrize("mode", ["importable", "unimportable"])
def test_great_expectations_is_imported_on_a_thread_while_the_files_land(csv_dir, mode):
    # a fresh interpreter: the import happens on the loader's thread, the checks then use it,
    # and an import that fails there still fails the landing in the caller (never a silent pass)
    result = subprocess.run(
        [sys.executable, "-c", GATE_IN_FRESH_PROCESS, str(csv_dir), mode],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = result.stdout.strip().splitlines()[-1]
    assert line.endswith("| imported on: ['lawn-gx-import'] | still running: []"), line
    if mode == "importable":
        assert line.startswith("errors: []"), line
    else:
        assert line.startswith("ImportError:"), line


RELOAD_IN_FRESH_PROCESS = """
import sys
from pathlib import Path
from lawn import validate_raw
report = validate_raw.load_raw(Path(sys.argv[1]), Path(sys.argv[2]))
modes = sorted({landed.mode for landed in report.tables})
print(report.errors, modes, "great_expectations" in sys.modules)
"""


def test_a_load_with_nothing_new_checks_nothing_and_does_not_import_great_expectations(csv_dir, tmp_path):
    # the import (4-5 s) is started only for a table with files to read: a nightly or a
    # `lawn build` whose raw files were all landed before waited for it, to check nothing
    db = tmp_path / "w.duckdb"
    runs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", RELOAD_IN_FRESH_PROCESS, str(csv_dir), str(db)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        runs.append(result.stdout.strip().splitlines()[-1])
    # the first load lands (and checks) every file; the second keeps every table as it was
    assert runs[0].startswith("[] [") and "'full'" in runs[0] and runs[0].endswith(" True"), runs[0]
    assert runs[1] == "[] ['unchanged'] False", runs[1]
