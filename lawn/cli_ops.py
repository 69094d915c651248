"""The operating commands: `lawn actions export|revert` and `lawn nightly`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import err, fail, out
from lawn.paths import REPO_ROOT, duckdb_path

actions_app = typer.Typer(help="Next-best actions: export and revert.", no_args_is_help=True)
DEFAULT_EXPORT_DIR = REPO_ROOT / "data" / "exports" / "actions"
DEFAULT_REPORT_DIR = REPO_ROOT / "data" / "reports" / "nightly"
DEFAULT_STORE = REPO_ROOT / "data" / "models" / "churn"


@actions_app.command("export")
def actions_export(
    run_id: Annotated[str, typer.Option("--run", help="Name of this export (a folder under --out-dir).")],
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
    out_dir: Annotated[Path, typer.Option(help="Where export folders go.")] = DEFAULT_EXPORT_DIR,
    max_age_days: Annotated[int, typer.Option(help="Older decisions are stale and not sent.")] = 3,
) -> None:
    """Export new actions and pending reversals (CSV + Parquet, pseudonymous ids only)."""
    from lawn.actions import ActionError, export_actions

    try:
        result = export_actions(db or duckdb_path(), out_dir, run_id, max_age_days=max_age_days)
    except ActionError as exc:
        fail(str(exc))
    out.print(f"{result.actions} actions, {result.reversals} reversals -> {result.csv_path}")


@actions_app.command("revert")
def actions_revert(
    action_ids: Annotated[list[str] | None, typer.Argument(help="Action ids (act_...) to revert.")] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Revert every action this run exported.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the ledger).")] = "",
    by: Annotated[str | None, typer.Option(help="Who (default: the operating-system user).")] = None,
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
) -> None:
    """Mark actions reverted; the next export carries the reversals. Nothing is deleted."""
    from lawn.actions import ActionError, revert

    try:
        reverted = revert(db or duckdb_path(), action_ids, run_id, by, reason)
    except ActionError as exc:
        fail(str(exc))
    out.print(f"reverted {len(reverted)} action(s); the next export carries the reversals")
    for action_id in reverted:
        out.print(f"  {action_id}")


def nightly(
    db: Annotated[
        Path | None, typer.Option(help="The warehouse (default: LAWN_DUCKDB_PATH or ./lawn.duckdb).")
    ] = None,
    raw_dir: Annotated[
        Path | None,
        typer.Option(help="Your raw files (CSV, Parquet or JSON Lines); default: the demo in data/raw."),
    ] = None,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models from scratch.")] = False,
    model_store: Annotated[Path, typer.Option(help="Churn model versions and live.json.")] = DEFAULT_STORE,
    export_dir: Annotated[Path, typer.Option(help="Where action exports go.")] = DEFAULT_EXPORT_DIR,
    report_dir: Annotated[Path, typer.Option(help="Where report.html / report.md go.")] = DEFAULT_REPORT_DIR,
    fail_on_slo_breach: Annotated[
        bool, typer.Option(help="Exit 3 when an SLO of severity error breaches.")
    ] = True,
    train_if_missing: Annotated[bool, typer.Option(help="Train a model when none is live.")] = True,
    shadow: Annotated[
        str | None, typer.Option(help="Also score and monitor this candidate version (drives nothing).")
    ] = None,
    action_max_age_days: Annotated[int, typer.Option(help="Older decisions are not exported.")] = 3,
) -> None:
    """The scheduled job: validate -> dbt build -> score -> actions -> SLO checks -> report.

    Exit codes: 0 success, 1 a step failed, 3 an SLO of severity error breached."""
    from lawn.nightly import NightlyConfig, run_nightly

    config = NightlyConfig(
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
    )
    result = run_nightly(config, err)
    total = sum(step.seconds for step in result.steps)
    out.print(f"nightly {result.run_id}: exit {result.exit_code} after {total:.1f} s")
    out.print(f"report: {result.report_html}")
    raise typer.Exit(code=result.exit_code)
