"""`lawn nightly`: validate the raw data -> dbt build -> score -> bandit -> actions -> SLO checks ->
report, each step timed and logged. Safe to re-run: a second run on the same data rebuilds
the same marts, replaces the same scores and exports nothing new.

Hardening: the run refuses to start without an identity hash key (``--dev`` for the
checkout's local key), checks the warehouse up front (missing folder, read-only, damaged,
in use) and holds the writer lock for its whole length. Its record is written when it
starts (``status = running``) and after every step, so a killed run leaves one; the next
run marks it ``interrupted`` and completes any export it had staged (lawn/actions.py)."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from lawn.data_day import data_day_of
from lawn.faults import fault_point
from lawn.identity_key import resolve_key
from lawn.nightly_record import close_interrupted_runs, new_run_id, now_utc, upsert_run, write_json
from lawn.nightly_steps import (  # noqa: F401  (re-exported: lawn.nightly is where callers find them)
    STEPS,
    BadInput,
    NightlyConfig,
    StepFailed,
    StepResult,
    StepSkipped,
    build_args,
    compacts_on,
    run_bandit_step,
    run_scoring,
    step_actions,
    step_bandit,
    step_build,
    step_export,
    step_report,
    step_retention,
    step_score,
    step_slo,
    step_validate,
)
from lawn.warehouse import first_line, writing

EXIT_STEP_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_SLO_BREACH = 3


@dataclass
class NightlyResult:
    run_id: str
    as_of_date: dt.date | None
    steps: list[StepResult]
    slo_breaches: list[dict]
    exit_code: int
    report_html: Path | None = None


def run_nightly(config: NightlyConfig, console: Console | None = None) -> NightlyResult:
    """Run every step in order; stop at the first failure. Exit code 0, 1 (a step failed), 2
    (the validate step refused the input: BadInput) or 3 (an SLO of severity error breaches
    and ``fail_on_slo_breach``). Raises HashKeyError (no key) or WarehouseError (unusable
    warehouse, or another writer holds the lock) before any step runs."""
    console = console or Console(stderr=True)
    if config.hash_key is None:
        config.hash_key = resolve_key(config.dev)
    if config.target == "postgres":
        from lawn.warehouse_io import postgres_writer_lock

        lock = postgres_writer_lock(config.warehouse, "lawn nightly", config.lock_wait_seconds)
    else:
        lock = writing(config.db_path, "lawn nightly", config.lock_wait_seconds, must_exist=False)
    with lock as note:
        if note:
            console.print(f"note: {note}", highlight=False, soft_wrap=True)
        return _run_locked(config, console)


def _run_locked(config: NightlyConfig, console: Console) -> NightlyResult:
    started = now_utc()
    run_id = new_run_id(config, started)
    closed = close_interrupted_runs(config, run_id)
    if closed:
        console.print(
            f"note: earlier run(s) {', '.join(closed)} were killed: marked interrupted", highlight=False
        )
    state: dict = {"run_id": run_id, "steps": [], "slo_breaches": [], "parse_ahead": True}
    steps: list[StepResult] = state["steps"]
    log = config.report_dir / "runs" / f"{run_id}.json"
    record = {"run_id": run_id, "as_of_date": None, "started_at": started, "status": "running",
              "pid": os.getpid(), "db_path": config.where, "current_step": None, "exit_code": None,
              "steps": [], "slo_breaches": [], "closed_interrupted_runs": closed}  # fmt: skip
    write_json(log, record)
    upsert_run(config, record)
    bad_input = False
    for index, (name, function) in enumerate(STEPS, start=1):
        record["current_step"] = name
        write_json(log, record)
        fault_point(f"before:{name}")
        clock = time.perf_counter()
        with console.status(f"[{index}/{len(STEPS)}] {name}"):
            try:
                detail, status = function(config, state), "ok"
            except StepFailed as exc:
                detail, status = str(exc), "failed"
                bad_input = isinstance(exc, BadInput)
            except StepSkipped as exc:  # not on this target: said in one line, named in the summary
                detail, status = str(exc), "skipped"
            except Exception as exc:  # any failure stops the run and is recorded, not raised
                # lawn's own errors say what happened; another library's name says whose it is
                own = type(exc).__module__.startswith("lawn")
                said = first_line(exc) if own else f"{type(exc).__name__}: {first_line(exc)}"
                detail, status = said, "failed"
        steps.append(StepResult(name, status, time.perf_counter() - clock, detail))
        record.update(current_step=None, steps=[step.__dict__ for step in steps])
        write_json(log, record)
        colour = {"ok": "green", "skipped": "yellow"}.get(status, "bold red")
        console.print(
            f"[{index}/{len(STEPS)}] {name:<9} [{colour}]{status}[/] {steps[-1].seconds:6.1f} s  {detail}",
            highlight=False,
            soft_wrap=True,
        )
        if status == "failed":
            break
        fault_point(f"after:{name}")
    errors = [b for b in state["slo_breaches"] if b["severity"] == "error"]
    failed = next((step.name for step in steps if step.status == "failed"), None)
    exit_code = (
        (EXIT_BAD_INPUT if bad_input else EXIT_STEP_FAILED)
        if failed
        else EXIT_SLO_BREACH
        if errors and config.fail_on_slo_breach
        else 0
    )
    as_of = data_day_of(config.warehouse)
    result = NightlyResult(run_id, as_of, steps, state["slo_breaches"], exit_code, state.get("report_html"))
    status = "failed" if failed else ("slo_breach" if exit_code == EXIT_SLO_BREACH else "success")
    record.update(as_of_date=as_of, finished_at=now_utc(), status=status, failed_step=failed)
    record.update(exit_code=exit_code, slo_breaches=state["slo_breaches"], slo_breach_count=len(errors))
    record["target"] = config.target
    record["skipped_steps"] = [step.name for step in steps if step.status == "skipped"]
    upsert_run(config, record)  # ops.nightly_runs exists once a build has run (create_landing_tables)
    write_json(log, record)
    return result
