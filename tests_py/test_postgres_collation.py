"""lawn on a PostgreSQL database that does not sort text byte by byte (issue 18's "string
comparisons decide the same way on every engine").

A probe (2026-12-07) built hand-written feeds in a database with ICU en-US collation (many
managed servers' default is a language collation): 12 marts decided differently from DuckDB,
because the tie-breaks (`order by event_id` among same-second plan changes, the greater account
id, the earlier name) follow the database's collation there ('a' before 'B'), and bytewise
order on DuckDB and Spark. lawn now refuses such a database: `lawn postgres build|land` with
one line before anything lands (exit 2), and a bare dbt run with the same reason from its
first on-run-start hook (macros/portability/require_bytewise_collation.sql).

scripts/postgres_ci.sh makes the ICU database, ``<LAWN_PG_DATABASE>_icu``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.dbt_runner import run_dbt
from tests_py.pg_harness import own_database_env, query

REASON = "does not sort text byte by byte"


@pytest.fixture(scope="module")
def icu_env(pg_env) -> dict[str, str]:
    env = own_database_env(pg_env, "_icu")
    # the premise: this database orders text by language, the test databases bytewise
    assert query(env, "dbt", "select 'a' < 'B'")[0][0] is True
    assert query(pg_env, "dbt", "select 'a' < 'B'")[0][0] is False
    return env


@pytest.mark.parametrize("command", [["postgres", "build"], ["postgres", "land"]])
def test_lawn_refuses_the_database_before_landing(icu_env, command):
    result = CliRunner().invoke(app, command, env=icu_env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and REASON in lines[0] and "LOCALE 'C'" in lines[0], result.output
    assert "Traceback" not in result.output
    raw_tables = "select count(*) from information_schema.tables where table_schema = 'raw'"
    assert query(icu_env, "dbt", raw_tables)[0][0] == 0


def test_a_bare_dbt_run_stops_at_its_first_hook(icu_env, monkeypatch, tmp_path):
    for name, value in icu_env.items():
        monkeypatch.setenv(name, value)
    done = run_dbt(
        ["run", "--target", "postgres", "--select", "stg_tracking_plan__properties"],
        None,
        target_path=tmp_path / "target",
    )
    assert done.returncode != 0
    assert REASON in done.stdout, done.stdout[-3000:]
    assert "OK created" not in done.stdout


def test_the_nightly_refuses_it_as_bad_input(icu_env, tmp_path):
    """`lawn nightly --target postgres` stops at its validate step with the same line, exit 2
    (a probe, 2026-12-07: exit 1, the line prefixed with the class name
    `PostgresCollationError:`), and lands nothing."""
    from pathlib import Path

    raw = Path(__file__).parent / "fixtures" / "probe_metrics"
    result = CliRunner().invoke(
        app,
        ["nightly", "--target", "postgres", "--dev", "--raw-dir", str(raw),
         "--report-dir", str(tmp_path / "r"), "--export-dir", str(tmp_path / "e"),
         "--model-store", str(tmp_path / "m")],
        env=icu_env,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert REASON in result.output and "PostgresCollationError" not in result.output, result.output
    assert "Traceback" not in result.output
    raw_tables = "select count(*) from information_schema.tables where table_schema = 'raw'"
    assert query(icu_env, "dbt", raw_tables)[0][0] == 0
