"""Options a user can get wrong are refused in one line naming the option, exit 2, before any
work: found by a sweep of every command's options (2026-12-07) where a bad value exited 0, or
1 after minutes of work, or with another library's words."""

from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from lawn.cli import app

runner = CliRunner()


def _invoke(args: list[str]):
    return runner.invoke(app, args, env={"COLUMNS": "300"})


def _one_line(result, start: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith(f"error: {start}"), result.output


def test_generate_names_a_start_date_the_calendar_lacks(tmp_path):
    # was "error: day is out of range for month", naming no option
    result = _invoke(["generate", "--start-date", "2026-02-30", "--out-dir", str(tmp_path / "raw")])
    _one_line(result, "--start-date must be a date YYYY-MM-DD, got '2026-02-30'")
    assert not (tmp_path / "raw").exists()


def test_catalog_refuses_a_csv_as_the_warehouse_and_an_out_it_cannot_write(tmp_path):
    # a CSV as --db exited 0 with a dictionary of no warehouse; an --out under a file exited 1
    # with "FileNotFoundError: [Errno 2] ..."
    csv = tmp_path / "crm_accounts.csv"
    csv.write_text("account_id,segment\na1,smb\n")
    _one_line(
        _invoke(["catalog", "--db", str(csv), "--out", str(tmp_path / "c")]), f"{csv}: not a DuckDB warehouse"
    )
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    blocked = tmp_path / "a_file"
    blocked.write_text("x")
    result = _invoke(["catalog", "--db", str(db), "--out", str(blocked / "catalog")])
    _one_line(result, f"--out {blocked / 'catalog'}: cannot write the dictionary there")


def test_identity_weights_checks_its_prior_and_out_before_splink_runs(tmp_path):
    # --prior 2 failed after splink's minutes of output with "math domain error"; an --out that
    # cannot be written with "lawn stopped on an unexpected FileNotFoundError" (exit 1)
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()  # no marts: any work on it would fail otherwise
    for prior in ("2", "0", "1", "-0.1", "nan"):
        result = _invoke(
            ["identity-weights", "--db", str(db), "--prior", prior, "--out", str(tmp_path / "w.csv")]
        )
        _one_line(result, "--prior must be a probability strictly between 0 and 1")
    blocked = tmp_path / "a_file"
    blocked.write_text("x")
    result = _invoke(["identity-weights", "--db", str(db), "--out", str(blocked / "weights.csv")])
    _one_line(result, f"--out {blocked / 'weights.csv'}: cannot write the estimates there")
    _one_line(
        _invoke(["identity-weights", "--db", str(db), "--out", str(tmp_path)]), f"--out {tmp_path}: cannot"
    )


def test_an_empty_or_foreign_file_as_the_warehouse_is_bad_input(tmp_path):
    """DuckDB 2 refuses to open an empty file ("exists, but it is not a valid DuckDB database
    file"): `touch lawn.duckdb` made `lawn actions export`, `revert` and `nightly` exit 1, and
    `lawn readout` and `lawn power --metric` exited 1 on any file that is no DuckDB warehouse
    (a probe, 2026-12-07)."""
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    text = tmp_path / "notes.duckdb"
    text.write_text("hello\n")
    said = {empty: "an empty file (0 bytes), not a DuckDB warehouse", text: "not a DuckDB warehouse"}
    for path, start in said.items():
        for args in (
            ["readout", "automation_2026", "--db", str(path)],
            ["power", "--metric", "first_invoice_sent", "--mde", "0.05", "--db", str(path)],
            ["actions", "export", "--db", str(path), "--out-dir", str(tmp_path / "x"), "--run", "r1"],
        ):
            _one_line(_invoke(args), f"{path}: {start}")
    assert empty.read_bytes() == b"" and not (tmp_path / "x").exists()
