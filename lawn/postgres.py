"""lawn on PostgreSQL: connection settings, raw landing and the identity key.

The raw-file gate and reader stay one (`lawn.raw_loader` + `lawn.validate_raw`, DuckDB): the
files are gated and read into an in-memory DuckDB exactly as for the DuckDB warehouse, then
the same text rows are copied (``COPY ... FROM STDIN``, CSV) into PostgreSQL's ``raw`` schema
as the ``loader`` role, all tables in one transaction (all or nothing, as on DuckDB).

Connections come from ``LAWN_PG_*`` variables (``scripts/postgres_ci.sh`` writes them for a
local server): ``LAWN_PG_HOST``, ``LAWN_PG_PORT``, ``LAWN_PG_DATABASE`` and per login
``LAWN_PG_USER`` / ``LAWN_PG_PASSWORD`` (dbt, the transformer) or
``LAWN_PG_<LOGIN>_USER`` / ``LAWN_PG_<LOGIN>_PASSWORD`` (loader, analyst, pii_reader, vendor).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lawn.contract import RAW_TABLES
from lawn.identity_key import IdentityKey, pads
from lawn.landing import landing_table
from lawn.raw_loader import LoadReport

LOGINS = ("dbt", "loader", "analyst", "pii_reader", "vendor")
# the group role each login acts as (`set role`): objects it creates belong to the role
LOGIN_ROLES = {"dbt": "transformer", "loader": "loader"}


class PostgresConfigError(ValueError):
    """Missing or unusable connection settings (one line; exit 2)."""


class PostgresError(RuntimeError):
    """The server refused or failed (one line naming server and login; exit 1)."""


@dataclass(frozen=True)
class PgLogin:
    host: str
    port: int
    database: str
    user: str
    password: str

    def connect(self, connect_timeout: int = 5):
        """A psycopg2 connection; PostgresError (one line) when the server cannot be reached."""
        import psycopg2

        try:
            return psycopg2.connect(
                host=self.host,
                port=self.port,
                dbname=self.database,
                user=self.user,
                password=self.password,
                connect_timeout=connect_timeout,
                application_name="lawn",
            )
        except psycopg2.Error as exc:
            raise PostgresError(
                f"postgres {self.host}:{self.port}/{self.database}: cannot connect as {self.user} "
                f"({_first_line(exc)})"
            ) from None


def pg_login(login: str = "dbt", env: Mapping[str, str] | None = None) -> PgLogin:
    """The connection settings of one login from ``LAWN_PG_*`` variables."""
    env = os.environ if env is None else env
    if login not in LOGINS:
        raise PostgresConfigError(f"unknown login {login!r} (one of {', '.join(LOGINS)})")
    prefix = "LAWN_PG_" if login == "dbt" else f"LAWN_PG_{login.upper()}_"
    user = env.get(prefix + "USER", "lawn_dbt" if login == "dbt" else f"lawn_{login}")
    password = env.get(prefix + "PASSWORD")
    if password is None:
        raise PostgresConfigError(
            f"{prefix}PASSWORD is not set (source the env file scripts/postgres_ci.sh prints)"
        )
    port_text = env.get("LAWN_PG_PORT", "5432")
    if not port_text.isdigit():
        raise PostgresConfigError(f"LAWN_PG_PORT={port_text!r} is not a port number")
    return PgLogin(
        host=env.get("LAWN_PG_HOST", "127.0.0.1"),
        port=int(port_text),
        database=env.get("LAWN_PG_DATABASE", "lawn"),
        user=user,
        password=password,
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_tables(
    source: duckdb.DuckDBPyConnection, tables: list[str], target, schema: str = "raw", role: str = "loader"
) -> dict[str, int]:
    """Copy ``<schema>.<table>`` (text columns) from DuckDB ``source`` into the PostgreSQL
    connection ``target`` as ``role``, replacing each table's rows (the table is recreated only
    when its columns changed), in one transaction. NULL and
    the empty string stay apart (CSV: unquoted empty is NULL, ``""`` is ''). Returns rows per table."""
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="lawn-pg-copy-") as tmp, target.cursor() as cursor:
        try:
            cursor.execute(f"set local role {_ident(role)}")
            for table in tables:
                columns = [row[0] for row in source.execute(f"describe {schema}.{table}").fetchall()]
                path = Path(tmp) / f"{table}.csv"
                literal = "'" + str(path).replace("'", "''") + "'"
                source.execute(
                    f"copy {schema}.{table} to {literal} (format csv, header false, quote '\"', escape '\"')"
                )
                relation = f"{_ident(schema)}.{_ident(table)}"
                cursor.execute(
                    "select column_name from information_schema.columns where table_schema = %s"
                    " and table_name = %s order by ordinal_position",
                    (schema, table),
                )
                if [row[0] for row in cursor.fetchall()] == columns:
                    # staging views depend on it (PostgreSQL binds views): empty it, keep it
                    cursor.execute(f"truncate table {relation}")
                else:
                    cursor.execute(f"drop table if exists {relation} cascade")
                    # varchar, as DuckDB lands them (contracts say varchar; PostgreSQL tells
                    # text apart)
                    column_list = ", ".join(f"{_ident(c)} varchar" for c in columns)
                    cursor.execute(f"create table {relation} ({column_list})")
                with open(path, encoding="utf-8") as handle:
                    cursor.copy_expert(f"copy {relation} from stdin with (format csv)", handle)
                counts[table] = cursor.rowcount
                # fresh statistics: the planner must not plan the staging views on an empty table
                cursor.execute(f"analyze {relation}")
            target.commit()
        except BaseException:
            target.rollback()
            raise
    return counts


def land_raw_postgres(raw_dir: Path, login: PgLogin, writer_lock: str | None = None) -> LoadReport:
    """Gate ``raw_dir`` exactly as the DuckDB load does, then land the same text rows into
    PostgreSQL's ``raw`` schema as ``loader`` (all tables or none). A file the gate refuses
    is in the report's errors (bad input); a server that fails raises PostgresError.
    ``writer_lock`` (the command's name): take the warehouse's writer lock after the gate,
    for the copy (WarehouseError when another writer holds it); None when the caller holds it."""
    import contextlib

    from lawn.validate_raw import land_and_check
    from lawn.warehouse_io import postgres_writer_lock

    with duckdb.connect() as staging:
        report = land_and_check(raw_dir, staging)
        if report.errors:
            return report
        lock = postgres_writer_lock(login, writer_lock) if writer_lock else contextlib.nullcontext()
        with lock:
            counts = _copy_checked(staging, login)
    for landed in report.tables:
        if counts.get(landed.table.name) != landed.rows:
            raise PostgresError(
                f"raw.{landed.table.name}: {counts.get(landed.table.name)} rows copied, {landed.rows} read"
            )
    return report


def _copy_checked(staging: duckdb.DuckDBPyConnection, login: PgLogin) -> dict[str, int]:
    """The collation check, then the copy of the gated raw tables (one transaction)."""
    import psycopg2

    connection = login.connect()
    try:
        # after the gate (a broken file is named before any connection), before the copy
        if problem := collation_problem(login, connection):
            raise PostgresCollationError(problem)
        return copy_tables(staging, list(RAW_TABLES), connection)
    except psycopg2.Error as exc:
        raise PostgresError(f"postgres raw landing failed, nothing landed: {_first_line(exc)}") from None
    finally:
        connection.close()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def install_key_postgres(login: PgLogin, key: IdentityKey) -> None:
    """``lawn.identity_key.install_key`` for PostgreSQL: the padded keys into
    ``ops.identity_hash_key`` (created by the transformer, readable by no other role)."""
    inner, outer = pads(key.secret)
    connection = login.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"set local role {LOGIN_ROLES['dbt']}")
            cursor.execute(landing_table("ops.identity_hash_key").postgres_ddl())
            cursor.execute("select key_id from ops.identity_hash_key")
            if [row[0] for row in cursor.fetchall()] != [key.key_id]:
                cursor.execute("delete from ops.identity_hash_key")
                cursor.execute(
                    landing_table("ops.identity_hash_key").insert_values_sql().replace("?", "%s"),
                    (
                        key.key_id,
                        inner.hex(),
                        outer.hex(),
                        key.origin,
                        dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    ),
                )
        connection.commit()
    finally:
        connection.close()


# true when the database sorts text byte by byte (C, POSIX, C.UTF-8); the same test as the
# dbt hook macros/portability/require_bytewise_collation.sql, which guards a bare dbt run
BYTEWISE_ORDER_SQL = "select ('B' < 'a') and ('f' < 'é') and ('a' < 'b')"


class PostgresCollationError(PostgresError):
    """The database does not sort text byte by byte (bad input: another database is needed)."""


def collation_problem(login: PgLogin, connection=None) -> str:
    """'' when ``login``'s database sorts text byte by byte, as lawn's tie-breaks need (they
    are bytewise on DuckDB and Spark), else the problem in one line. Asks over ``connection``
    when given (left open), else over a connection of its own."""
    own = connection is None
    connection = login.connect() if own else connection
    try:
        with connection.cursor() as cursor:
            cursor.execute(BYTEWISE_ORDER_SQL)
            (bytewise,) = cursor.fetchone()
    finally:
        if own:
            connection.close()
    if bytewise:
        return ""
    return (
        f"postgres {login.host}:{login.port}/{login.database} does not sort text byte by byte (its "
        "collation puts 'a' before 'B'), so ties would be broken otherwise than on DuckDB: use a "
        "database created with LOCALE 'C' (CREATE DATABASE ... TEMPLATE template0 LOCALE 'C'; "
        "docs/postgres.md)"
    )


def reachable(login: PgLogin) -> str:
    """'' when a connection as ``login`` works, else the reason in one line."""
    try:
        login.connect(connect_timeout=3).close()
    except PostgresError as exc:
        return str(exc)
    return ""
