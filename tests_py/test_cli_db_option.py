"""`lawn load|build --db`: the warehouse file as `lawn nightly --db` and `lawn report --db` take
it (a probe, 2026-12-08, reached for `lawn build --db`, which did not exist: only the
LAWN_DUCKDB_PATH variable moved the warehouse). A relative path is the caller's file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

FEED = Path(__file__).parent / "fixtures" / "governance"
LAWN = str(Path(sys.executable).with_name("lawn"))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LAWN_DUCKDB_PATH"}
    return subprocess.run([LAWN, *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_load_lands_in_the_file_db_names_relative_to_the_caller(tmp_path):
    result = _run(["load", "--raw-dir", str(FEED), "--db", "mine.duckdb"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = sum(1 for line in (FEED / "raw_events.jsonl").read_text().splitlines() if line.strip())
    with duckdb.connect(str(tmp_path / "mine.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.raw_events").fetchone()[0] == rows


def test_a_db_in_a_missing_folder_is_one_line_exit_2(tmp_path):
    for command in ("load", "build"):
        result = _run([command, "--raw-dir", str(FEED), "--db", str(tmp_path / "no" / "w.duckdb")], tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert "folder" in result.stderr and "does not exist" in result.stderr
        assert "Traceback" not in result.stdout + result.stderr
