"""`lawn report --cadence daily|weekly|monthly|quarterly [--as-of YYYY-MM-DD] [--out DIR]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import err, fail, guarded, out
from lawn.paths import CADENCE_REPORT_DIR, DEFAULT_MANIFEST, MODEL_STORE_DIR, duckdb_path, unwritable_reason


def manifest_problem(path: Path) -> str | None:
    """Why ``path``, given as --manifest, is not a dbt manifest (None when it is one): a
    missing or foreign file given explicitly was ignored without a word."""
    import json

    try:
        parsed = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except ValueError:
        return "not a JSON file (give dbt's target/manifest.json)"
    if not isinstance(parsed, dict) or not isinstance(parsed.get("nodes"), dict):
        return "not a dbt manifest (no nodes)"
    return None


@guarded
def report(
    cadence: Annotated[str, typer.Option(help="daily, weekly, monthly or quarterly.")] = "daily",
    as_of: Annotated[
        str | None,
        typer.Option(help="The data day to report on (YYYY-MM-DD); default: the warehouse's data day."),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Reports go to OUT/<cadence>/<as-of>/report.html and report.md.")
    ] = CADENCE_REPORT_DIR,
    db: Annotated[
        Path | None, typer.Option(help="The warehouse (default: LAWN_DUCKDB_PATH or ./lawn.duckdb).")
    ] = None,
    model_store: Annotated[
        Path, typer.Option(help="Churn model versions (their model cards feed the monthly diff).")
    ] = MODEL_STORE_DIR,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="dbt's manifest.json (the quarterly retention check's column classes); "
            "default: the build's target/manifest.json when there is one."
        ),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            help="Quarterly: a data_dictionary.csv of `lawn catalog` to archive with the report "
            "(default: run the catalog now). Ignored when the day's report already archived one."
        ),
    ] = None,
    target: Annotated[
        str,
        typer.Option(help="duckdb (the --db file) or postgres (LAWN_PG_* variables; docs/postgres.md)."),
    ] = "duckdb",
) -> None:
    """Write a cadence report (HTML with embedded plots, Markdown with PNGs beside it). Every
    figure uses data on or before the as-of day, so `--as-of` of a past day reproduces the
    report that day's run wrote. Exit 2 on a bad --cadence, --as-of, --out, --db or --target."""
    import contextlib

    from lawn.reports.asof import ReportInputError, parse_as_of, parse_cadence
    from lawn.reports.run import write_cadence_report

    if target not in ("duckdb", "postgres"):
        fail(f"--target {target!r}: one of duckdb, postgres")
    source: contextlib.AbstractContextManager[Path] = contextlib.nullcontext(db or duckdb_path())
    if target == "postgres":
        from lawn.postgres import PostgresConfigError, pg_login
        from lawn.reports.mirror import mirrored

        if db is not None:
            fail("--db names a DuckDB file; with --target postgres the warehouse comes from LAWN_PG_*")
        try:
            source = mirrored(pg_login("dbt"))
        except PostgresConfigError as exc:
            fail(f"--target postgres: {exc}")
    try:
        cadence = parse_cadence(cadence)
        day = parse_as_of(as_of)
        if manifest is not None and (problem := manifest_problem(manifest)):
            fail(f"--manifest {manifest}: {problem}")
        reason = unwritable_reason(out_dir)
        if reason:  # it failed at the end with a bare FileNotFoundError / PermissionError (exit 1)
            fail(f"--out {out_dir}: cannot write reports there ({reason})")
        with source as db_path:
            html_path, md_path, kept = write_cadence_report(
                db_path, cadence, day, out_dir, model_store, manifest or DEFAULT_MANIFEST, catalog, target
            )
    except ReportInputError as exc:
        fail(str(exc))
    if kept is not None:
        err.print(f"note: the report archived for this day differed; it was kept in {kept}", highlight=False)
    out.print(f"{html_path}")
    out.print(f"{md_path}")
