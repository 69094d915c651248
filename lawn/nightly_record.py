"""The nightly run's record: its JSON log on disk (written atomically) and its row in
``ops.nightly_runs``; new run ids that are never reused, and runs a kill left ``running``
closed as ``interrupted`` (lawn/nightly.py calls these around every step)."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from lawn.landing import landing_table
from lawn.warehouse_io import connect, is_missing_table

if TYPE_CHECKING:
    from lawn.nightly import NightlyConfig


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def write_json(path: Path, payload: dict) -> None:
    """Replace a JSON file atomically (write a temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w") as handle:
        json.dump(payload, handle, indent=2, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _ledger_rows(config: NightlyConfig, sql: str, params: list) -> list[tuple]:
    """Rows of one query on the ops ledger; [] when the warehouse or table does not exist yet
    (before the first build: the run log on disk is then the only record)."""
    if config.target == "duckdb" and not config.db_path.exists():
        return []
    try:
        with connect(config.warehouse) as con:
            return con.execute(sql, params).fetchall()
    except Exception as exc:
        if is_missing_table(exc):
            return []
        raise


def _ledger_exec(config: NightlyConfig, sql: str, params: list) -> None:
    if config.target == "duckdb" and not config.db_path.exists():
        return
    try:
        with connect(config.warehouse) as con:
            con.execute(sql, params)
    except Exception as exc:
        if not is_missing_table(exc):
            raise


def upsert_run(config: NightlyConfig, record: dict) -> None:
    """The run's row in ops.nightly_runs: inserted when missing, updated otherwise (its
    columns are the landing definition's, lawn/landing.py)."""
    table = landing_table("ops.nightly_runs")
    row = {
        "run_id": record["run_id"],
        "as_of_date": record["as_of_date"],
        "started_at": record["started_at"],
        "finished_at": record.get("finished_at"),
        "status": record["status"],
        "failed_step": record.get("failed_step"),
        "slo_breaches": record.get("slo_breach_count", 0),
    }
    values = [row[column] for column in table.column_names]  # a KeyError when the two drift
    exists = _ledger_rows(config, f"select count(*) from {table.relation} where run_id = ?", [row["run_id"]])
    if exists and exists[0][0]:
        assignments = ", ".join(f"{column} = ?" for column in table.column_names if column != "run_id")
        updates = [row[column] for column in table.column_names if column != "run_id"]
        _ledger_exec(
            config, f"update {table.relation} set {assignments} where run_id = ?", [*updates, row["run_id"]]
        )
    else:
        _ledger_exec(config, table.insert_values_sql(), values)


def close_interrupted_runs(config: NightlyConfig, run_id: str) -> list[str]:
    """Runs recorded as running were killed (this run holds the lock, so none is alive):
    mark them interrupted on disk and in ops.nightly_runs."""
    closed = []
    for path in sorted((config.report_dir / "runs").glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # unreadable, not UTF-8 (a stray byte), not JSON: no run of ours
            continue
        if (
            not isinstance(record, dict)
            or record.get("status") != "running"
            or record.get("db_path") not in (None, config.where)
        ):
            continue  # finished, or another warehouse's run sharing this report folder
        # the step it died in (None: between steps; its steps list says how far it got)
        record.update(
            status="interrupted", exit_code=None, closed_by=run_id, failed_step=record.get("current_step")
        )
        write_json(path, record)
        upsert_run(config, record)
        closed.append(record["run_id"])
    for (other,) in _ledger_rows(config, "select run_id from ops.nightly_runs where status = 'running'", []):
        _ledger_exec(config, "update ops.nightly_runs set status = 'interrupted' where run_id = ?", [other])
        if other not in closed:
            closed.append(other)
    return closed


def new_run_id(config: NightlyConfig, started: dt.datetime) -> str:
    """UTC start time; a suffix when that id was ever used (a run log, an export folder, a
    ledger row): run ids are never reused."""
    base = f"{started:%Y%m%dT%H%M%S}Z"
    used = {row[0] for row in _ledger_rows(config, "select run_id from ops.nightly_runs", [])}
    used |= {row[0] for row in _ledger_rows(config, "select distinct run_id from ops.action_exports", [])}
    used |= {row[0] for row in _ledger_rows(config, "select run_id from ops.export_batches", [])}
    candidate, number = base, 1
    while (
        candidate in used
        or (config.report_dir / "runs" / f"{candidate}.json").exists()
        or (config.export_dir / candidate).exists()
    ):
        number += 1
        candidate = f"{base}-{number}"
    return candidate
