"""lawn on Spark: raw landing and the identity key for the dbt target ``spark`` (docs/spark.md).

The raw-file gate and reader stay one (``lawn.raw_loader`` + ``lawn.validate_raw``, DuckDB):
the files are gated and read into an in-memory DuckDB exactly as for the DuckDB warehouse,
and the same text rows are written to Parquet files in a private folder. One
``dbt run-operation spark_land_tables`` then copies them into Spark tables (``raw.*``, and
``ops.identity_hash_key``), so the Spark session settings live in one place: the ``spark``
output of profiles.yml. Spark has no multi-table transaction: each table is written under a
temporary name first and swapped in only when every table was written (nothing is
half-landed when a write fails).

The identity key's padded forms go through a Parquet file that is deleted afterwards; dbt
never sees the key in its arguments or logs (as on DuckDB and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lawn.contract import RAW_TABLES
from lawn.identity_key import IdentityKey, pads
from lawn.landing import landing_table
from lawn.paths import REPO_ROOT
from lawn.raw_loader import LoadReport

# logical landing type -> Spark SQL type (the dbt hook maps the same names through dbt's macros)
SPARK_TYPES = {
    "string": "string",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
    "double": "double",
    "bigint": "bigint",
}


class SparkError(RuntimeError):
    """Spark (or Java) failed or is missing (one line; exit 1)."""


@dataclass(frozen=True)
class LandTable:
    relation: str  # schema.name in Spark
    path: str  # a Parquet file
    columns: tuple[tuple[str, str], ...]  # (name, Spark type)

    def as_arg(self) -> dict[str, object]:
        return {"relation": self.relation, "path": self.path, "columns": [list(c) for c in self.columns]}


def spark_dir() -> Path:
    """Where the Spark warehouse and its metastore live (LAWN_SPARK_DIR, default spark/ in
    the checkout). Made absolute and put back into the environment, so that dbt (run in the
    checkout) and this process mean the same folder."""
    folder = Path(os.environ.get("LAWN_SPARK_DIR") or REPO_ROOT / "spark").resolve()
    os.environ["LAWN_SPARK_DIR"] = str(folder)
    return folder


def java_problem() -> str:
    """'' when a Java runtime and pyspark are there, else what is missing (one line)."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -r requirements-spark.lock)"
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return ""
    if shutil.which("java") is None:
        return "no Java runtime (apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
    return ""


def _key_file(folder: Path, key: IdentityKey) -> LandTable:
    table = landing_table("ops.identity_hash_key")
    inner, outer = pads(key.secret)
    row = {
        "key_id": key.key_id,
        "inner_pad_hex": inner.hex(),
        "outer_pad_hex": outer.hex(),
        "key_origin": key.origin,
        "installed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }
    path = folder / "identity_hash_key.parquet"
    with duckdb.connect() as con:
        con.execute("create table k (" + ", ".join(f"{c} varchar" for c in table.column_names) + ")")
        con.execute(
            f"insert into k values ({', '.join('?' for _ in table.column_names)})",
            [str(row[c]) for c in table.column_names],
        )
        con.execute(f"copy k to '{path}' (format parquet)")
    return LandTable(table.relation, str(path), tuple((n, SPARK_TYPES[k]) for n, k in table.columns))


def write_landing_files(raw_dir: Path, folder: Path, key: IdentityKey | None) -> tuple[LoadReport, list]:
    """Gate ``raw_dir`` as `lawn load` does and write every raw table (text columns) and, with
    ``key``, the identity key row as Parquet into ``folder``. Returns the gate's report (its
    errors: bad input, nothing written) and the tables to land."""
    tables: list[LandTable] = []
    from lawn.validate_raw import land_and_check

    with duckdb.connect() as staging:
        report = land_and_check(raw_dir, staging)
        if report.errors:
            return report, []
        for name in RAW_TABLES:
            columns = [row[0] for row in staging.execute(f"describe raw.{name}").fetchall()]
            path = folder / f"{name}.parquet"
            staging.execute(f"copy raw.{name} to '{path}' (format parquet)")
            tables.append(LandTable(f"raw.{name}", str(path), tuple((c, "string") for c in columns)))
    if key is not None:
        tables.append(_key_file(folder, key))
    return report, tables


def land_raw_spark(raw_dir: Path, key: IdentityKey | None, dbt_args: dict | None = None) -> LoadReport:
    """Gate ``raw_dir`` and land it (and the identity key) into the Spark target's tables.
    A file the gate refuses is in the report's errors (bad input); Spark failing raises
    SparkError naming the step."""
    from lawn.dbt_runner import run_dbt

    folder = Path(tempfile.mkdtemp(prefix="lawn-spark-land-"))
    try:
        os.chmod(folder, 0o700)
        report, tables = write_landing_files(raw_dir, folder, key)
        if report.errors:
            return report
        problem = java_problem()
        if problem:
            raise SparkError(f"spark: {problem}")
        spark_dir().mkdir(parents=True, exist_ok=True)
        args = json.dumps({"tables": [table.as_arg() for table in tables]})
        result = run_dbt(
            ["run-operation", "spark_land_tables", "--target", "spark", "--args", args],
            None,
            **(dbt_args or {}),
        )
        if result.returncode != 0:
            lines = [line for line in (result.stdout + result.stderr).splitlines() if "rror" in line] or (
                result.stdout + result.stderr
            ).strip().splitlines()[-1:]
            raise SparkError(f"spark raw landing failed, nothing landed: {lines[0].strip() if lines else ''}")
        counts = {}
        for line in result.stdout.splitlines():
            if "lawn-landed " in line:
                relation, rows = line.split("lawn-landed ", 1)[1].split()
                counts[relation] = int(rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for landed in report.tables:
        if counts.get(f"raw.{landed.table.name}") != landed.rows:
            raise SparkError(
                f"raw.{landed.table.name}: {counts.get(f'raw.{landed.table.name}')} rows in Spark, "
                f"{landed.rows} read"
            )
    return report


def export_spark_schemas(
    out_path: Path, schemas: tuple[str, ...] = ("marts",), dbt_args: dict | None = None
) -> dict[str, int]:
    """Copy every table and view of ``schemas`` from the Spark target into the DuckDB file
    ``out_path`` (same schema and table names, replaced when present), through Parquet
    (``dbt run-operation spark_export_relations``). Timestamps stay UTC wall-clock times.
    Returns rows per ``schema.name``; raises SparkError when Spark fails."""
    from lawn.dbt_runner import run_dbt

    problem = java_problem()
    if problem:
        raise SparkError(f"spark: {problem}")
    spark_dir()
    folder = Path(tempfile.mkdtemp(prefix="lawn-spark-export-"))
    try:
        args = json.dumps({"folder": str(folder), "schemas": list(schemas)})
        result = run_dbt(
            ["run-operation", "spark_export_relations", "--target", "spark", "--args", args],
            None,
            **(dbt_args or {}),
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            lines = [line for line in output if "rror" in line] or output[-1:]
            raise SparkError(f"spark export failed: {lines[0].strip() if lines else ''}")
        exported = [
            line.split("lawn-exported ", 1)[1].strip()
            for line in result.stdout.splitlines()
            if "lawn-exported " in line
        ]
        counts: dict[str, int] = {}
        with duckdb.connect(str(out_path)) as con:
            con.execute("set TimeZone = 'UTC'")
            for relation in exported:
                schema, name = relation.split(".", 1)
                files = sorted((folder / relation).glob("*.parquet"))
                con.execute(f"create schema if not exists {schema}")
                con.execute(f"drop table if exists {schema}.{name}")
                if not files:  # an empty relation: Spark writes no data file
                    counts[relation] = -1
                    continue
                listed = "[" + ", ".join(f"'{path}'" for path in files) + "]"
                con.execute(f"create table {schema}.{name} as select * from read_parquet({listed})")
                counts[relation] = con.execute(f"select count(*) from {schema}.{name}").fetchone()[0]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return counts
