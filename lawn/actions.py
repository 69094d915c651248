"""The hand-off of next-best actions: export new actions (and reversals) to CSV and Parquet
with pseudonymous ids only, and revert actions. Everything is recorded in the ops ledger
(ops.action_exports, ops.action_reversals); nothing is ever deleted.

Exactly once: an export is first *staged* (its ledger rows and an ``ops.export_batches`` row
with status ``staged``, in one transaction), then its files are written under temporary
names, fsync'd and renamed into place, then the batch is marked ``published``. Every export
first completes any batch a killed run left staged, rewriting its files from the ledger (the
same bytes), so a crash at any point followed by a re-run sends each action exactly once."""

from __future__ import annotations

import datetime as dt
import getpass
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from lawn.action_files import publish_files
from lawn.data_day import data_day
from lawn.faults import fault_point
from lawn.landing import DUCKDB_TYPES, landing_table
from lawn.paths import unwritable_reason
from lawn.retention import latest_cutoff
from lawn.settings import ACTION_MAX_AGE_DAYS
from lawn.warehouse import MissingTableError, require_landing_table, table_exists
from lawn.warehouse_io import connect

# what a destination receives: the pseudonymous account key, never the account id
EXPORT_COLUMNS = (
    "record_type",
    "action_id",
    "rule_id",
    "action_type",
    "destination",
    "playbook",
    "account_key",
    "assignee",
    "decided_on",
    "trigger_inputs",
    "churn_probability",
    "model_version",
    "reason",
    "bandit_id",
    "bandit_arm",
    "bandit_template_id",
    "reverted_at",
    "reversal_reason",
)

# a run name becomes a folder: letters, digits, dot, dash, underscore; no leading dot
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


class ActionError(ValueError):
    """An action command cannot proceed (unknown id, already reverted, no build yet)."""


class ExportFolderError(RuntimeError):
    """A staged export batch cannot be finished: its folder cannot be written (a failed step)."""


@dataclass(frozen=True)
class ExportResult:
    run_id: str
    actions: int
    reversals: int
    csv_path: Path
    parquet_path: Path
    completed: list[str] = field(default_factory=list)  # staged batches of killed runs, finished now


def check_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.fullmatch(run_id or ""):
        raise ActionError(
            f"run name {run_id!r} is not allowed: use 1-80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return run_id


# a century: longer windows are a typo (3000000 days overflowed the calendar: a raw Python error)
MAX_AGE_LIMIT_DAYS = 36_500


def check_max_age(max_age_days: int) -> int:
    if not 0 <= max_age_days <= MAX_AGE_LIMIT_DAYS:
        raise ActionError(f"max age must be 0 to {MAX_AGE_LIMIT_DAYS} days, got {max_age_days}")
    return max_age_days


def check_out_dir(out_dir: Path) -> Path:
    """The export folder exists or can be made, and files can be written in it: checked before
    anything is staged (a staged batch must be published to its folder: an unwritable one
    used to hold the actions and block every later export)."""
    reason = unwritable_reason(Path(out_dir))
    if reason:
        raise ActionError(f"--out-dir {out_dir}: cannot write export files there ({reason})")
    return Path(out_dir)


def _require(con: duckdb.DuckDBPyConnection, table: str) -> None:
    try:
        require_landing_table(con, "ops", table)
    except MissingTableError as exc:
        raise ActionError(str(exc)) from exc


def _add_reason_column(con: duckdb.DuckDBPyConnection) -> None:
    """A ledger created before actions carried a reason (or a bandit's arm) gets the (empty)
    columns; its old rows are rewritten without them, as they were sent."""
    kinds = dict(landing_table("ops.action_exports").columns)
    types = getattr(con, "types", DUCKDB_TYPES)  # a warehouse_io.Warehouse: its engine's types
    for column in ("reason", "bandit_id", "bandit_arm", "bandit_template_id"):
        con.execute(
            f"alter table ops.action_exports add column if not exists {column} {types[kinds[column]]}"
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# the exported record, kept whole in the ledger: a later model or rule change may re-decide
# history differently, but what went out stays traceable (and revertible) as it was sent; the
# ledger (ops.action_exports, lawn/landing.py) holds these and the export's own columns
RECORD_COLUMNS = EXPORT_COLUMNS[1:-2]
LEDGER_OWN_COLUMNS = ("run_id", "record_type", "exported_at", "export_path")

BATCHES_DDL = """
create table if not exists ops.export_batches (
    run_id varchar, status varchar, staged_at timestamp, published_at timestamp,
    folder varchar, actions bigint, reversals bigint
)
"""


NO_BANDIT_SQL = (
    "(select cast(null as varchar) as action_id, cast(null as varchar) as bandit_id, "
    "cast(null as varchar) as arm, cast(null as varchar) as template_id where false)"
)


def _bandit_assignments(con: duckdb.DuckDBPyConnection) -> str:
    """The relation holding the arms bandits chose: marts.fct_bandit_assignments (every build
    makes it). A warehouse built without it (a partial build) exports no arm, unless a bandit
    has decided something: then the mart must be built first, or the arms would be lost."""

    def exists(schema: str, table: str) -> bool:
        return table_exists(con, schema, table)

    if exists("marts", "fct_bandit_assignments"):
        return "marts.fct_bandit_assignments"
    if (
        exists("ml", "bandit_assignments")
        and con.execute("select count(*) from ml.bandit_assignments").fetchall()[0][0]
    ):
        raise ActionError(
            "marts.fct_bandit_assignments does not exist but bandits have decided: run `lawn build` first"
        )
    return NO_BANDIT_SQL


def _ledger_memory_starts(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The first day whose actions the export ledger surely still remembers: `lawn retention`
    purged the rows exported before its latest applied cutoff, and an action is exported on
    or after the day it was decided, so one decided on the cutoff's day or before may have been
    sent and forgotten. None when no retention was applied to the ledger."""
    cutoff = latest_cutoff(con, "ops.action_exports")
    return None if cutoff is None else pd.Timestamp(cutoff).date() + dt.timedelta(days=1)


def _pending(con: duckdb.DuckDBPyConnection, as_of: dt.date, max_age_days: int) -> pd.DataFrame:
    """New actions young enough to send (from the mart; an action held for human review only
    once a reviewer approved it), with the arm a bandit chose for it (fct_bandit_assignments;
    empty when no bandit varies its rule), and reversals of exported actions not
    yet sent (from the ledger's copy of what was sent). An action decided before the day the
    ledger's memory starts (its retention cutoff) is never sent: it may have gone out already
    (exported on or after its day, before the cutoff) and its record been purged."""
    oldest = as_of - dt.timedelta(days=max_age_days)
    remembered = _ledger_memory_starts(con)
    if remembered is not None:
        oldest = max(oldest, remembered)
    mart_columns = ", ".join(f"actions.{c}" for c in RECORD_COLUMNS)
    sent_columns = ", ".join(f"sent.{c}" for c in RECORD_COLUMNS)
    return con.query(
        f"""
        with exported as (
            select action_id, record_type from ops.action_exports
        ),
        decided as (
            select decided.*, bandit.bandit_id, bandit.arm as bandit_arm,
                bandit.template_id as bandit_template_id
            from marts.fct_next_best_actions as decided
            left join {_bandit_assignments(con)} as bandit on decided.action_id = bandit.action_id
        )
        select 'action' as record_type, {mart_columns}
        from decided as actions
        where not actions.is_suppressed
            and (not actions.needs_review or actions.review_decision = 'approve')
            and actions.decided_on between ? and ?
            and actions.action_id not in (select action_id from ops.action_reversals)
            and actions.action_id not in (select action_id from exported where record_type = 'action')
        union all
        select 'reversal' as record_type, {sent_columns}
        from ops.action_exports as sent
        where sent.record_type = 'action'
            and sent.action_id in (select action_id from ops.action_reversals)
            and sent.action_id not in (select action_id from exported where record_type = 'reversal')
        """,
        [oldest, as_of],
    )


def ledger_records(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """What a run's files hold, rebuilt from its ledger rows (and, for reversals, the first
    reversal recorded): the first write and a recovery write give the same files."""
    columns = ", ".join(f"sent.{c}" for c in RECORD_COLUMNS)
    return con.query(
        f"""
        select sent.record_type, {columns},
            case when sent.record_type = 'reversal' then reversals.reverted_at end as reverted_at,
            case when sent.record_type = 'reversal' then reversals.reason end as reversal_reason
        from ops.action_exports as sent
        left join (
            select action_id, min(reverted_at) as reverted_at, min(reason) as reason
            from ops.action_reversals group by action_id
        ) as reversals on sent.action_id = reversals.action_id
        where sent.run_id = ?
        order by sent.record_type, sent.decided_on, sent.action_id
        """,
        [run_id],
    )


def _complete_staged(con: duckdb.DuckDBPyConnection) -> dict[str, ExportResult]:
    """Finish every batch a killed run left staged: its ledger rows are committed, so its
    files are (re)written from them and the batch is marked published."""
    done = {}
    staged = con.execute(
        "select run_id, folder from ops.export_batches where status = 'staged' order by staged_at"
    ).fetchall()
    for run_id, folder in staged:
        records = ledger_records(con, run_id)
        try:
            csv_path, parquet_path = publish_files(records, Path(folder))
        except OSError as exc:  # its folder became unwritable: say which batch waits for it
            raise ExportFolderError(
                f"the staged export {run_id!r} must be finished in {folder} before any other, "
                f"and writing there failed ({exc.strerror or exc}): make it writable and run again"
            ) from None
        con.execute(
            "update ops.export_batches set status = 'published', published_at = ? where run_id = ?",
            [_now(), run_id],
        )
        kinds = records["record_type"].value_counts()
        done[run_id] = ExportResult(
            run_id, int(kinds.get("action", 0)), int(kinds.get("reversal", 0)), csv_path, parquet_path
        )
    return done


def export_actions(
    db_path: Path,
    out_dir: Path,
    run_id: str,
    as_of: dt.date | None = None,
    max_age_days: int = ACTION_MAX_AGE_DAYS,
) -> ExportResult:
    """Write ``out_dir/<run_id>/actions.csv`` and ``.parquet`` (header only when nothing is
    due) and record every exported row in ops.action_exports, exactly once (see the module
    docstring). Actions decided more than ``max_age_days`` before ``as_of`` (default: the
    build's data day, lawn/data_day.py) are stale and never sent; a reverted action that was never
    exported needs no reversal. A run name is used once: a used one is refused."""
    check_run_id(run_id)
    check_max_age(max_age_days)
    check_out_dir(out_dir)
    folder = (Path(out_dir) / run_id).resolve()
    with connect(db_path) as con:  # a DuckDB path or a warehouse_io target
        for table in ("action_exports", "action_reversals"):
            _require(con, table)
        _add_reason_column(con)
        con.execute(BATCHES_DDL)
        completed = _complete_staged(con)
        if run_id in completed:  # re-running a killed export by its name finishes it
            return ExportResult(**{**completed[run_id].__dict__, "completed": [run_id]})
        used = con.execute(
            "select count(*) from (select run_id from ops.export_batches where run_id = ? "
            "union all select run_id from ops.action_exports where run_id = ?) as used",
            [run_id, run_id],
        ).fetchall()[0][0]
        if used or folder.exists():
            raise ActionError(f"run name {run_id!r} was used before (ledger or {folder}): use a new one")
        if as_of is None:
            as_of = data_day(con)
        with con.transaction():
            records = _pending(con, as_of, max_age_days)
            ledger = records[["record_type", *RECORD_COLUMNS]].assign(
                run_id=run_id, exported_at=_now(), export_path=str(folder / "actions.csv")
            )
            con.write_frame("ops.action_exports", ledger)
            kinds = records["record_type"].value_counts()
            con.execute(
                "insert into ops.export_batches values (?, 'staged', ?, null, ?, ?, ?)",
                [run_id, _now(), str(folder), int(kinds.get("action", 0)), int(kinds.get("reversal", 0))],
            )
            fault_point("export:before_commit")
        fault_point("export:staged")
        csv_path, parquet_path = publish_files(ledger_records(con, run_id), folder)
        fault_point("export:renamed")
        con.execute(
            "update ops.export_batches set status = 'published', published_at = ? where run_id = ?",
            [_now(), run_id],
        )
    return ExportResult(
        run_id,
        int(kinds.get("action", 0)),
        int(kinds.get("reversal", 0)),
        csv_path,
        parquet_path,
        list(completed),
    )


def revert(
    db_path: Path,
    action_ids: list[str] | None = None,
    run_id: str | None = None,
    reverted_by: str | None = None,
    reason: str = "",
) -> list[str]:
    """Mark actions reverted (by id, or every action a run exported). The next export
    carries a reversal for each one that had been exported. Returns the ids reverted."""
    if bool(action_ids) == bool(run_id):
        raise ActionError("give action ids or --run RUN (not both)")
    with duckdb.connect(str(db_path)) as con:
        _require(con, "action_reversals")
        if run_id:
            ids = [
                row[0]
                for row in con.execute(
                    "select action_id from ops.action_exports where run_id = ? and record_type = 'action' "
                    "order by action_id",
                    [run_id],
                ).fetchall()
            ]
            if not ids:
                raise ActionError(f"run {run_id!r} exported no actions (see ops.action_exports)")
        else:
            ids = list(dict.fromkeys(action_ids or []))
            known = {  # decided now, or sent once (a later model may no longer decide it)
                row[0]
                for row in con.execute(
                    "select action_id from marts.fct_next_best_actions where action_id in (select unnest(?)) "
                    "union select action_id from ops.action_exports where action_id in (select unnest(?))",
                    [ids, ids],
                ).fetchall()
            }
            unknown = [action_id for action_id in ids if action_id not in known]
            if unknown:
                raise ActionError(f"unknown action id(s): {', '.join(unknown)}")
        already = {
            row[0]
            for row in con.execute(
                "select action_id from ops.action_reversals where action_id in (select unnest(?))", [ids]
            ).fetchall()
        }
        if already and not run_id:
            raise ActionError(f"already reverted: {', '.join(sorted(already))}")
        todo = [action_id for action_id in ids if action_id not in already]
        rows = pd.DataFrame(
            {
                "action_id": todo,
                "reverted_at": _now(),
                "reverted_by": reverted_by or getpass.getuser(),
                "reason": reason,
            }
        )
        con.register("reversals", rows)
        con.execute(landing_table("ops.action_reversals").insert_sql("reversals"))
    return todo
