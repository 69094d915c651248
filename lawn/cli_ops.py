"""The operating commands: `lawn actions export|revert` and `lawn nightly`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import AsOfOption, as_of_day, err, fail, guarded, out
from lawn.paths import EXPORT_DIR, MODEL_STORE_DIR, REPORT_DIR, duckdb_path
from lawn.settings import ACTION_MAX_AGE_DAYS

actions_app = typer.Typer(help="Next-best actions: export and revert.", no_args_is_help=True)


@actions_app.command("export")
@guarded
def actions_export(
    run_id: Annotated[
        str, typer.Option("--run", help="Name of this export, used once (a folder under --out-dir).")
    ],
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
    out_dir: Annotated[Path, typer.Option(help="Where export folders go.")] = EXPORT_DIR,
    max_age_days: Annotated[
        int, typer.Option(help="Older decisions are stale and not sent.")
    ] = ACTION_MAX_AGE_DAYS,
    lock_wait: Annotated[float, typer.Option(help="Seconds to wait for another writer.")] = 0.0,
) -> None:
    """Export new actions and pending reversals (CSV + Parquet, pseudonymous ids only),
    exactly once: an export a killed run left half-done is completed first."""
    from lawn.actions import ActionError, check_max_age, check_run_id, export_actions
    from lawn.warehouse import writing

    db_path = db or duckdb_path()
    try:
        check_run_id(run_id)
        check_max_age(max_age_days)
    except ActionError as exc:
        fail(f"--run/--max-age-days: {exc}")
    with writing(db_path, f"lawn actions export --run {run_id}", lock_wait):
        try:
            result = export_actions(db_path, out_dir, run_id, max_age_days=max_age_days)
        except ActionError as exc:
            fail(str(exc))
    for done in result.completed:
        if done != result.run_id:
            out.print(f"completed the interrupted export {done}")
    out.print(f"{result.actions} actions, {result.reversals} reversals -> {result.csv_path}")


@actions_app.command("revert")
@guarded
def actions_revert(
    action_ids: Annotated[list[str] | None, typer.Argument(help="Action ids (act_...) to revert.")] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Revert every action this run exported.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the ledger).")] = "",
    by: Annotated[str | None, typer.Option(help="Who (default: the operating-system user).")] = None,
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
    lock_wait: Annotated[float, typer.Option(help="Seconds to wait for another writer.")] = 0.0,
) -> None:
    """Mark actions reverted; the next export carries the reversals. Nothing is deleted."""
    from lawn.actions import ActionError, revert
    from lawn.warehouse import writing

    db_path = db or duckdb_path()
    with writing(db_path, "lawn actions revert", lock_wait):
        try:
            reverted = revert(db_path, action_ids, run_id, by, reason)
        except ActionError as exc:
            fail(str(exc))
    out.print(f"reverted {len(reverted)} action(s); the next export carries the reversals")
    for action_id in reverted:
        out.print(f"  {action_id}")


LIVE_FOLDERS = {"model_store": MODEL_STORE_DIR, "export_dir": EXPORT_DIR, "report_dir": REPORT_DIR}


def check_replay_folders(**folders: Path) -> None:
    """A replay (--as-of) writes none of the live run's folders: its report would overwrite the
    live one and join its archive, a live model trained on later data would score the past, and
    its actions would reach the live destination (exit 2, naming the options to give)."""
    live = [
        f"--{name.replace('_', '-')} ({LIVE_FOLDERS[name]})"
        for name, folder in folders.items()
        if folder.resolve() == LIVE_FOLDERS[name].resolve()
    ]
    if live:
        fail(
            f"--as-of replays a past day into the live folders {', '.join(live)}: give the replay "
            "its own (its report would replace the live one, a live model trained on later data "
            "would score the past, its actions would be sent; docs/as_of.md)"
        )


@guarded
def nightly(
    db: Annotated[
        Path | None, typer.Option(help="The warehouse (default: LAWN_DUCKDB_PATH or ./lawn.duckdb).")
    ] = None,
    raw_dir: Annotated[
        Path | None,
        typer.Option(help="Your raw files (CSV, Parquet or JSON Lines); default: the demo in data/raw."),
    ] = None,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models from scratch.")] = False,
    model_store: Annotated[Path, typer.Option(help="Churn model versions and live.json.")] = MODEL_STORE_DIR,
    export_dir: Annotated[Path, typer.Option(help="Where action exports go.")] = EXPORT_DIR,
    report_dir: Annotated[Path, typer.Option(help="Where report.html / report.md go.")] = REPORT_DIR,
    fail_on_slo_breach: Annotated[
        bool, typer.Option(help="Exit 3 when an SLO of severity error breaches.")
    ] = True,
    train_if_missing: Annotated[bool, typer.Option(help="Train a model when none is live.")] = True,
    shadow: Annotated[
        str | None, typer.Option(help="Also score and monitor this candidate version (drives nothing).")
    ] = None,
    action_max_age_days: Annotated[
        int, typer.Option(help="Older decisions are not exported.")
    ] = ACTION_MAX_AGE_DAYS,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="No LAWN_IDENTITY_HASH_KEY(_FILE)? Use this checkout's local key (never in production).",
        ),
    ] = False,
    lock_wait: Annotated[
        float, typer.Option(help="Seconds to wait while another writer holds the warehouse.")
    ] = 0.0,
    as_of: AsOfOption = None,
    target: Annotated[
        str,
        typer.Option(help="duckdb (the --db file) or postgres (LAWN_PG_* variables; docs/postgres.md)."),
    ] = "duckdb",
) -> None:
    """The scheduled job: validate -> dbt build -> retention -> score -> bandit -> actions -> SLO
    checks -> report.

    Needs the identity hash key (LAWN_IDENTITY_HASH_KEY or LAWN_IDENTITY_HASH_KEY_FILE; --dev
    for a local try). With --as-of (a replay) give --model-store, --export-dir and --report-dir
    of its own. Exit codes: 0 success, 1 a step failed (or another writer holds the
    warehouse, or its DuckDB file is damaged), 2 bad input (no key, a --db in a missing folder,
    read-only, or a file that is not a DuckDB database), 3 an SLO of severity error breached,
    130 interrupted (Ctrl-C)."""
    from lawn.actions import ActionError, check_max_age
    from lawn.nightly import NightlyConfig, run_nightly

    day = as_of_day(as_of)
    if day is not None:
        check_replay_folders(model_store=model_store, export_dir=export_dir, report_dir=report_dir)
    try:
        check_max_age(action_max_age_days)
    except ActionError as exc:
        fail(f"--action-max-age-days: {exc}")
    if raw_dir is not None and not raw_dir.is_dir():
        fail(f"--raw-dir {raw_dir}: no such folder")
    if target not in ("duckdb", "postgres"):
        fail(f"--target {target!r}: one of duckdb, postgres")
    if target == "postgres" and db is not None:  # it was ignored without a word
        fail("--db names a DuckDB file; with --target postgres the warehouse comes from LAWN_PG_*")
    if shadow is not None:  # an unknown version failed the score step after the whole build
        from lawn.model_store import ModelStoreError, check_version, registry

        try:
            check_version(model_store, shadow)
            live = registry(model_store)["live"]
        except ModelStoreError as exc:
            fail(f"--shadow: {exc}")
        if shadow == live:  # every score written twice: the score step failed after the build
            fail(f"--shadow {shadow} is the live version: it already drives the scores")
    login = None
    if target == "postgres":
        from lawn.postgres import PostgresConfigError, pg_login

        try:
            login = pg_login("dbt")
            pg_login("loader")  # the validate step lands the raw files as the loader
        except PostgresConfigError as exc:
            fail(f"--target postgres: {exc}")
    config = NightlyConfig(
        target=target,
        pg_login=login,
        db_path=db or duckdb_path(),
        model_store=model_store,
        export_dir=export_dir,
        report_dir=report_dir,
        raw_dir=raw_dir,
        full_refresh=full_refresh,
        fail_on_slo_breach=fail_on_slo_breach,
        train_if_missing=train_if_missing,
        shadow=shadow,
        action_max_age_days=action_max_age_days,
        dev=dev,
        lock_wait_seconds=lock_wait,
        as_of=day,
    )
    result = run_nightly(config, err)
    total = sum(step.seconds for step in result.steps)
    out.print(f"nightly {result.run_id}: exit {result.exit_code} after {total:.1f} s")
    skipped = [step.name for step in result.steps if step.status == "skipped"]
    if skipped:
        out.print(f"skipped on {target}: {', '.join(skipped)} (not ported yet; see docs/postgres.md)")
    if "report" in skipped:
        out.print("report: none (step report skipped)")
    elif result.report_html is None:
        out.print("report: none (the night stopped before its report step)")
    else:
        out.print(f"report: {result.report_html}")
    raise typer.Exit(code=result.exit_code)
