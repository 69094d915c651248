"""`lawn nightly`: validate the raw data -> dbt build -> score -> actions -> SLO checks ->
report, each step timed and logged. Safe to re-run: a second run on the same data rebuilds
the same marts, replaces the same scores and exports nothing new."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from rich.console import Console

from lawn.paths import DEMO_RAW_DIR, REPO_ROOT, dbt_command
from lawn.warehouse import LATEST_DAY_SQL

EXIT_STEP_FAILED = 1
EXIT_SLO_BREACH = 3


class StepFailed(RuntimeError):
    """A nightly step failed; the message says why."""


@dataclass
class NightlyConfig:
    db_path: Path
    model_store: Path
    export_dir: Path
    report_dir: Path
    raw_dir: Path | None = None
    full_refresh: bool = False
    fail_on_slo_breach: bool = True
    train_if_missing: bool = True
    shadow: str | None = None
    action_max_age_days: int = 3
    dbt_vars: dict = field(default_factory=dict)
    dbt_target_path: Path | None = None


@dataclass
class StepResult:
    name: str
    status: str
    seconds: float
    detail: str


@dataclass
class NightlyResult:
    run_id: str
    as_of_date: dt.date | None
    steps: list[StepResult]
    slo_breaches: list[dict]
    exit_code: int
    report_html: Path | None = None


def _dbt(config: NightlyConfig, args: list[str]) -> str:
    """Run dbt on the project; raise StepFailed with the failing nodes on a non-zero exit."""
    env = dict(os.environ, LAWN_DUCKDB_PATH=str(config.db_path))
    command = [*dbt_command(), *args, "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT)]
    if config.dbt_target_path is not None:
        command += ["--target-path", str(config.dbt_target_path), "--log-path", str(config.dbt_target_path)]
    if config.dbt_vars:
        command += ["--vars", json.dumps(config.dbt_vars)]
    result = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    summary = result.stdout[result.stdout.rfind("Done.") :].strip() or result.stdout.strip()[-300:]
    if result.returncode != 0:
        failures = [line for line in result.stdout.splitlines() if "FAIL" in line or "ERROR" in line]
        raise StepFailed(f"dbt {args[0]} failed: " + " | ".join(failures[-5:] or [summary[-500:]]))
    return summary.splitlines()[-1] if summary else "ok"


def step_validate(config: NightlyConfig, state: dict) -> str:
    from lawn.validate_raw import load_raw

    raw_dir = config.raw_dir or DEMO_RAW_DIR
    report = load_raw(raw_dir, config.db_path)
    if report.errors:
        raise StepFailed(f"raw files in {raw_dir}: " + "; ".join(report.errors[:3]))
    rows = sum(landed.rows for landed in report.tables)
    return f"raw files in {raw_dir} passed and landed ({rows:,} rows)"


# what reads the scores is built after scoring (step actions), not before it on stale scores
SCORED = ["fct_churn_scores+", "fct_model_monitoring+"]


def step_build(config: NightlyConfig, state: dict) -> str:
    """Every model, seed, snapshot and data test except what reads the scores; unit tests test
    code, not data: CI runs them."""
    refresh = ["--full-refresh"] if config.full_refresh else []
    return _dbt(config, ["build", "--exclude-resource-type", "unit_test", "--exclude", *SCORED, *refresh])


def step_score(config: NightlyConfig, state: dict) -> str:
    from lawn.churn_model import ModelError, live_version, score, train
    from lawn.model_monitoring import monitor

    try:
        try:
            version = live_version(config.model_store)
            trained = ""
        except ModelError:
            if not config.train_if_missing:
                raise
            version = train(config.db_path, config.model_store)["version"]
            trained = " (no live model: trained it)"
        scores = score(config.db_path, config.model_store, config.shadow, since_training=True)
        checks = monitor(config.db_path, config.model_store, config.shadow)
    except (ModelError, ValueError) as exc:
        raise StepFailed(str(exc)) from exc
    flagged = int(checks.loc[~checks["is_shadow"], "is_flagged"].sum())
    shadow = f" (+ shadow {config.shadow})" if config.shadow else ""
    live_rows = int((scores["model_version"] == version).sum())
    return f"model {version}{trained}{shadow}: {live_rows} account-days scored; {flagged} monitoring flags"


def step_actions(config: NightlyConfig, state: dict) -> str:
    from lawn.actions import export_actions

    _dbt(config, ["build", "--select", *SCORED])
    result = export_actions(
        config.db_path, config.export_dir, state["run_id"], max_age_days=config.action_max_age_days
    )
    # fct_action_exports and fct_growth_system_health are views: they show the new ledger rows
    return f"{result.actions} actions and {result.reversals} reversals exported to {result.csv_path}"


def step_slo(config: NightlyConfig, state: dict) -> str:
    with duckdb.connect(str(config.db_path), read_only=True) as con:
        rows = con.execute(
            """
            select slo_id, evaluated_date, metric_value, threshold, severity
            from marts.fct_slo_status
            where is_latest and status = 'breach'
            order by slo_id
            """
        ).fetchall()
    breaches = [
        dict(zip(["slo_id", "evaluated_date", "metric_value", "threshold", "severity"], row, strict=True))
        for row in rows
    ]
    state["slo_breaches"] = breaches
    errors = [b for b in breaches if b["severity"] == "error"]
    if not breaches:
        return "every SLO passes (or has too little data)"
    return f"{len(breaches)} SLO breach(es), {len(errors)} of severity error: " + ", ".join(
        b["slo_id"] for b in breaches
    )


def step_report(config: NightlyConfig, state: dict) -> str:
    from lawn.report import write_report

    html, markdown = write_report(config.db_path, config.report_dir, state)
    state["report_html"] = html
    return f"{html} and {markdown}"


STEPS: list[tuple[str, Callable[[NightlyConfig, dict], str]]] = [
    ("validate", step_validate),
    ("build", step_build),
    ("score", step_score),
    ("actions", step_actions),
    ("slo", step_slo),
    ("report", step_report),
]


def _as_of(db_path: Path) -> dt.date | None:
    try:
        with duckdb.connect(str(db_path), read_only=True) as con:
            return con.execute(LATEST_DAY_SQL).fetchall()[0][0]
    except duckdb.Error:
        return None


def _record_run(config: NightlyConfig, result: NightlyResult, started: dt.datetime) -> None:
    failed = next((step.name for step in result.steps if step.status == "failed"), None)
    status = "failed" if failed else ("slo_breach" if result.exit_code == EXIT_SLO_BREACH else "success")
    if not config.db_path.exists():
        return  # nothing was built: the run log on disk says why
    try:
        with duckdb.connect(str(config.db_path)) as con:
            con.execute(  # ops.nightly_runs exists once a build has run (create_landing_tables)
                "insert into ops.nightly_runs (run_id, as_of_date, started_at, finished_at, status, "
                "failed_step, slo_breaches) values (?, ?, ?, ?, ?, ?, ?)",
                [result.run_id, result.as_of_date, started, _now(), status, failed,
                 sum(b["severity"] == "error" for b in result.slo_breaches)],
            )  # fmt: skip
    except duckdb.CatalogException:
        pass  # the build never created ops (it failed first): the run log on disk still says why


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def run_nightly(config: NightlyConfig, console: Console | None = None) -> NightlyResult:
    """Run every step in order; stop at the first failure. Exit code 0, 1 (a step failed) or
    3 (an SLO of severity error breaches and ``fail_on_slo_breach``)."""
    console = console or Console(stderr=True)
    started = _now()
    state: dict = {"run_id": f"{started:%Y%m%dT%H%M%S}Z", "steps": [], "slo_breaches": []}
    steps: list[StepResult] = state["steps"]
    for index, (name, function) in enumerate(STEPS, start=1):
        clock = time.perf_counter()
        with console.status(f"[{index}/{len(STEPS)}] {name}"):
            try:
                detail, status = function(config, state), "ok"
            except StepFailed as exc:
                detail, status = str(exc), "failed"
            except Exception as exc:  # any failure stops the run and is recorded, not raised
                detail, status = f"{type(exc).__name__}: {exc}", "failed"
        steps.append(StepResult(name, status, time.perf_counter() - clock, detail))
        colour = "green" if status == "ok" else "bold red"
        console.print(
            f"[{index}/{len(STEPS)}] {name:<9} [{colour}]{status}[/] {steps[-1].seconds:6.1f} s  {detail}",
            highlight=False,
            soft_wrap=True,
        )
        if status == "failed":
            break
    errors = [b for b in state["slo_breaches"] if b["severity"] == "error"]
    failed = any(step.status == "failed" for step in steps)
    exit_code = EXIT_STEP_FAILED if failed else EXIT_SLO_BREACH if errors and config.fail_on_slo_breach else 0
    as_of = _as_of(config.db_path)
    report = state.get("report_html")
    result = NightlyResult(state["run_id"], as_of, steps, state["slo_breaches"], exit_code, report)
    _record_run(config, result, started)
    log = config.report_dir / "runs" / f"{result.run_id}.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(
        json.dumps(
            {
                "run_id": result.run_id,
                "as_of_date": result.as_of_date,
                "exit_code": exit_code,
                "steps": [step.__dict__ for step in steps],
                "slo_breaches": state["slo_breaches"],
            },
            indent=2,
            default=str,
        )
    )
    return result
