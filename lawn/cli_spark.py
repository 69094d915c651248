"""`lawn spark land|build`: the DuckDB commands `lawn load` / `lawn build` on the Spark target
(docs/spark.md): dbt-spark's session method with local pyspark; LAWN_SPARK_DIR holds the
warehouse and its metastore."""

from __future__ import annotations

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

spark_app = typer.Typer(
    help="Run lawn on Spark (dbt target `spark`, local session; LAWN_SPARK_DIR).", no_args_is_help=True
)

# what builds on Spark so far (selectors.yml, docs/spark.md)
SPARK_SELECTOR = "spark"


def _land(raw_dir: Path, overrides: dict[str, object]) -> None:
    """Land through `dbt run-operation` with the build's vars: dbt keys its saved parse on
    them, so the `dbt build` that follows reuses this parse instead of parsing again."""
    from lawn.identity_key import resolve_key
    from lawn.spark import SparkError, land_raw_spark, spark_dir

    try:
        with err.status(f"loading raw files from {raw_dir} into Spark ({spark_dir()})"):
            report = land_raw_spark(raw_dir, resolve_key(dev=True), {"dbt_vars": overrides})
    except SparkError as exc:
        fail(str(exc), EXIT_FAILED)
    print_landing_report(report)


@spark_app.command("land")
@guarded
def land(raw_dir: RawDirOption = DEMO_RAW_DIR, dbt_vars: DbtVarsOption = None) -> None:
    """Gate the raw files (as `lawn load` does) and land them, with the identity hash key, in Spark.

    --vars: those of the `dbt build --target spark` that follows, so that it reuses the parse."""
    _land(raw_dir, dbt_vars_option(dbt_vars))


@spark_app.command("build")
@guarded
def build(
    raw_dir: RawDirOption = DEMO_RAW_DIR,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", "-s", help="dbt selection (default: selector `spark`, what builds there)."),
    ] = None,
    land: Annotated[bool, typer.Option(help="Land the raw files first (--no-land reuses raw.*).")] = True,
    dbt_vars: DbtVarsOption = None,
) -> None:
    """Land the raw files and the identity hash key, then `dbt build --target spark`."""
    from lawn.dbt_runner import in_process, run_dbt
    from lawn.spark import java_problem, spark_dir

    overrides = dbt_vars_option(dbt_vars)
    problem = java_problem()
    if problem:
        fail(f"spark: {problem}", EXIT_FAILED)
    # unit tests test the SQL's logic on DuckDB in CI (their fixtures are DuckDB-typed)
    args = ["build", "--target", "spark", "--exclude-resource-type", "unit_test"]
    if not select:
        args += ["--selector", SPARK_SELECTOR]
    # both dbt runs in this process: one Spark session (JVM) for the landing and the build
    with in_process():
        if land:
            _land(raw_dir, overrides)
        spark_dir()  # LAWN_SPARK_DIR made absolute for dbt
        code = run_dbt(args, None, capture=False, select=select or (), dbt_vars=overrides).returncode
    if code:
        raise typer.Exit(code=code)


@spark_app.command("export")
@guarded
def export(
    out_path: Annotated[Path, typer.Option("--out", help="DuckDB file to write (tables replaced).")],
    schema: Annotated[
        list[str] | None, typer.Option("--schema", help="Schema(s) to copy (default: marts).")
    ] = None,
) -> None:
    """Copy the Spark build's tables and views into a DuckDB file (through Parquet).

    Column types are Spark's (int where DuckDB has bigint, wider decimals);
    tests_py/test_spark.py compares the values with a DuckDB build."""
    from lawn.spark import SparkError, export_spark_schemas

    if not out_path.parent.is_dir():
        fail(f"--out {out_path}: the folder does not exist")
    try:
        with err.status(f"copying {', '.join(schema or ['marts'])} from Spark into {out_path}"):
            counts = export_spark_schemas(out_path, tuple(schema or ["marts"]))
    except SparkError as exc:
        fail(str(exc), EXIT_FAILED)
    for relation, rows in sorted(counts.items()):
        out.print(f"{relation:<45} {max(rows, 0):>10,} rows", soft_wrap=True)
