"""Retention per retention class: `lawn retention apply [--dry-run]`.

The policies are configuration in one place, ``seeds/governance/retention_policies.csv``
(retention class -> keep N days, then ``delete`` or ``anonymise``), and the physical tables
(and the exported files) each class applies to, with the column whose age decides, are in
``seeds/governance/retention_tables.csv``. When the dbt manifest (``target/manifest.json``)
carries a ``retention_class`` in the meta of a model's time column (the catalog gate puts
owner / purpose / data_class / retention_class on every column), the manifest wins and the
map is the fallback: one list of classes, whatever stage the catalog is at. The catalog's
own retention classes (var governance_retention_classes: raw_events, identity, ...) are a
coarser vocabulary; ``seeds/governance/retention_class_map.csv`` says which catalog class each
policy class enforces (``load_class_map``), and the quarterly compliance report names the
catalog classes no policy enforces (docs/compliance.md).

A row is purged when its time column is older than ``reference - keep_days``; the reference
is the dbt var ``received_at_reference_time`` when set (a replay of historical data) and the
wall clock (UTC) otherwise. Every run writes one row per table and policy to
``ops.retention_audit`` (rows affected; a dry run counts and changes nothing). The loader
(`lawn.privacy_landing.filter_landed`) keeps the raw landing's latest applied cutoff, so re-loading
the same files does not bring purged rows back, and the reconciliation test counts rows
purged from one layer but kept in another (tests/assert_raw_rows_reconcile_with_event_marts.sql).
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lawn.feature_state import VALID_EVENTS_TABLE, forget_account_features
from lawn.landing import landing_table
from lawn.privacy_maps import ATTRIBUTED_EVENTS, ATTRIBUTION_CHANGES

# the configuration's loaders and records, re-exported: the CLI, the reports and the tests read them here
from lawn.retention_config import (  # noqa: F401
    CLASS_MAP_FILE,
    MANIFEST_FILE,
    POLICIES_FILE,
    TABLES_FILE,
    Policy,
    RetentionError,
    Target,
    catalog_classes,
    load_class_map,
    load_policies,
    load_targets,
)
from lawn.settings import var
from lawn.warehouse import relation_exists
from lawn.warehouse_compact import compact

FILES_RELATION = "files:exports"
# raw rows are text: their age is the receive time exactly as staging parses it
RAW_EVENTS = "raw.raw_events"
STAGED_EVENTS = "staging.stg_tracking__events"
# A delivery's age (macros/governance/delivery_aged_at.sql, the same expression): received,
# else (INVALID_RECEIVED_AT) occurred, else 1970-01-01 -- what cannot be dated goes first.
# Applies to the tables of deliveries: those whose time column is received_at and that also
# hold the parsed occurred_at (the event history, the quarantine).
EPOCH = "timestamp '1970-01-01 00:00:00'"
DELIVERY_AGE = f"coalesce(received_at, occurred_at, {EPOCH})"
# Raw landing is text, so its rows are matched to the staged rows by the raw texts that
# decide the age: the receive time when it parses, else the pair (receive, occurrence)
# texts of an undated row (`is not distinct from`: a missing time is a null). Two `?`.
RAW_OLDER = (
    f"received_at in (select received_at_raw from {STAGED_EVENTS} where received_at < ?) "
    f"or exists (select 1 from {STAGED_EVENTS} as undated where undated.received_at is null "
    "and undated.received_at_raw is not distinct from raw_events.received_at "
    "and undated.occurred_at_raw is not distinct from raw_events.occurred_at "
    f"and coalesce(undated.occurred_at, {EPOCH}) < ?)"
)


@dataclass(frozen=True)
class AuditRow:
    run_id: str
    relation_name: str
    retention_class: str
    policy_action: str
    keep_days: int
    time_column: str
    cutoff_at: dt.datetime
    rows_affected: int
    is_dry_run: bool
    applied_at: dt.datetime


def reference_time(explicit: dt.datetime | None = None) -> dt.datetime:
    """What ages are measured from: the argument, else var received_at_reference_time, else now."""
    if explicit is not None:
        return explicit
    configured = str(var("received_at_reference_time") or "").strip()
    if configured:
        return dt.datetime.fromisoformat(configured)
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def older_than(con: duckdb.DuckDBPyConnection, target: Target, cutoff: dt.datetime) -> tuple[str, list]:
    """The predicate 'older than the cutoff' for a table, with its parameters: raw landing by
    RAW_OLDER, a table of deliveries by DELIVERY_AGE, any other by its time column."""
    if target.relation == RAW_EVENTS:
        return RAW_OLDER, [cutoff, cutoff]
    if target.time_column == "received_at" and "occurred_at" in _columns(con, target.relation):
        return f"{DELIVERY_AGE} < ?", [cutoff]
    return f"{_quoted(target.time_column)} < ?", [cutoff]


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    schema, table = relation.split(".", 1)
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {row[0] for row in rows}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _apply_table(
    con: duckdb.DuckDBPyConnection, target: Target, policy: Policy, cutoff: dt.datetime, dry_run: bool
) -> int:
    if target.relation == RAW_EVENTS and not relation_exists(con, STAGED_EVENTS):
        raise RetentionError(f"{STAGED_EVENTS} does not exist: run `lawn build` before retention")
    relation = ".".join(_quoted(part) for part in target.relation.split(".", 1))
    older, params = older_than(con, target, cutoff)
    if policy.action == "delete":
        count = con.execute(f"select count(*) from {relation} where {older}", params).fetchall()[0][0]
        if count and not dry_run and target.relation == VALID_EVENTS_TABLE:
            # the valid events among those rows (the view int_events_valid over them): their
            # accounts' feature rows go first and are recomputed next build
            forget_account_features(con, older, params)
        if count and not dry_run:
            con.execute(f"delete from {relation} where {older}", params)
        return int(count)
    # anonymise: only rows that still hold something to null (a second run affects none)
    held = " or ".join(f"{_quoted(c)} is not null" for c in target.anonymise_columns)
    where = f"({older}) and ({held})"
    count = con.execute(f"select count(*) from {relation} where {where}", params).fetchall()[0][0]
    if count and not dry_run:
        nulls = ", ".join(f"{_quoted(c)} = null" for c in target.anonymise_columns)
        con.execute(f"update {relation} set {nulls} where {where}", params)
    return int(count)


def _apply_files(con: duckdb.DuckDBPyConnection, target: Target, cutoff: dt.datetime, dry_run: bool) -> int:
    """Exported files: every published export batch older than the cutoff loses its folder
    (the ledger says which); returns the number of files removed."""
    if not relation_exists(con, "ops.export_batches"):
        return 0
    folders = con.execute(
        f"select folder from ops.export_batches where status = 'published' and {target.time_column} < ?",
        [cutoff],
    ).fetchall()
    removed = 0
    for (folder,) in folders:
        path = Path(folder)
        if not path.is_dir():
            continue
        files = [item for item in path.rglob("*") if item.is_file()]
        removed += len(files)
        if not dry_run:
            shutil.rmtree(path)
    return removed


def past_policy(
    con: duckdb.DuckDBPyConnection,
    reference: dt.datetime,
    policies_path: Path = POLICIES_FILE,
    tables_path: Path = TABLES_FILE,
    manifest_path: Path | None = MANIFEST_FILE,
) -> list[dict]:
    """The dry run's count without its audit rows, on a read-only connection: per mapped table
    that exists, the rows (files for ``files:exports``) older than ``reference - keep_days``
    that a run would delete or anonymise now (only selects: a read-only connection will do).
    What the quarterly compliance report calls rows past their policy."""
    policies = load_policies(policies_path)
    found = []
    for target in load_targets(policies, tables_path, manifest_path):
        policy = policies[target.retention_class]
        cutoff = reference - dt.timedelta(days=policy.keep_days)
        if target.relation == FILES_RELATION:
            rows = _apply_files(con, target, cutoff, dry_run=True)
        elif relation_exists(con, target.relation) and (
            target.relation != RAW_EVENTS or relation_exists(con, STAGED_EVENTS)
        ):
            rows = _apply_table(con, target, policy, cutoff, dry_run=True)
        else:
            continue
        found.append(
            {
                "relation_name": target.relation,
                "retention_class": policy.retention_class,
                "policy_action": policy.action,
                "keep_days": policy.keep_days,
                "cutoff_at": cutoff,
                "rows_past_policy": rows,
                "catalog_class": target.catalog_class,
            }
        )
    return found


def _audit_insert() -> str:
    return landing_table("ops.retention_audit").insert_values_sql()


def apply_retention(
    db_path: Path,
    dry_run: bool = False,
    reference: dt.datetime | None = None,
    run_id: str | None = None,
    policies_path: Path = POLICIES_FILE,
    tables_path: Path = TABLES_FILE,
    manifest_path: Path | None = MANIFEST_FILE,
    compact_file: bool = True,
) -> list[AuditRow]:
    """Apply (or, ``dry_run``, count) every policy on every table of its class, in one
    transaction with its audit rows. Tables that do not exist yet are skipped (no row). When
    rows were deleted or anonymised (and ``compact_file``), the warehouse file is then
    rewritten (lawn/warehouse_compact.py): DuckDB leaves the purged values in free blocks."""
    policies = load_policies(policies_path)
    targets = load_targets(policies, tables_path, manifest_path)
    now = reference_time(reference)
    run_id = run_id or f"retention-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}"
    applied_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    audit: list[AuditRow] = []
    with duckdb.connect(str(db_path)) as con:
        if not relation_exists(con, "ops.retention_audit"):
            raise RetentionError(f"{db_path}: ops.retention_audit does not exist: run `lawn build` first")
        con.execute("begin transaction")
        try:
            # files first: their folders are found through the batch ledger this run may purge
            for target in sorted(targets, key=lambda item: item.relation != FILES_RELATION):
                policy = policies[target.retention_class]
                cutoff = now - dt.timedelta(days=policy.keep_days)
                if target.relation == FILES_RELATION:
                    affected = _apply_files(con, target, cutoff, dry_run)
                elif relation_exists(con, target.relation):
                    affected = _apply_table(con, target, policy, cutoff, dry_run)
                else:
                    continue
                row = AuditRow(run_id, target.relation, policy.retention_class, policy.action,
                               policy.keep_days, target.time_column, cutoff, affected, dry_run,
                               applied_at)  # fmt: skip
                con.execute(_audit_insert(), list(row.__dict__.values()))
                audit.append(row)
                if target.relation == ATTRIBUTED_EVENTS and affected and not dry_run:
                    # rows deleted outside dbt: the models fed by the change log rebuild in full
                    con.execute(f"drop table if exists {ATTRIBUTION_CHANGES}")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    purged = sum(row.rows_affected for row in audit if row.relation_name != FILES_RELATION)
    if compact_file and not dry_run and purged:
        compact(db_path)
    return audit


def latest_cutoff(con: duckdb.DuckDBPyConnection, relation: str) -> dt.datetime | None:
    """The cutoff of the latest applied (not dry-run) retention on ``relation``."""
    if not relation_exists(con, "ops.retention_audit"):
        return None
    found = con.execute(
        "select max(cutoff_at) from ops.retention_audit where relation_name = ? and not is_dry_run",
        [relation],
    ).fetchall()
    return found[0][0] if found else None
