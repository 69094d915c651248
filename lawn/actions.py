"""The hand-off of next-best actions: export new actions (and reversals) to CSV and Parquet
with pseudonymous ids only, and revert actions. Everything is recorded in the ops ledger
(ops.action_exports, ops.action_reversals); nothing is ever deleted."""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from lawn.warehouse import LATEST_DAY_SQL, MissingTableError, require_landing_table

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
    "reverted_at",
    "reversal_reason",
)


class ActionError(ValueError):
    """An action command cannot proceed (unknown id, already reverted, no build yet)."""


@dataclass(frozen=True)
class ExportResult:
    run_id: str
    actions: int
    reversals: int
    csv_path: Path
    parquet_path: Path


def _require(con: duckdb.DuckDBPyConnection, table: str) -> None:
    try:
        require_landing_table(con, "ops", table)
    except MissingTableError as exc:
        raise ActionError(str(exc)) from exc


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# the exported record, kept whole in the ledger: a later model or rule change may re-decide
# history differently, but what went out stays traceable (and revertible) as it was sent
RECORD_COLUMNS = EXPORT_COLUMNS[1:12]


def _pending(con: duckdb.DuckDBPyConnection, as_of: dt.date, max_age_days: int) -> pd.DataFrame:
    """New actions young enough to send (from the mart), and reversals of exported actions not
    yet sent (from the ledger's copy of what was sent)."""
    mart_columns = ", ".join(f"actions.{c}" for c in RECORD_COLUMNS)
    sent_columns = ", ".join(f"sent.{c}" for c in RECORD_COLUMNS)
    return con.execute(
        f"""
        with exported as (
            select action_id, record_type from ops.action_exports
        )
        select 'action' as record_type, {mart_columns},
            cast(null as timestamp) as reverted_at, cast(null as varchar) as reversal_reason
        from marts.fct_next_best_actions as actions
        where not actions.is_suppressed
            and actions.decided_on between ? and ?
            and actions.action_id not in (select action_id from ops.action_reversals)
            and actions.action_id not in (select action_id from exported where record_type = 'action')
        union all
        select 'reversal' as record_type, {sent_columns}, reversals.reverted_at, reversals.reason
        from ops.action_exports as sent
        inner join (
            select action_id, min(reverted_at) as reverted_at, min(reason) as reason
            from ops.action_reversals group by action_id
        ) as reversals on sent.action_id = reversals.action_id
        where sent.record_type = 'action'
            and sent.action_id not in (select action_id from exported where record_type = 'reversal')
        order by record_type, decided_on, action_id
        """,
        [as_of - dt.timedelta(days=max_age_days), as_of],
    ).df()


def export_actions(
    db_path: Path, out_dir: Path, run_id: str, as_of: dt.date | None = None, max_age_days: int = 3
) -> ExportResult:
    """Write ``out_dir/<run_id>/actions.csv`` and ``.parquet`` (header only when nothing is
    due) and record every exported row in ops.action_exports. Actions decided more than
    ``max_age_days`` before ``as_of`` (default: the newest decision day's data) are stale and
    never sent; a reverted action that was never exported needs no reversal."""
    with duckdb.connect(str(db_path)) as con:
        for table in ("action_exports", "action_reversals"):
            _require(con, table)
        if as_of is None:
            as_of = con.execute(LATEST_DAY_SQL).fetchall()[0][0]
        records = _pending(con, as_of, max_age_days)
        folder = out_dir / run_id
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, parquet_path = folder / "actions.csv", folder / "actions.parquet"
        records.to_csv(csv_path, index=False)
        records.to_parquet(parquet_path, index=False)
        ledger = records[["record_type", *RECORD_COLUMNS]].assign(
            run_id=run_id, exported_at=_now(), export_path=str(csv_path)
        )
        columns = ", ".join(["run_id", "exported_at", "export_path", "record_type", *RECORD_COLUMNS])
        con.register("ledger", ledger)
        con.execute(f"insert into ops.action_exports ({columns}) select {columns} from ledger")
    kinds = records["record_type"].value_counts()
    return ExportResult(
        run_id, int(kinds.get("action", 0)), int(kinds.get("reversal", 0)), csv_path, parquet_path
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
        con.execute(
            "insert into ops.action_reversals (action_id, reverted_at, reverted_by, reason) "
            "select action_id, reverted_at, reverted_by, reason from reversals"
        )
    return todo
