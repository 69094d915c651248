"""A file of the raw folder that looks like data but is not read is named at landing, with
the table it probably is: before, `events.csv`, a CRM export named `accounts.csv` or a
`raw_events.xlsx` were ignored without a word (a probe, 2026-12-07), and a CRM export under
another name left every account without a segment while the build passed."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from lawn.cli import app
from lawn.raw_warnings import unread_file_warnings

runner = CliRunner()
FIXTURE = Path(__file__).parent / "fixtures" / "byod"


def _raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE, raw)
    (raw / "README.md").unlink()
    return raw


def test_files_the_contract_does_not_name_are_warned_of_with_the_likely_table(tmp_path):
    raw = _raw(tmp_path)
    shutil.copy(raw / "crm_accounts.csv", raw / "crm_account.csv")  # a typo: the CRM not read
    (raw / "marketing_spend.xlsx").write_bytes(b"PK")  # a spreadsheet: not a type lawn reads
    (raw / "notes.txt").write_text("hello")  # data-like, no table near it
    (raw / "experiments").mkdir()
    (raw / "experiments" / "part-0.csv").write_text("a\n1\n")
    (raw / "_SUCCESS").write_text("")  # an export's marker: not data
    (raw / "logo.png").write_bytes(b"")  # not data-like
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    text = " ".join(result.output.split())
    assert "crm_account.csv: not read: 'crm_account' names no table of the contract" in text
    assert "is it crm_accounts.csv?" in text
    assert "marketing_spend.xlsx: not read: .xlsx is not a file type lawn reads" in text
    assert "notes.txt: not read: 'notes' names no table" in text
    assert "experiments/: not read:" in text and "is it the folder experiment_registry/?" in text
    for quiet in ("_SUCCESS", "logo.png", "raw_events.csv:", "crm_accounts.csv:"):
        assert f"{quiet} not read" not in text and f"/{quiet}: not read" not in text


def test_a_folder_whose_files_are_all_read_says_nothing(tmp_path):
    assert unread_file_warnings(_raw(tmp_path)) == []


def test_the_missing_events_file_names_the_file_that_is_probably_it(tmp_path):
    raw = _raw(tmp_path)
    (raw / "raw_events.csv").rename(raw / "Raw_Events.csv")
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "raw_events.csv: file not found" in text
    assert "Raw_Events.csv: not read: names are case-sensitive: name it raw_events.csv" in text


def _split_events(raw: Path) -> tuple[str, list[str]]:
    header, *rows = (raw / "raw_events.csv").read_text().splitlines(keepends=True)
    (raw / "raw_events.csv").unlink()
    (raw / "raw_events").mkdir()
    return header, rows


def test_a_table_folder_is_read_with_its_subfolders(tmp_path):
    """A delivery folder with subfolders (a Hive-style export, `dt=.../part-0.csv`, or a day's
    folder beside a loose part) is read whole, in path order; `_temporary/` and `.hidden/`
    are not data. A subfolder was skipped without a word before (a probe: 5 of 10 rows lost)."""
    import duckdb

    from lawn.raw_loader import land_raw_dir

    raw = _raw(tmp_path)
    header, rows = _split_events(raw)
    half = len(rows) // 2
    (raw / "raw_events" / "part-1.csv").write_text(header + "".join(rows[:half]))
    (raw / "raw_events" / "dt=2026-03-07").mkdir()
    (raw / "raw_events" / "dt=2026-03-07" / "part-2.csv").write_text(header + "".join(rows[half:]))
    for skipped in ("_temporary", ".hidden"):
        (raw / "raw_events" / skipped).mkdir()
        (raw / "raw_events" / skipped / "part-9.csv").write_text(header + rows[0])
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = land_raw_dir(raw, con)
        assert report.ok, report.errors
        assert con.execute("select count(*) from raw.raw_events").fetchone()[0] == len(rows)
        landed = [row[0] for row in con.execute("select file_name from ops.raw_landing_manifest").fetchall()]
    assert "raw_events/dt=2026-03-07/part-2.csv" in landed and "raw_events/part-1.csv" in landed
    assert not any("part-9" in name for name in landed)


def test_a_hive_style_folder_alone_is_a_delivery_folder(tmp_path):
    raw = _raw(tmp_path)
    header, rows = _split_events(raw)
    (raw / "raw_events" / "dt=2026-03-06").mkdir()
    (raw / "raw_events" / "dt=2026-03-06" / "part-0000.csv").write_text(header + "".join(rows))
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0 and "file not found" not in result.output, result.output


def test_a_broken_parquet_file_says_what_is_wrong_in_one_line(tmp_path):
    """A CSV renamed .parquet, a truncated copy, or garbage between the magic bytes: one line
    saying it is no readable Parquet file. It showed DuckDB's echo of the query ("LINE 1:
    describe select * from read_parquet(...)") as the reason (a probe, 2026-12-07)."""
    import pandas as pd

    csv_text = (FIXTURE / "raw_events.csv").read_bytes()
    pd.read_csv(FIXTURE / "raw_events.csv").to_parquet(tmp_path / "whole.parquet")
    whole = (tmp_path / "whole.parquet").read_bytes()
    for name, data in (("renamed", csv_text), ("cut", whole[:300]), ("garbage", b"PAR1garbagePAR1")):
        raw = _raw(tmp_path / name)
        (raw / "raw_events.csv").unlink()
        (raw / "raw_events.parquet").write_bytes(data)
        result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        [line] = [line for line in result.output.splitlines() if line.strip()]
        assert "raw_events.parquet: not a readable Parquet file (" in line, line
        assert "LINE 1" not in line and "describe select" not in line


def test_a_json_file_is_json_lines_as_warehouse_unloads_write_it(tmp_path):
    """BigQuery and Snowflake unload JSON as one object per line in `.json` / `.json.gz` files
    (`000000000000.json`): read as JSON Lines (a probe's unload folder stopped the build with
    "unknown file type"); a `.json` holding one JSON array is named as such."""
    import gzip
    import json

    import pandas as pd

    frame = pd.read_csv(FIXTURE / "raw_events.csv", dtype=str)
    rows = frame.where(frame.notna(), None).to_dict("records")
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    raw = _raw(tmp_path / "unload")
    (raw / "raw_events.csv").unlink()
    (raw / "raw_events").mkdir()
    (raw / "raw_events" / "000000000000.json").write_text(lines[: len(lines) // 2].rsplit("\n", 1)[0] + "\n")
    rest = lines[len(lines[: len(lines) // 2].rsplit("\n", 1)[0]) + 1 :]
    (raw / "raw_events" / "000000000001.json.gz").write_bytes(gzip.compress(rest.encode()))
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0, result.output
    import duckdb

    from lawn.raw_loader import land_raw_dir

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert land_raw_dir(raw, con).ok
        assert con.execute("select count(*) from raw.raw_events").fetchone()[0] == len(rows)
    array = _raw(tmp_path / "array")
    (array / "raw_events.csv").unlink()
    (array / "raw_events.json").write_text(json.dumps(rows))
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(array)])
    assert result.exit_code == 2 and "holds a JSON array, not one JSON object per line" in result.output
