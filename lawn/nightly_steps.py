"""The steps of `lawn nightly` (lawn/nightly.py runs them in order): each takes the run's
configuration and its shared state and returns one line saying what it did, or raises
StepFailed (BadInput: the input was refused, exit 2) or StepSkipped (not on this target). The
Dagster code location (lawn/orchestration) calls the same functions."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lawn import rebuild_due
from lawn.data_day import data_day_of
from lawn.dbt_parse_ahead import parsing_meanwhile
from lawn.dbt_runner import failure_lines, run_dbt
from lawn.identity_key import IdentityKey, install_key
from lawn.landing import nightly_selection
from lawn.paths import DEMO_RAW_DIR
from lawn.settings import ACTION_MAX_AGE_DAYS, RETENTION_COMPACT_WEEKDAY, WEEKDAYS
from lawn.warehouse_io import connect, describe


class StepFailed(RuntimeError):
    """A nightly step failed; the message says why."""


class BadInput(StepFailed):
    """The validate step refused the input (a raw file the gate refuses, the tracking plan, a
    PostgreSQL database with a language collation): the night stops there, exit 2, as
    `lawn load` and `lawn postgres land` exit on the same input."""


class StepSkipped(RuntimeError):
    """A step that does not run on this target (yet); the message says why, in one line."""


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
    uplift_store: Path | None = None  # None: "uplift" beside model_store
    action_max_age_days: int = ACTION_MAX_AGE_DAYS
    dbt_vars: dict = field(default_factory=dict)
    as_of: dt.date | None = None  # replay this day (docs/as_of.md); None: all data
    dbt_target_path: Path | None = None
    hash_key: IdentityKey | None = None  # None: from the environment (lawn/identity_key.py)
    dev: bool = False  # without a configured key, use the checkout's local development key
    lock_wait_seconds: float = 0.0
    target: str = "duckdb"  # or "postgres": the dbt target and the warehouse Python reads/writes
    pg_login: object | None = None  # postgres: lawn.postgres.PgLogin (None: from LAWN_PG_*)

    @property
    def warehouse(self) -> object:
        """What lawn.warehouse_io.connect opens: the DuckDB file, or the PostgreSQL login."""
        if self.target == "duckdb":
            return self.db_path
        if self.pg_login is None:
            from lawn.postgres import pg_login

            self.pg_login = pg_login("dbt")
        return self.pg_login

    @property
    def where(self) -> str:
        """The warehouse in words (run records, notes): the path or postgres://user@host:port/db."""
        return describe(self.warehouse)


@dataclass
class StepResult:
    name: str
    status: str
    seconds: float
    detail: str


def _plain(text: str) -> str:
    """dbt's log text without its terminal colour codes, on one line."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())


def _dbt(config: NightlyConfig, args: list[str]) -> str:
    """Run dbt on the project; raise StepFailed with the failing nodes on a non-zero exit.
    The identity hash key is installed in the warehouse first; dbt never sees the key."""
    if config.target == "postgres":
        from lawn.postgres import install_key_postgres

        if config.hash_key is not None:
            install_key_postgres(config.warehouse, config.hash_key)
        args, db_path = [*args, "--target", "postgres"], None
    else:
        if config.hash_key is not None:
            install_key(config.db_path, config.hash_key)
        db_path = config.db_path
    result = run_dbt(
        args,
        db_path,
        dbt_vars=config.dbt_vars,
        as_of=config.as_of,
        target_path=config.dbt_target_path,
        reuse_seed_tests=True,
    )
    summary = result.stdout[result.stdout.rfind("Done.") :].strip() or result.stdout.strip()[-300:]
    if result.returncode != 0:
        failures = failure_lines(result.stdout)
        if not failures:  # no node failed: dbt was stopped (Ctrl-C, a signal), say so plainly
            raise StepFailed(
                f"dbt {args[0]} stopped with exit code {result.returncode} before it finished "
                f"(interrupted?); no node failed: {_plain(summary)[-300:]}"
            )
        raise StepFailed(f"dbt {args[0]} failed: " + " | ".join(failures[-5:]))
    done = summary.splitlines()[-1] if summary else "ok"
    left_out = getattr(result, "seed_tests_left_out", 0)
    if left_out:
        return f"{done}; {left_out} data tests on unchanged seeds left out (lawn/seed_tests.py)"
    return done


def step_validate(config: NightlyConfig, state: dict) -> str:
    from lawn.validate_raw import load_raw

    raw_dir = config.raw_dir or DEMO_RAW_DIR
    notes: list[str] = []  # a table landed again in full although landed before: why
    postgres = config.target == "postgres"
    # the nightly's build step runs dbt as this step's parse does: dbt parses the project
    # while the files land (lawn/dbt_parse_ahead.py); a caller running dbt its own way (Dagster's
    # dbt assets) leaves state["parse_ahead"] unset
    parsing = contextlib.nullcontext()
    if state.get("parse_ahead"):
        parsing = parsing_meanwhile(
            None if postgres else config.db_path,
            args=["--target", "postgres"] if postgres else [],
            dbt_vars=config.dbt_vars,
            as_of=config.as_of,
            target_path=config.dbt_target_path,
        )
    with parsing:
        if postgres:  # the same gate, then COPY into raw as the loader role
            from lawn.postgres import PostgresCollationError, land_raw_postgres, pg_login

            try:
                report = land_raw_postgres(raw_dir, pg_login("loader"))
            except PostgresCollationError as exc:
                raise BadInput(str(exc)) from exc
        else:
            report = load_raw(raw_dir, config.db_path, notes=notes.append)
    if report.errors:
        raise BadInput(f"raw files in {raw_dir}: " + "; ".join(report.errors[:3]))
    rows = sum(landed.rows for landed in report.tables)
    kept = [f"raw.{landed.table.name}" for landed in report.tables if landed.mode == "unchanged"]
    unchanged = f"; unchanged, not landed again: {', '.join(kept)}" if kept else ""
    again = "".join(f"; {note}" for note in notes)
    warned = "".join(f"; warning: {line}" for landed in report.tables for line in landed.warnings)
    return f"raw files in {raw_dir} passed and landed ({rows:,} rows{unchanged}){again}{warned}"


def build_args(step: str, full_refresh: bool = False) -> list[str]:
    """The `dbt build` that follows nightly step ``step``, selected by lineage from the landing
    tables (lawn/landing.py): what is downstream of the tables this step wrote (``build``: of
    none yet), except what is downstream of a table a later step writes. So nothing is built
    on stale scores or a stale ledger, and no mart has to stay a view to see the ledger. The
    Dagster code location (lawn/orchestration) gives its dbt assets the same selections."""
    select, exclude = nightly_selection(step)
    args = ["build", "--exclude-resource-type", "unit_test"]
    args += ["--select", *select] if select else []
    args += ["--exclude", *exclude] if exclude else []
    return [*args, *(["--full-refresh"] if full_refresh and step == "build" else [])]


def _build_after(config: NightlyConfig, step: str) -> str:
    return _dbt(config, build_args(step, config.full_refresh))


def step_build(config: NightlyConfig, state: dict) -> str:
    """Every model, seed, snapshot and data test except what is downstream of the landing
    tables a later step writes (scores, the export ledger); unit tests test code, not data:
    CI runs them. With --full-refresh when the raw events were landed again in full since the
    last full build (lawn/rebuild_due.py), which it then clears."""
    owed = rebuild_due.reasons(config.db_path) if config.target == "duckdb" else []
    if not owed:
        return _build_after(config, "build")
    refresh = config.full_refresh or config.as_of is None
    done = _dbt(config, build_args("build", refresh))
    rebuild_due.clear(config.db_path)
    return f"{rebuild_due.announcement(owed).removeprefix('note: ')}; {done}" if refresh else done


def compacts_on(day: dt.date | None, weekday: str = RETENTION_COMPACT_WEEKDAY) -> bool:
    """Whether the nightly of data day ``day`` rewrites the warehouse file after a purge: on
    the configured weekday, or every night ("daily"); a warehouse without a data day: yes."""
    return weekday == "daily" or day is None or WEEKDAYS[day.weekday()] == weekday


def replay_reference(as_of: dt.date | None) -> dt.datetime | None:
    """What a replay of ``as_of`` measures ages from: the end of that day (UTC), when its night
    ran; None outside a replay."""
    return None if as_of is None else dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def step_retention(config: NightlyConfig, state: dict) -> str:
    """Retention per data class (seeds/governance; lawn/retention.py), audited in ops. The
    rows past their policy are deleted every night; the file is rewritten (so their bytes
    leave the DuckDB file's free blocks too) weekly, see ``compacts_on``."""
    from lawn.retention import FILES_RELATION, MANIFEST_FILE, RetentionError, apply_retention

    manifest = config.dbt_target_path / "manifest.json" if config.dbt_target_path else MANIFEST_FILE
    if config.target == "postgres":
        raise StepSkipped("retention is not ported to postgres yet (lawn/retention.py reads DuckDB): skipped")
    compact_file = compacts_on(data_day_of(config.db_path))
    # a replay of day D ages rows from the end of D, as that night's run did (a probe's replay
    # of a day over a year back purged the day's own events by the wall clock, and its weekly
    # report read zeros); None: var received_at_reference_time, else now (lawn/retention.py)
    try:
        rows = apply_retention(
            config.db_path,
            run_id=f"{state['run_id']}-retention",
            manifest_path=manifest,
            compact_file=compact_file,
            reference=replay_reference(config.as_of),
        )
    except RetentionError as exc:
        raise StepFailed(str(exc)) from exc
    state["retention"] = [row.__dict__ for row in rows]
    purged = [f"{row.relation_name} {row.rows_affected}" for row in rows if row.rows_affected]
    file_note = ""
    if any(row.rows_affected for row in rows if row.relation_name != FILES_RELATION):
        when = "now" if compact_file else f"on {RETENTION_COMPACT_WEEKDAY}s"
        file_note = f"; file rewritten {when}"
    return f"{len(rows)} table(s) checked; purged: {', '.join(purged) or 'nothing'}{file_note}"


def step_score(config: NightlyConfig, state: dict) -> str:
    """Score with the live models, then build what reads the scores."""
    detail = run_scoring(config, state)
    _build_after(config, "score")
    return detail


def run_scoring(config: NightlyConfig, state: dict) -> str:
    """The Python half of step score: churn scores (training a first model when none is live),
    monitoring, and the live uplift models' scores."""
    from lawn.churn_model import ModelError
    from lawn.uplift_model import score_live_models

    uplift_store = config.uplift_store or config.model_store.parent / "uplift"
    try:
        churn = _score_churn(config)
        uplift = score_live_models(config.warehouse, uplift_store)
    except (ModelError, ValueError) as exc:
        raise StepFailed(str(exc)) from exc
    return churn + "".join(f"; uplift {name}: {rows} accounts" for name, rows in uplift.items())


def _score_churn(config: NightlyConfig) -> str:
    """Churn scores and monitoring by the live model, training a first one when none is live;
    a feed too young to train on gets none tonight (the rest of the night, actions on the
    other rules, SLOs and reports, does not wait for one)."""
    from lawn.churn_model import NoLiveModelError, TooLittleHistory, live_version, train
    from lawn.churn_scoring import score
    from lawn.model_monitoring import monitor

    try:
        version = live_version(config.model_store)
        trained = ""
    except NoLiveModelError:  # a damaged live.json is a failed step, not a reason to train over it
        if not config.train_if_missing:
            raise
        try:
            version = train(config.warehouse, config.model_store)["version"]
        except TooLittleHistory as young:
            return f"no churn model yet ({young}): no churn scores tonight"
        trained = " (no live model: trained it)"
    scores = score(config.warehouse, config.model_store, config.shadow, since_training=True)
    checks = monitor(config.warehouse, config.model_store, config.shadow)
    flagged = int(checks.loc[~checks["is_shadow"], "is_flagged"].sum())
    shadow = f" (+ shadow {config.shadow})" if config.shadow else ""
    live_rows = int((scores["model_version"] == version).sum())
    return f"model {version}{trained}{shadow}: {live_rows} account-days scored; {flagged} monitoring flags"


def step_bandit(config: NightlyConfig, state: dict) -> str:
    """Each registered bandit chooses the variant of its rule's new actions and writes its
    allocation and assignments (lawn/bandit_nightly.py); then the bandit marts are built."""
    detail = run_bandit_step(config, state)
    _build_after(config, "bandit")  # fct_bandit_assignments (the export reads it) and the readout
    return detail


def run_bandit_step(config: NightlyConfig, state: dict) -> str:
    """The Python half of step bandit: allocate and assign, write the two ml tables."""
    from lawn.bandit import BanditError
    from lawn.bandit_nightly import run_bandits

    try:
        days = run_bandits(config.warehouse, max_age_days=config.action_max_age_days)
    except BanditError as exc:
        raise StepFailed(str(exc)) from exc
    if not days:
        return "no bandit is enabled"
    return "; ".join(
        f"{day.bandit_id} on {day.decision_day}: {day.assigned} actions assigned, "
        f"{day.credited_pulls} closed windows credited"
        for day in days
    )


def step_actions(config: NightlyConfig, state: dict) -> str:
    """The actions go out, then the ledger's marts (fct_action_exports, ...) see the new rows."""
    detail = step_export(config, state)
    _build_after(config, "actions")
    return detail


def step_export(config: NightlyConfig, state: dict) -> str:
    """The Python half of step actions: export the built actions under the run's id."""
    from lawn.actions import export_actions

    result = export_actions(
        config.warehouse, config.export_dir, state["run_id"], max_age_days=config.action_max_age_days
    )
    completed = (
        f" (completed the interrupted export of {', '.join(result.completed)})" if result.completed else ""
    )
    return (
        f"{result.actions} actions and {result.reversals} reversals exported to {result.csv_path}{completed}"
    )


def step_slo(config: NightlyConfig, state: dict) -> str:
    with connect(config.warehouse, read_only=True) as con:
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
    from lawn.paths import DEFAULT_MANIFEST
    from lawn.report import write_report
    from lawn.reports.mirror import mirrored
    from lawn.reports.run import write_due_reports

    uplift_store = config.uplift_store or config.model_store.parent / "uplift"  # as step score
    manifest = config.dbt_target_path / "manifest.json" if config.dbt_target_path else DEFAULT_MANIFEST
    # on PostgreSQL the report code reads a DuckDB copy of the relations it reads
    source = (
        mirrored(config.warehouse) if config.target == "postgres" else contextlib.nullcontext(config.db_path)
    )
    with source as db_path:
        html, markdown = write_report(db_path, config.report_dir, state, uplift_store)
        state["report_html"] = html
        # the cadence reports due on this data day, archived under report_dir/cadence/<cadence>/<day>/
        written = write_due_reports(
            db_path, config.report_dir / "cadence", config.model_store, manifest, config.target
        )
    state["cadence_reports"] = dict(written)
    return f"{html} and {markdown}; cadence reports: {', '.join(cadence for cadence, _ in written)}"


STEPS: list[tuple[str, Callable[[NightlyConfig, dict], str]]] = [
    ("validate", step_validate),
    ("build", step_build),
    ("retention", step_retention),
    ("score", step_score),
    ("bandit", step_bandit),
    ("actions", step_actions),
    ("slo", step_slo),
    ("report", step_report),
]
