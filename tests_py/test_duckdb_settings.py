"""dbt's DuckDB connection runs under a memory limit (profiles.yml `settings.memory_limit`,
LAWN_DUCKDB_MEMORY_LIMIT, default 4GB) instead of DuckDB's default of 80% of the machine's
RAM: the 10M-event build's peak depends on it (docs/performance.md). Read back from the
connection dbt opens, through `dbt show`."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests_py.conftest import dbt_show

SETTING_SQL = "select current_setting('memory_limit') as memory_limit"


def _memory_limit(work_dir: Path, limit: str | None, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("LAWN_DUCKDB_MEMORY_LIMIT", raising=False)
    if limit is not None:
        monkeypatch.setenv("LAWN_DUCKDB_MEMORY_LIMIT", limit)
    return dbt_show(SETTING_SQL, work_dir / "settings.duckdb", work_dir)[0]["memory_limit"]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        # DuckDB reports the limit in binary units, one decimal cut off (not rounded):
        # 4 GB = 4e9 bytes = 3.73 GiB, 1 GB = 953.67 MiB
        (None, f"{math.floor(4e9 / 2**30 * 10) / 10:.1f} GiB"),
        ("1GB", f"{math.floor(1e9 / 2**20 * 10) / 10:.1f} MiB"),
        ("512MiB", "512.0 MiB"),
    ],
)
def test_dbt_connection_runs_under_the_configured_memory_limit(tmp_path, monkeypatch, limit, expected):
    assert _memory_limit(tmp_path, limit, monkeypatch) == expected


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (None, f"{math.floor(4e9 / 2**30 * 10) / 10:.1f} GiB"),
        ("1GB", f"{math.floor(1e9 / 2**20 * 10) / 10:.1f} MiB"),
        ("512MiB", "512.0 MiB"),
    ],
)
def test_lawn_connections_run_under_the_same_limit(tmp_path, monkeypatch, limit, expected):
    """lawn's own DuckDB connections (the nightly's scoring, the ledgers, every reader of the
    marts through lawn.warehouse_io) read the same variable with the same default as dbt's."""
    from lawn.warehouse_io import connect

    monkeypatch.delenv("LAWN_DUCKDB_MEMORY_LIMIT", raising=False)
    if limit is not None:
        monkeypatch.setenv("LAWN_DUCKDB_MEMORY_LIMIT", limit)
    for read_only in (False, True):
        with connect(tmp_path / "lawn.duckdb", read_only=read_only) as con:
            assert con.execute(SETTING_SQL).fetchone()[0] == expected


def test_a_limit_duckdb_cannot_read_is_one_line(tmp_path, monkeypatch):
    from lawn.warehouse_io import connect

    monkeypatch.setenv("LAWN_DUCKDB_MEMORY_LIMIT", "lots")
    message = r"^LAWN_DUCKDB_MEMORY_LIMIT='lots' is not a DuckDB size"
    with pytest.raises(ValueError, match=message), connect(tmp_path / "lawn.duckdb"):
        pass


def test_a_limit_dbt_cannot_use_stops_lawn_build_with_one_line(tmp_path, monkeypatch):
    """Before any dbt run: dbt itself printed a Python traceback at its first connection."""
    from typer.testing import CliRunner

    from lawn.cli import app

    variable = "LAWN_DUCKDB_MEMORY_LIMIT"
    monkeypatch.setenv(variable, "lots")
    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(tmp_path / "lawn.duckdb"))
    result = CliRunner().invoke(app, ["build", "--raw-dir", str(tmp_path / "raw"), "--no-unit-tests"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [f"error: {variable}='lots' is not a DuckDB size (e.g. 4GB, 500MB)"], result.output
    assert "Traceback" not in result.output


def test_every_dbt_run_on_duckdb_checks_the_limit_and_other_targets_do_not(tmp_path, monkeypatch):
    """lawn/dbt_runner.py checks before any dbt command (the nightly's, Dagster's through
    lawn's runner); the PostgreSQL and Spark outputs have no such setting."""
    from lawn.dbt_runner import dbt_invocation
    from lawn.warehouse import WarehouseError

    monkeypatch.setenv("LAWN_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(WarehouseError, match=r"^LAWN_DUCKDB_MEMORY_LIMIT='lots'") as raised:
        dbt_invocation(["build"], tmp_path / "lawn.duckdb")
    assert raised.value.exit_code == 2
    for target in ("postgres", "spark"):  # no error: the value is not theirs
        assert "--target" in dbt_invocation(["build", "--target", target], None).command
    monkeypatch.setenv("LAWN_DUCKDB_MEMORY_LIMIT", "512MB")
    assert dbt_invocation(["build"], tmp_path / "lawn.duckdb").env["LAWN_DUCKDB_MEMORY_LIMIT"] == "512MB"
