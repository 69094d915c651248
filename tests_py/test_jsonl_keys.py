"""JSON Lines keys are matched to the contract's columns as CSV headers and Parquet columns
are: trimmed and case-insensitively. A .NET or Java exporter serialising its properties as
they are named (`EventId`-style casing kept as `Event_ID`) was refused as 'missing every
column (found: none)', while the same rows as CSV passed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from tests_py.conftest import query

runner = CliRunner()

# two events as an exporter that keeps its own key casing writes them
TITLE_CASE = (
    '{"Event_ID": "k01", "Event_Name": "logged_in", "Schema_Version": 1, "Source": "web", '
    '"Occurred_At": "2026-11-28T10:00:00Z", "Received_At": "2026-11-28T10:00:01Z", '
    '"User_ID": "u1", "Properties": {"login_method": "sso"}}\n'
    '{"Event_ID": "k02", "Event_Name": "logged_in", "Schema_Version": 1, "Source": "web", '
    '"Occurred_At": "2026-11-28T10:05:00Z", "Received_At": "2026-11-28T10:05:01Z", '
    '"User_ID": "u2", "Properties": {"login_method": "password"}}\n'
)


def _load(tmp_path: Path, text: str):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "raw_events.jsonl").write_text(text)
    db = tmp_path / "gate.duckdb"
    return runner.invoke(app, ["load", "--raw-dir", str(raw)], env={"LAWN_DUCKDB_PATH": str(db)}), db


def test_json_lines_keys_match_whatever_their_case(tmp_path):
    result, db = _load(tmp_path, TITLE_CASE)
    assert result.exit_code == 0, result.output
    landed = query(db, "select event_id, user_id, schema_version, properties from raw.raw_events order by 1")
    assert list(landed.itertuples(index=False, name=None)) == [
        ("k01", "u1", "1", '{"login_method":"sso"}'),
        ("k02", "u2", "1", '{"login_method":"password"}'),
    ]


def test_spellings_may_differ_between_lines(tmp_path):
    """Two SDK versions in one export: each line's own spelling is read."""
    lines = TITLE_CASE.splitlines()
    lines[1] = lines[1].replace('"Event_ID"', '"event_id"').replace('"User_ID"', '"user_id"')
    result, db = _load(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    landed = query(db, "select event_id, user_id from raw.raw_events order by 1")
    assert list(landed.itertuples(index=False, name=None)) == [("k01", "u1"), ("k02", "u2")]


def test_one_object_with_two_spellings_of_a_column_is_refused(tmp_path):
    """Which of the two values is meant cannot be known: one line, no value silently dropped."""
    lines = TITLE_CASE.splitlines()
    lines[1] = lines[1].replace('"User_ID": "u2"', '"User_ID": "u2", "user_id": "u3"')
    result, _ = _load(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert "raw_events.jsonl: line 2: key 'user_id' appears twice, as 'User_ID' and 'user_id'" in line


def _landed_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("raw.raw_events ")]
    return line


def test_keys_no_column_reads_are_listed_as_a_csv_files_extra_columns_are(tmp_path):
    """An exporter's own keys (a tenant, a debug flag) are not read: the load says so, as it
    does for the extra columns of the same rows written as CSV (it said nothing)."""
    lines = [
        line.replace('"User_ID"', '"tenant_region": "eu", "User_ID"').replace("}}", '}, "Debug": true}')
        for line in TITLE_CASE.splitlines()
    ]
    result, _ = _load(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in lines]
    csv_raw = tmp_path / "csv" / "raw"
    csv_raw.mkdir(parents=True)
    pd.DataFrame(
        [{k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()} for row in rows]
    ).to_csv(csv_raw / "raw_events.csv", index=False)
    as_csv = runner.invoke(
        app,
        ["load", "--raw-dir", str(csv_raw)],
        env={"LAWN_DUCKDB_PATH": str(tmp_path / "csv" / "gate.duckdb")},
    )
    assert as_csv.exit_code == 0, as_csv.output
    jsonl_extra = _landed_line(result.output).split("; ignored columns: ")[1]
    csv_extra = _landed_line(as_csv.output).split("; ignored columns: ")[1]
    assert sorted(jsonl_extra.rstrip(")").split(", ")) == sorted(csv_extra.rstrip(")").split(", "))
    assert set(jsonl_extra.rstrip(")").split(", ")) == {"tenant_region", "Debug"}


@pytest.mark.parametrize("pretty", [False, True], ids=["one_line", "pretty_printed"])
def test_a_file_holding_one_json_array_is_named_as_such(tmp_path, pretty):
    """`[{...}, {...}]` in a .jsonl file (an API response saved as is) said 'missing columns
    ... (found: none)': as if the objects had no keys."""
    rows = [json.loads(line) for line in TITLE_CASE.splitlines()]
    result, _ = _load(tmp_path, json.dumps(rows, indent=2 if pretty else None) + "\n")
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert "raw_events.jsonl: holds a JSON array, not one JSON object per line" in line
    assert "found: none" not in line


def test_a_line_that_is_not_an_object_is_named(tmp_path):
    """A number between two objects landed as a row of nulls, reported as an empty received_at."""
    lines = TITLE_CASE.splitlines()
    result, _ = _load(tmp_path, "\n".join([lines[0], "5", lines[1]]) + "\n")
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert "raw_events.jsonl: line 2: not a JSON object (JSON Lines needs one object per line)" in line
