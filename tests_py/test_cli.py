"""`lawn generate`: writes deterministic files in either format, refuses bad options."""

from __future__ import annotations

import hashlib

import pandas as pd
from typer.testing import CliRunner

from lawn.cli import app

runner = CliRunner()
ARGS = ["generate", "--accounts", "6", "--days", "30", "--seed", "9"]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generate_csv_is_byte_identical_across_runs(tmp_path):
    for run in ("a", "b"):
        result = runner.invoke(
            app,
            [*ARGS, "--out-dir", str(tmp_path / run / "raw"), "--truth-dir", str(tmp_path / run / "truth")],
        )
        assert result.exit_code == 0, result.output
    for name in (
        "raw/raw_events.csv",
        "raw/crm_accounts.csv",
        "truth/truth_identities.csv",
        "truth/truth_dirt.csv",
    ):
        assert _digest(tmp_path / "a" / name) == _digest(tmp_path / "b" / name), name


def test_generate_parquet_holds_the_same_rows_as_csv(tmp_path):
    for file_format in ("csv", "parquet"):
        result = runner.invoke(
            app,
            [
                *ARGS,
                "--format",
                file_format,
                "--out-dir",
                str(tmp_path / file_format),
                "--truth-dir",
                str(tmp_path / "truth"),
            ],
        )
        assert result.exit_code == 0, result.output
    from_csv = pd.read_csv(
        tmp_path / "csv" / "raw_events.csv", dtype="string", keep_default_na=False, na_values=[""]
    )
    from_parquet = pd.read_parquet(tmp_path / "parquet" / "raw_events.parquet")
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)


def test_dirt_options_change_rates_and_bad_ones_exit_2(tmp_path):
    out = ["--out-dir", str(tmp_path / "raw"), "--truth-dir", str(tmp_path / "truth")]
    result = runner.invoke(app, [*ARGS, *out, "--dirt", "duplicate=0", "--dirt-scale", "0"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "truth" / "truth_dirt.csv").empty
    bad = runner.invoke(app, [*ARGS, *out, "--dirt", "gremlins=0.1"])
    assert bad.exit_code == 2 and "unknown dirt kind" in bad.output
    bad = runner.invoke(app, [*ARGS, *out, "--dirt", "duplicate"])
    assert bad.exit_code == 2 and "KIND=RATE" in bad.output
    bad = runner.invoke(app, [*ARGS, *out, "--format", "xlsx"])
    assert bad.exit_code == 2 and "csv, parquet, parquet-typed" in bad.output


def test_another_out_dir_keeps_the_truth_beside_it_not_in_the_demo(tmp_path):
    """`--out-dir DIR` alone wrote the raw files to DIR and the truth over the checkout's
    data/truth (a docs walk-through, 2026-12-07): the demo's files and their truth no longer
    matched. The truth now goes to a `truth` folder beside DIR."""
    from lawn.paths import TRUTH_DIR

    before = {path.name: _digest(path) for path in TRUTH_DIR.iterdir() if path.is_file()}
    result = runner.invoke(app, [*ARGS, "--out-dir", str(tmp_path / "world" / "raw")])
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in (tmp_path / "world" / "truth").iterdir())
    assert "truth_identities.csv" in written
    assert {path.name: _digest(path) for path in TRUTH_DIR.iterdir() if path.is_file()} == before
