"""What the PostgreSQL tests share (tests_py/test_postgres.py, test_nightly_postgres.py,
test_postgres_increment.py, test_components.py): the server's settings (conftest's `pg_env`
fixture: skip locally, fail in CI without a server), a query as one login, a `lawn postgres
build` with the test key and vars, and the row-for-row comparison of every marts table with a
DuckDB build of the same files."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from lawn.paths import REPO_ROOT
from lawn.postgres import pg_login, reachable
from tests_py.conftest import TEST_HASH_KEY, TEST_VARS

_spec = importlib.util.spec_from_file_location("compare_marts", REPO_ROOT / "scripts" / "compare_marts.py")
assert _spec is not None and _spec.loader is not None
compare_marts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_marts)


def env_file_settings() -> dict[str, str]:
    port = os.environ.get("LAWN_PG_PORT", "55433")
    base = Path(os.environ.get("LAWN_PG_DIR", f"/var/tmp/lawn-postgres-{port}"))
    path = base / "lawn-pg.env"
    if not path.exists():
        return {}
    settings = {}
    for line in path.read_text().splitlines():
        parts = shlex.split(line)
        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
            name, value = parts[1].split("=", 1)
            settings[name] = value
    return settings


def server_env() -> dict[str, str]:
    """LAWN_PG_* settings of a reachable server (skip locally, fail in CI when there is none):
    conftest's session fixture `pg_env`."""
    env = {**env_file_settings(), **{k: v for k, v in os.environ.items() if k.startswith("LAWN_PG_")}}
    problem = "no LAWN_PG_PASSWORD and no env file from scripts/postgres_ci.sh"
    if "LAWN_PG_PASSWORD" in env:
        login = pg_login("dbt", env)
        problem = reachable(login)
        if not problem:
            return env
        problem = f"{login.host}:{login.port}: {problem}"
    message = f"no PostgreSQL server for lawn ({problem}); run `bash scripts/postgres_ci.sh` as root"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {message}")
    pytest.skip(message)


def own_database_env(env: dict[str, str], suffix: str) -> dict[str, str]:
    """``env`` pointed at the database ``<LAWN_PG_DATABASE><suffix>`` that scripts/postgres_ci.sh
    makes for one test file (skip locally, fail in CI when it cannot be reached)."""
    own = {**env, "LAWN_PG_DATABASE": env.get("LAWN_PG_DATABASE", "lawn") + suffix}
    problem = reachable(pg_login("dbt", own))
    if problem:
        message = f"{problem}: run `bash scripts/postgres_ci.sh` again (it creates that database)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    return own


def connect(env: dict[str, str], login: str):
    return pg_login(login, env).connect()


def query(env: dict[str, str], login: str, sql: str, params: tuple = ()) -> list[tuple]:
    connection = connect(env, login)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def sort_key(row: tuple) -> tuple:
    return tuple(
        (value is None, round(value, 6) if isinstance(value, float) else "" if value is None else str(value))
        for value in row
    )


def plain(value: object) -> object:
    """A value as the comparison sees it: decimals as floats, and JSON object text as its
    canonical form. Accepted difference: the engines print the same JSON object with another
    key order and spacing (PostgreSQL's jsonb in json_without_keys, DuckDB's merge patch)."""
    import decimal

    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, str) and value.startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return (
            json.dumps(parsed, sort_keys=True, separators=(",", ":")) if isinstance(parsed, dict) else value
        )
    return value


def mart_differences(
    pg_env: dict[str, str], duckdb_path: Path, schema: str = "marts", only: list[str] | None = None
) -> tuple[list[str], int]:
    """One line per table of ``schema`` (every table, or the tables ``only`` names) that
    differs between the DuckDB file and PostgreSQL, and how many of them hold rows."""
    listing = f"select table_name from information_schema.tables where table_schema = '{schema}' order by 1"
    with duckdb.connect(str(duckdb_path), read_only=True) as duck:
        tables = [row[0] for row in duck.execute(listing).fetchall()]
        pg_tables = [row[0] for row in query(pg_env, "dbt", listing)]
        if only is not None:
            tables, pg_tables = sorted(only), sorted(set(only) & set(pg_tables))
        differences = [] if tables == pg_tables else [f"tables differ: {tables} vs {pg_tables}"]
        nonempty = 0
        for table in tables:
            columns = [
                row[0]
                for row in duck.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
            ]
            listed = ", ".join(columns)
            duck_rows = sorted(
                (
                    tuple(plain(v) for v in row)
                    for row in duck.execute(f"select {listed} from {schema}.{table}").fetchall()
                ),
                key=sort_key,
            )
            pg_rows = sorted(
                (
                    tuple(plain(v) for v in row)
                    for row in query(pg_env, "dbt", f"select {listed} from {schema}.{table}")
                ),
                key=sort_key,
            )
            nonempty += bool(duck_rows)
            if len(duck_rows) != len(pg_rows):
                differences.append(f"{table}: {len(duck_rows)} rows on DuckDB, {len(pg_rows)} on PostgreSQL")
                continue
            for duck_row, pg_row in zip(duck_rows, pg_rows, strict=True):
                differing = [
                    f"{name}={left!r} vs {right!r}"
                    for name, left, right in zip(columns, duck_row, pg_row, strict=True)
                    if not compare_marts._same(left, right, 1e-9)
                ]
                if differing:
                    differences.append(f"{table}: {'; '.join(differing[:4])}")
                    break
    return differences, nonempty


def drop_project_schemas(env: dict[str, str]) -> None:
    """Every schema the transformer owns (what dbt and lawn built there), not raw (the loader's)."""
    connection = pg_login("dbt", env).connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select nspname from pg_namespace where nspowner = 'transformer'::regrole"
                " and nspname not in ('public', 'raw')"
            )
            for (schema,) in cursor.fetchall():
                cursor.execute(f'drop schema "{schema}" cascade')
        connection.commit()
    finally:
        connection.close()


def lawn_run_env(env: dict[str, str], work: Path) -> dict[str, str]:
    """The environment of a `lawn postgres ...` run: the server settings ``env``, dbt's target
    and log folders under ``work``, and the test identity key (never a key file)."""
    run_env = {
        **os.environ,
        **env,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "LAWN_IDENTITY_HASH_KEY": TEST_HASH_KEY.secret.decode(),
    }
    run_env.pop("LAWN_IDENTITY_HASH_KEY_FILE", None)
    return run_env


def lawn_postgres_build(
    env: dict[str, str], raw_dir: Path, work: Path, *extra: str
) -> tuple[dict, dict, float]:
    """`lawn postgres build` of ``raw_dir`` (land + dbt build); its run_results, manifest and
    wall seconds."""
    run_env = lawn_run_env(env, work)
    command = [
        str(Path(sys.executable).with_name("lawn")),
        *("postgres", "build", "--raw-dir", str(raw_dir), "--vars", json.dumps(TEST_VARS), *extra),
    ]
    start = time.perf_counter()
    result = subprocess.run(command, env=run_env, cwd=REPO_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert result.returncode == 0, (
        f"{' '.join(extra) or 'increment'}:\n{(result.stdout + result.stderr)[-6000:]}"
    )
    target = work / "target"
    return (
        json.loads((target / "run_results.json").read_text()),
        json.loads((target / "manifest.json").read_text()),
        seconds,
    )
