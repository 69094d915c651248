"""The privacy commands: `lawn retention apply [--dry-run]` and `lawn privacy erase`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import EXIT_FAILED, err, fail, guarded, out, print_json
from lawn.paths import EXPORT_DIR, REPORT_DIR, duckdb_path

retention_app = typer.Typer(help="Retention per data class (seeds/governance).", no_args_is_help=True)
privacy_app = typer.Typer(help="Privacy requests: erase a person.", no_args_is_help=True)

DbOption = Annotated[
    Path | None, typer.Option(help="The warehouse (default: LAWN_DUCKDB_PATH or ./lawn.duckdb).")
]


def _reference(as_of: str | None) -> dt.datetime | None:
    if as_of is None:
        return None
    try:
        reference = dt.datetime.fromisoformat(as_of)
    except ValueError:
        fail(f"--as-of {as_of!r}: not an ISO date or timestamp (YYYY-MM-DD[THH:MM:SS][+HH:MM])")
    # ages are measured in UTC: a time with an offset is that instant in UTC (its local clock
    # time was read as UTC, two hours off for +02:00)
    if reference.tzinfo is not None:
        reference = reference.astimezone(dt.UTC)
    return reference.replace(tzinfo=None)


@retention_app.command("apply")
@guarded
def retention_apply(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be purged; change nothing.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            help=(
                "Measure ages from this time: UTC, or converted to UTC from its offset "
                "(default: var received_at_reference_time, else now)."
            )
        ),
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the audit rows as JSON.")] = False,
    lock_wait: Annotated[float, typer.Option(help="Seconds to wait for another writer.")] = 0.0,
) -> None:
    """Purge (delete or anonymise) what is older than each class's keep_days in raw landing,
    the incremental event tables, quarantine payloads, the identity snapshot, the score and
    action ledgers and the exported files; one ops.retention_audit row per table and policy."""
    from lawn.retention import RetentionError, apply_retention
    from lawn.warehouse import writing

    reference = _reference(as_of)
    db_path = db or duckdb_path()
    with writing(db_path, "lawn retention apply", lock_wait):
        try:
            rows = apply_retention(db_path, dry_run=dry_run, reference=reference)
        except RetentionError as exc:
            fail(str(exc))
    if as_json:
        print_json([row.__dict__ for row in rows])
        return
    verb = "would purge" if dry_run else "purged"
    for row in rows:
        out.print(
            f"{row.relation_name:<40} {row.retention_class:<18} {row.policy_action:<9} "
            f"before {row.cutoff_at:%Y-%m-%d %H:%M}  {verb} {row.rows_affected:>8,}",
            highlight=False,
        )
    out.print(f"retention run {rows[0].run_id if rows else '-'}: {sum(r.rows_affected for r in rows):,} "
              f"row(s)/file(s) {verb}{' (dry run: nothing changed)' if dry_run else ''}")  # fmt: skip


@privacy_app.command("erase")
@guarded
def privacy_erase(
    email: Annotated[str | None, typer.Option(help="The person's email (any of theirs).")] = None,
    user_id: Annotated[str | None, typer.Option(help="One of the person's user ids.")] = None,
    person_id: Annotated[
        str | None, typer.Option(help="The person id of the identity graph (per_...).")
    ] = None,
    db: DbOption = None,
    export_dir: Annotated[Path, typer.Option(help="Where action exports are.")] = EXPORT_DIR,
    report_dir: Annotated[Path, typer.Option(help="Where reports are.")] = REPORT_DIR,
    rebuild: Annotated[
        bool, typer.Option(help="Rebuild the derived tables (dbt build) right after erasing.")
    ] = True,
    lock_wait: Annotated[float, typer.Option(help="Seconds to wait for another writer.")] = 0.0,
) -> None:
    """Erase everything about one person (resolved through the identity graph) and record
    a tombstone (keyed hashes only) so a later load of the same raw data stays erased."""
    import time

    from lawn.dbt_runner import failure_lines, run_dbt
    from lawn.privacy import EMAIL_SHAPE, erase
    from lawn.privacy_maps import ErasureError
    from lawn.warehouse import writing

    given = [value for value in (email, user_id, person_id) if value is not None]
    if len(given) != 1:
        fail("give exactly one of --email, --user-id, --person-id")
    if not given[0].strip():
        fail("the identifier given is empty")
    if email is not None and not EMAIL_SHAPE.fullmatch(email.strip()):
        fail(f"--email {email!r}: not an email address (name@domain)")
    db_path = db or duckdb_path()
    clock = time.perf_counter()
    with writing(db_path, "lawn privacy erase", lock_wait):
        try:
            result = erase(db_path, email, user_id, person_id, output_dirs=(export_dir, report_dir))
        except ErasureError as exc:
            fail(str(exc))
        rows = ", ".join(f"{name} {count}" for name, count in {**result.rows_deleted}.items() if count)
        out.print(f"erasure {result.request_id}: {result.identifiers} identifier(s) tombstoned; "
                  f"deleted {rows or 'nothing'}; redacted {sum(result.rows_redacted.values())} mention(s) "
                  f"in others' events; {result.files_rewritten} file(s) rewritten or removed "
                  f"({result.seconds:.1f} s)", highlight=False)  # fmt: skip
        if result.compaction is not None:
            done = result.compaction
            sizes = f"{done.bytes_before / 1e6:.1f} MB -> {done.bytes_after / 1e6:.1f} MB"
            out.print(
                f"warehouse file rewritten, no free blocks left: {sizes} ({done.seconds:.1f} s)",
                highlight=False,
            )
        for warning in result.warnings:
            err.print(f"[yellow]warning:[/] {warning}", soft_wrap=True, highlight=False)
        if not rebuild:
            err.print("note: derived tables are recomputed by the next build (--rebuild does it now)")
            return
        with err.status("rebuilding the derived tables (dbt build)"):
            built = run_dbt(["build", "--exclude-resource-type", "unit_test"], db_path)
    if built.returncode != 0:
        failures = failure_lines(built.stdout)
        fail("erased, but the rebuild failed: " + " | ".join(failures[-3:]), EXIT_FAILED)
    out.print(f"rebuilt; erasure and rebuild took {time.perf_counter() - clock:.1f} s")
