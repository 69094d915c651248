"""`lawn postgres land|build`: the DuckDB commands `lawn load` / `lawn build` on the
PostgreSQL target (docs/postgres.md). Connection from LAWN_PG_* variables."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import (
    EXIT_FAILED,
    DbtVarsOption,
    RawDirOption,
    dbt_vars_option,
    err,
    fail,
    guarded,
    out,
    print_landing_report,
)
from lawn.paths import DEMO_RAW_DIR

postgres_app = typer.Typer(
    help="Run lawn against PostgreSQL (dbt target `postgres`; LAWN_PG_* variables).", no_args_is_help=True
)


def _check_collation(login) -> None:
    """Bad input (exit 2) before dbt runs: a database that does not sort bytewise."""
    from lawn.postgres import PostgresError, collation_problem

    try:
        problem = collation_problem(login)
    except PostgresError as exc:
        fail(str(exc), EXIT_FAILED)
    if problem:
        fail(problem)


def _land(raw_dir: Path, writer_lock: str | None = None) -> None:
    from lawn.postgres import (
        PostgresCollationError,
        PostgresConfigError,
        PostgresError,
        land_raw_postgres,
        pg_login,
    )

    try:
        login = pg_login("loader")
    except PostgresConfigError as exc:
        fail(str(exc))
    try:
        with err.status(f"loading raw files from {raw_dir} into postgres {login.host}:{login.port}/raw"):
            report = land_raw_postgres(raw_dir, login, writer_lock)
    except PostgresCollationError as exc:
        fail(str(exc))
    except PostgresError as exc:
        fail(str(exc), EXIT_FAILED)
    print_landing_report(report)


@postgres_app.command("land")
@guarded
def land(raw_dir: RawDirOption = DEMO_RAW_DIR) -> None:
    """Gate the raw files (as `lawn load` does) and land them in PostgreSQL's raw schema.
    One writer at a time: refused (exit 1) while another lawn writer holds the warehouse
    (the lock `lawn nightly --target postgres` holds)."""
    _land(raw_dir, writer_lock="lawn postgres land")


@postgres_app.command("build")
@guarded
def build(
    raw_dir: RawDirOption = DEMO_RAW_DIR,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models from scratch.")] = False,
    select: Annotated[
        list[str] | None, typer.Option("--select", "-s", help="dbt selection (default: everything).")
    ] = None,
    land: Annotated[bool, typer.Option(help="Land the raw files first (--no-land reuses raw.*).")] = True,
    dbt_vars: DbtVarsOption = None,
) -> None:
    """Land the raw files, install the identity hash key, then `dbt build --target postgres`.
    One writer at a time: refused (exit 1) while another lawn writer holds the warehouse."""
    from lawn.dbt_runner import run_dbt
    from lawn.identity_key import resolve_key
    from lawn.postgres import PostgresConfigError, PostgresError, install_key_postgres, pg_login
    from lawn.warehouse_io import postgres_writer_lock

    try:
        login = pg_login("dbt")
    except PostgresConfigError as exc:
        fail(str(exc))
    overrides = dbt_vars_option(dbt_vars)
    # one writer at a time (a land beside a running nightly replaced raw.* under it): held for
    # the landing and the build, refused with one line (exit 1) while another writer holds it
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(postgres_writer_lock(login, "lawn postgres build"))
        except PostgresError as exc:  # the server cannot be reached
            fail(str(exc), EXIT_FAILED)
        if land:
            _land(raw_dir)  # checks the collation after the gate, before landing
        else:
            _check_collation(login)
        try:
            install_key_postgres(login, resolve_key(dev=True))
        except PostgresError as exc:
            fail(str(exc), EXIT_FAILED)
        # unit tests test the SQL's logic and run on DuckDB in CI; their hand-written fixtures
        # are typed for DuckDB (the data tests all run here)
        args = ["build", "--target", "postgres", "--exclude-resource-type", "unit_test"]
        args += ["--full-refresh"] if full_refresh else []
        code = run_dbt(args, None, capture=False, select=select or (), dbt_vars=overrides).returncode
    if code:
        raise typer.Exit(code=code)


ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


@postgres_app.command("grants-diff")
@guarded
def grants_diff(
    since: Annotated[
        str, typer.Option(help="The earlier time (YYYY-MM-DD[THH:MM:SS], UTC unless an offset is given).")
    ],
    until: Annotated[str | None, typer.Option(help="The later time (default: now, UTC).")] = None,
) -> None:
    """The grants in force at --until that were not at --since (granted) and the reverse
    (revoked), from audit.grant_log (lawn/reports/grants.py; docs/compliance.md); then the
    server's grants now against the log: a grant made or dropped by hand is listed and the
    command exits 1. For the quarterly review of data days START..AS_OF: --since START+1
    --until AS_OF+2."""
    import datetime as dt

    from lawn.postgres import PostgresConfigError, PostgresError, pg_login
    from lawn.reports import grants

    def parse(option: str, text: str) -> dt.datetime:
        # an offset is that instant in UTC (it was dropped: 10:00+01:00 read as 10:00 UTC);
        # Python's other ISO forms (20261201, 2026-W49-1) are not the documented one
        if not ISO_TIME.match(text.strip()):
            fail(f"--{option} {text!r}: not an ISO date or timestamp (YYYY-MM-DD[THH:MM[:SS]][+HH:MM|Z])")
        parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC)
        return parsed.replace(tzinfo=None)

    before = parse("since", since)
    after = parse("until", until) if until else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if after < before:
        fail(f"--until {after} is before --since {before}")
    try:
        connection = pg_login("dbt").connect()
    except PostgresConfigError as exc:
        fail(str(exc))
    except PostgresError as exc:
        fail(str(exc), EXIT_FAILED)
    try:
        log = grants.read_grant_log(connection)
        live = grants.live_grants(connection, grants.logged_schemas(log))
    except Exception as exc:  # psycopg2 errors: one line, no traceback
        fail(f"audit.grant_log cannot be read: {str(exc).strip().splitlines()[0]}", EXIT_FAILED)
    finally:
        connection.close()
    changes = grants.diff(log, before, after)
    for row in changes.itertuples(index=False):
        target = ".".join(part for part in (row.object_schema, row.object_name, row.object_column) if part)
        out.print(f"{row.change:<8} {row.privilege:<8} {row.object_type:<7} {target:<50} {row.grantee}",
                  highlight=False)  # fmt: skip
    out.print(
        f"{len(changes)} change(s) in the grants in force between {before} and {after}", highlight=False
    )
    # the server now against the log: a GRANT or REVOKE made by hand since the last build (a
    # probe found `grant select on pii.pii_users to analyst` reported nowhere)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    drifted = grants.drift(log, live, now)
    for row in drifted.itertuples(index=False):
        target = ".".join(part for part in (row.object_schema, row.object_name, row.object_column) if part)
        out.print(f"{row.change:<9} {row.privilege:<8} {row.object_type:<7} {target:<50} {row.grantee}",
                  highlight=False)  # fmt: skip
    if len(drifted):
        fail(
            f"{len(drifted)} grant(s) on the server differ from audit.grant_log (made or dropped by hand "
            "since the last build; the next build of an object resets its grants)",
            EXIT_FAILED,
        )
    out.print("the server's grants equal audit.grant_log's grants in force now", highlight=False)
