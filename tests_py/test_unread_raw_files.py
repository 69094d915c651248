"""A file of the raw folder that looks like data but is not read is named at landing, with
the table it probably is: before, `events.csv`, a CRM export named `accounts.csv` or a
`raw_events.json` were ignored without a word (a probe, 2026-12-07), and a CRM export under
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
