"""The `lawn` command line: generate raw data, validate raw files, build the dbt project."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import AsOfOption, RawDirOption, as_of_day, err, fail, out
from lawn.cli_generate import generate
from lawn.paths import (
    DEMO_RAW_DIR,
    IDENTITY_WEIGHTS_ESTIMATE,
    SEGMENT_RAW_DIR,
    duckdb_path,
    unwritable_reason,
)
from lawn.settings import IDENTITY_MATCH_PRIOR

app = typer.Typer(
    help="lawn: a warehouse-native growth system on dbt.", no_args_is_help=True, add_completion=False
)
_fail = fail
app.command("generate")(generate)


def _print_errors(errors: list[str]) -> None:
    for line in errors[1:]:
        err.print(f"[bold red]error:[/] {line}", soft_wrap=True, highlight=False)
    _fail(errors[0])


@app.command("validate-raw")
def validate_raw(raw_dir: RawDirOption = DEMO_RAW_DIR) -> None:
    """Check the raw files exactly as `lawn load` reads them; a broken file stops with one line."""
    from lawn.validate_raw import validate_raw_dir

    warnings: list[str] = []
    with err.status(f"validating raw files in {raw_dir}"):
        errors = validate_raw_dir(raw_dir, warnings.append)
    if errors:
        _print_errors(errors)
    for warning in warnings:
        out.print(f"warning: {warning}", soft_wrap=True, markup=False, highlight=False)
    out.print(f"raw files in {raw_dir} passed validation")


def landed_line(landed) -> str:
    """One line per raw table: rows landed, from which file(s), or why nothing was landed."""
    if landed.mode == "unchanged":
        files = f"{len(landed.files)} file(s) landed before, unchanged"
        return f"raw.{landed.table.name:<20} {0:>10,} rows  ({files}; {landed.table_rows:,} rows kept)"
    if landed.mode == "append":
        names = ", ".join(delivery.name for delivery in landed.new_files)
        return f"raw.{landed.table.name:<20} {landed.rows:>10,} rows  (new: {names}; appended)"
    source = landed.path.name if landed.path else "absent: empty table"
    if len(landed.files) > 1:
        source = f"{len(landed.files)} files of {landed.table.name}/"
    extra = f"; ignored columns: {', '.join(landed.ignored_columns)}" if landed.ignored_columns else ""
    return f"raw.{landed.table.name:<20} {landed.rows:>10,} rows  ({source}{extra})"


def _land(raw_dir: Path) -> None:
    """Gate and land the raw files into the warehouse (the caller holds the writer lock)."""
    from lawn.validate_raw import load_raw

    db_path = duckdb_path()
    with err.status(f"loading raw files from {raw_dir} into {db_path}"):
        report = load_raw(
            raw_dir,
            db_path,
            notes=lambda line: err.print(f"note: {line}", soft_wrap=True, markup=False, highlight=False),
        )
    if report.errors:
        _print_errors(report.errors)
    for landed in report.tables:
        out.print(landed_line(landed), soft_wrap=True)
        for warning in landed.warnings:
            out.print(f"warning: {warning}", soft_wrap=True, markup=False, highlight=False)
    held = report.withheld
    if held is not None and (held.erased or held.redacted or held.retention):
        out.print(f"withheld from raw.raw_events: {held.erased:,} row(s) of erased persons, "
                  f"{held.retention:,} past the retention cutoff; {held.redacted:,} redacted")  # fmt: skip


DbOption = Annotated[
    Path | None,
    typer.Option(
        help="The warehouse file (default: LAWN_DUCKDB_PATH or ./lawn.duckdb), as `lawn nightly --db`."
    ),
]


def _use_db(db: Path | None) -> None:
    """--db: this command's warehouse, by the one variable every step reads (LAWN_DUCKDB_PATH),
    as an absolute path (dbt runs in the project folder)."""
    if db is not None:
        os.environ["LAWN_DUCKDB_PATH"] = str(db.expanduser().absolute())


@app.command()
def load(raw_dir: RawDirOption = DEMO_RAW_DIR, db: DbOption = None) -> None:
    """Check the raw files and land them in the warehouse's `raw` schema (all or nothing)."""
    from lawn.warehouse import WarehouseError, writing

    _use_db(db)
    try:
        with writing(duckdb_path(), "lawn load", must_exist=False):
            _land(raw_dir)
    except WarehouseError as exc:
        _fail(str(exc), exc.exit_code)


@app.command()
def build(
    raw_dir: RawDirOption = DEMO_RAW_DIR,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models from scratch.")] = False,
    as_of: AsOfOption = None,
    unit_tests: Annotated[
        bool,
        typer.Option(
            help="Run dbt's unit tests (they test the models' code on their own rows, not the data: "
            "the nightly and a replay skip them)."
        ),
    ] = True,
    db: DbOption = None,
) -> None:
    """Load the raw files (gate + land), install the identity hash key (LAWN_IDENTITY_HASH_KEY,
    else the checkout's local key .lawn/identity_hash.key), then `dbt build` (seeds, models,
    data tests, unit tests unless --no-unit-tests); with --as-of, as if run at the end of that day."""
    import time

    from lawn import rebuild_due
    from lawn.build_hints import late_delivery_hint
    from lawn.dbt_parse_ahead import parsing_meanwhile
    from lawn.dbt_runner import run_dbt
    from lawn.identity_key import HashKeyError, install_key, resolve_key
    from lawn.warehouse import WarehouseError, check_dbt_duckdb_settings, writing

    day = as_of_day(as_of)
    _use_db(db)
    try:  # before anything lands: dbt would stop at its first connection
        check_dbt_duckdb_settings(dict(os.environ))
    except WarehouseError as exc:
        _fail(str(exc), exc.exit_code)

    try:
        key = resolve_key(dev=True)
    except HashKeyError as exc:
        _fail(str(exc))
    if key.origin == "local-dev":
        err.print(
            "identity hash key: this checkout's local key (set LAWN_IDENTITY_HASH_KEY in production)",
            soft_wrap=True,
        )
    try:
        with writing(duckdb_path(), "lawn build", must_exist=False):
            with parsing_meanwhile(duckdb_path(), as_of=day):  # dbt parses while the files land
                _land(raw_dir)
            changed = install_key(duckdb_path(), key)
            if changed:
                err.print(f"note: {changed}", soft_wrap=True, highlight=False)
            owed = rebuild_due.reasons(duckdb_path())
            if owed and not full_refresh and day is None:  # a replay rebuilds everything anyway
                err.print(rebuild_due.announcement(owed), soft_wrap=True, markup=False, highlight=False)
                full_refresh = True
            # dbt never sees the key (lawn/dbt_runner.py); its output goes to the terminal
            refresh = ["--full-refresh"] if full_refresh else []
            units = [] if unit_tests else ["--exclude-resource-type", "unit_test"]
            args = ["build", *refresh, *units]
            started = time.time()
            result = run_dbt(args, duckdb_path(), as_of=day, capture=False, reuse_seed_tests=True)
            code, left_out = result.returncode, getattr(result, "seed_tests_left_out", 0)
            if code == 0 and owed and (full_refresh or day is not None):
                rebuild_due.clear(duckdb_path())
            hint = late_delivery_hint(started) if code and not full_refresh else None
            if hint:
                err.print(hint, soft_wrap=True, highlight=False)
            if left_out:
                err.print(
                    f"left out {left_out} data tests on the seeds: they passed under this "
                    "same project, vars and target (lawn/seed_tests.py); --full-refresh runs them",
                    soft_wrap=True,
                    highlight=False,
                )
    except WarehouseError as exc:
        _fail(str(exc), exc.exit_code)
    if code:
        raise typer.Exit(code=code)


@app.command()
def contract(
    check: Annotated[
        bool, typer.Option(help="Exit 1 if the page is out of date instead of writing it.")
    ] = False,
) -> None:
    """Write docs/bring_your_own_data.md (the input contract) from lawn/contract.py."""
    from lawn.contract_doc import CONTRACT_DOC, render_markdown

    text = render_markdown()
    if check:
        current = CONTRACT_DOC.read_text() if CONTRACT_DOC.exists() else ""
        if current != text:
            err.print(f"{CONTRACT_DOC} is out of date: run `lawn contract`")
            raise typer.Exit(code=1)
        out.print(f"{CONTRACT_DOC} matches the contract")
        return
    CONTRACT_DOC.write_text(text)
    out.print(f"wrote {CONTRACT_DOC}")


ingest_app = typer.Typer(
    help="Convert exports from other tools into raw files lawn loads.", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")


@ingest_app.command("segment")
def ingest_segment(
    export: Annotated[
        Path, typer.Argument(help="Segment / RudderStack export: JSON Lines or a JSON array (.gz ok).")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Raw folder to write raw_events.jsonl into.")
    ] = SEGMENT_RAW_DIR,
) -> None:
    """Map Segment-spec messages (track, identify, page, screen, group) onto the raw envelope."""
    from lawn.segment import SegmentInputError, convert_export

    try:
        target, rows, unreadable = convert_export(export, out_dir)
    except SegmentInputError as exc:
        _fail(str(exc))
    note = f" ({unreadable} unreadable line(s) kept, to be quarantined)" if unreadable else ""
    out.print(f"wrote {rows:,} raw events to {target}{note}", soft_wrap=True)
    out.print(f"next: lawn build --raw-dir {out_dir}", soft_wrap=True)


@app.command("identity-weights")
def identity_weights(
    db: Annotated[
        Path | None, typer.Option(help="The built warehouse (default: LAWN_DUCKDB_PATH or ./lawn.duckdb).")
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--out",
            help="CSV to write: comparison, level, m_probability, u_probability (the seed's "
            "columns but level_description).",
        ),
    ] = IDENTITY_WEIGHTS_ESTIMATE,
    prior: Annotated[
        float, typer.Option(help="Prior P(two user_ids of an account are one person); default: dbt var.")
    ] = IDENTITY_MATCH_PRIOR,
) -> None:
    """Re-estimate the identity matcher's m/u probabilities with splink (EM + random sampling).

    Writes a CSV to review against seeds/identity/identity_match_weights.csv; the build keeps
    using the seed until you copy values over.
    """
    import duckdb

    from lawn.cli_common import EXIT_FAILED
    from lawn.identity_weights import ProfilesBuildFailed, build_match_profiles, estimate_match_weights
    from lawn.warehouse import WarehouseError, writing

    db = db or duckdb_path()
    if not db.exists():
        _fail(f"{db}: no such database; run `lawn build` first")
    if not 0 < prior < 1:  # a probability of a match: 0 and 1 leave nothing to estimate
        _fail(f"--prior must be a probability strictly between 0 and 1, got {prior}")
    # before splink's minutes of work: a CSV that cannot be written failed at the end
    reason = "is a folder" if output.is_dir() else unwritable_reason(output.parent)
    if reason:
        _fail(f"--out {output}: cannot write the estimates there ({reason})")
    try:
        # the comparison mart is built on demand (the nightly leaves it out), under the lock
        with writing(db, "lawn identity-weights"), err.status("building pii_user_match_profiles"):
            build_match_profiles(db)
        with err.status("estimating match weights with splink"):
            estimates = estimate_match_weights(db, prior=prior)
    except WarehouseError as exc:
        _fail(str(exc), exc.exit_code)
    except ProfilesBuildFailed as exc:
        _fail(f"{db}: {exc}", EXIT_FAILED)
    except (ValueError, duckdb.Error) as exc:
        _fail(f"{db}: {str(exc).splitlines()[0]}")
    estimates.to_csv(output, index=False)
    for row in estimates.itertuples():
        out.print(f"{row.comparison:<18} {row.level:<18} m={row.m_probability:.4g} u={row.u_probability:.4g}")
    out.print(f"wrote {output}")


def _register_commands() -> None:
    from lawn import (
        cli_catalog,
        cli_model,
        cli_ops,
        cli_postgres,
        cli_privacy,
        cli_report,
        cli_spark,
        cli_stats,
        cli_uplift,
    )

    app.command("power")(cli_stats.power)
    app.command("readout")(cli_stats.readout)
    app.command("did")(cli_stats.did)
    app.add_typer(cli_model.model_app, name="model")
    app.add_typer(cli_uplift.uplift_app, name="uplift")
    app.add_typer(cli_ops.actions_app, name="actions")
    app.command("nightly")(cli_ops.nightly)
    app.command("report")(cli_report.report)
    app.command("catalog")(cli_catalog.catalog)
    app.add_typer(cli_privacy.retention_app, name="retention")
    app.add_typer(cli_privacy.privacy_app, name="privacy")
    app.add_typer(cli_postgres.postgres_app, name="postgres")
    app.add_typer(cli_spark.spark_app, name="spark")


_register_commands()


def main() -> None:
    """The `lawn` command. Bad input is handled by each command (one line, exit 2); this is the
    last guard for what no command foresaw: one line naming the error, exit 1, never a
    traceback (``LAWN_DEBUG=1`` lets it through, for a developer)."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("LAWN_DEBUG") == "1":
            raise
        detail = " ".join(str(exc).split())[:300] or "no message"
        print(
            f"error: lawn stopped on an unexpected {type(exc).__name__}: {detail}"
            " (LAWN_DEBUG=1 prints the traceback)",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
