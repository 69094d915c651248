"""Right to erasure: `lawn privacy erase --email X | --user-id Y | --person-id Z`.

1. Resolve the person through the identity graph (``pii.pii_identifiers``, and the
   identity snapshot for identifiers the person held in the past): every user id,
   anonymous id, device id and email of theirs.
2. Record one tombstone per identifier in ``ops.erasure_tombstones``: the identifier's type
   and its HMAC-SHA256 under the identity hash key (lawn/identity_key.py), never the value.
3. Delete every row that carries one of those identifiers from the stateful stores (raw
   landing, the incremental event tables, the identity snapshot), redact the person's email
   where another person's event names it (``teammate_invited.invitee_email``), and delete
   rows naming any of the person's values (identifiers, names, IP addresses of their events)
   from every other table of the warehouse and from the ledgers (scores, actions, exports),
   rewriting the exported files of batches that held such a row.
4. Rebuild (``dbt build``): every derived table is recomputed without the person, and the
   tests (reconciliation included) run on the result.

Who the person is: `lawn.privacy_person`; the relation maps and identifier SQL:
`lawn.privacy_maps`; step 3's sweep of every other table and file: `lawn.privacy_sweep`. The
loader applies the tombstones at landing (`lawn.privacy_landing.filter_landed`): a later
`lawn load` of the same raw files withholds the person's rows again.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from lawn.feature_state import VALID_EVENTS, VALID_EVENTS_TABLE, forget_account_features
from lawn.landing import landing_table
from lawn.privacy_maps import (
    ATTRIBUTION_CHANGES,
    ATTRIBUTION_STATE,
    COMPONENT_STATES,
    ERASED_EMAIL_HASHES,
    EVENT_TABLES,
    LEDGER_SCHEMAS,
    LINK_TOTALS,
    PER_DAY_TABLES,
    PER_EVENT_TABLES,
    QUARANTINE,
    TOMBSTONED_USER_IDS,
    UNSWEPT_SCHEMAS,
    UNSWEPT_TABLES,
    VALIDATED_EVENTS,
    ErasureError,
    keyed_hash_from_pads,
    redact_ips,
    redact_other_emails,
    redact_other_user_ids,
    shown_identifier_key,
)
from lawn.privacy_mentions import redact_mentions
from lawn.privacy_person import (
    collect_values,
    event_id_match,
    person_ips,
    register_identifiers,
    resolve_person,
)
from lawn.privacy_sweep import (
    batches_naming,
    redact_cells,
    rewrite_export_files,
    scrub_files,
    string_columns,
    sweep_predicate,
    value_pattern,
)
from lawn.warehouse import relation_exists
from lawn.warehouse_compact import Compaction, CompactionError, compact

EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")


def _key_pads(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str]:
    found = con.execute("select key_id, inner_pad_hex, outer_pad_hex from ops.identity_hash_key").fetchall()
    if len(found) != 1:
        raise ErasureError("no identity hash key in the warehouse: run `lawn build` first")
    return found[0]


@dataclass
class ErasureResult:
    request_id: str
    person_found: bool
    identifiers: int
    rows_deleted: dict[str, int]
    rows_redacted: dict[str, int]
    files_rewritten: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    compaction: Compaction | None = None

    @property
    def rows_total(self) -> int:
        return sum(self.rows_deleted.values()) + sum(self.rows_redacted.values())


def _delete_quarantined(con: duckdb.DuckDBPyConnection, validated: str, match: str) -> int:
    """Delete the quarantined rows (an incremental mart the rebuild keeps) of the person's
    deliveries, by raw_event_key: after the quarantine_payload retention nulled their ids the
    identifier sweep no longer finds them, and reconciliation would count them against raw
    rows the erasure removed."""
    keys = f"select raw_event_key from {validated} where {match}"
    count = int(
        con.execute(f"select count(*) from {QUARANTINE} where raw_event_key in ({keys})").fetchall()[0][0]
    )
    if count:
        con.execute(f"delete from {QUARANTINE} where raw_event_key in ({keys})")
    return count


def _rows_per_day(con: duckdb.DuckDBPyConnection, source: str) -> dict[object, int] | None:
    """Rows of ``source`` per receive day (None when the table does not exist)."""
    if not relation_exists(con, source):
        return None
    rows = con.execute(f"select cast(received_at as date), count(*) from {source} group by 1").fetchall()
    return dict(rows)


def _forget_changed_days(
    con: duckdb.DuckDBPyConnection, relation: str, source: str, before: dict[object, int] | None
) -> int:
    """Delete the rows of ``relation`` (per-day counts over ``source``) from the first receive
    day whose rows of ``source`` differ from ``before`` on (rows with no day too): the next
    incremental build rebuilds every day after the newest one it keeps. Returns rows deleted."""
    if before is None or not relation_exists(con, relation):
        return 0
    after = _rows_per_day(con, source) or {}
    changed = [day for day in set(before) | set(after) if before.get(day) != after.get(day)]
    if not changed:
        return 0
    dated = [day for day in changed if day is not None]
    where = "received_date is null"
    if None in changed or not dated:
        where = "true"  # rows without a receive day changed: recount everything
    else:
        where += f" or received_date >= cast('{min(dated)}' as date)"
    return len(con.execute(f"delete from {relation} where {where} returning 1").fetchall())


def erase(
    db_path: Path,
    email: str | None = None,
    user_id: str | None = None,
    person_id: str | None = None,
    output_dirs: Iterable[Path] = (),
    compact_file: bool = True,
) -> ErasureResult:
    """Erase one person (see the module docstring); the caller rebuilds afterwards. With
    ``compact_file`` the warehouse is then rewritten into a fresh file: DuckDB keeps deleted
    rows' bytes in free blocks, where `strings` on the file would still find the person."""
    given = [name for name, value in (("--email", email), ("--user-id", user_id), ("--person-id", person_id))
             if value]  # fmt: skip
    if len(given) != 1:
        raise ErasureError("give exactly one of --email, --user-id, --person-id")
    if any(value is not None and not value.strip() for value in (email, user_id, person_id)):
        raise ErasureError(f"{given[0]} is empty")
    if email is not None and not EMAIL_SHAPE.fullmatch(email.strip()):
        raise ErasureError(f"--email {email!r}: not an email address (name@domain)")
    person_id = person_id.strip() if person_id is not None else None
    clock = time.perf_counter()
    requested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    request_id = f"erasure-{requested_at:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"
    deleted: dict[str, int] = {}
    redacted: dict[str, int] = {}
    warnings: list[str] = []
    with duckdb.connect(str(db_path)) as con:
        for table in ("ops.erasure_tombstones", "ops.erasure_requests"):
            if not relation_exists(con, table):
                raise ErasureError(f"{table} does not exist: run `lawn build` first")
        key_id, inner_hex, outer_hex = _key_pads(con)
        person = resolve_person(con, email, user_id, person_id)
        if not any(person.identifiers.values()):
            raise ErasureError(f"{given[0]}: nobody with that identifier in the identity graph")
        if person.person_id is None:
            warnings.append(
                f"{given[0]}: not in the identity graph; only rows carrying this identifier are erased, "
                "and its tombstone keeps it from landing again"
            )
        register_identifiers(con, person.identifiers)
        values = collect_values(con, person)
        if person.person_id:
            # derived rows keyed by the person id alone (fct_activation's entity): swept before
            # the file is rewritten, or the rebuild left them in free blocks (a probe)
            values.add(person.person_id)
        person.identifiers["ip"] = person_ips(con, person)
        register_identifiers(con, person.identifiers)
        con.register("_erase_values_frame", pd.DataFrame({"value": sorted({v.lower() for v in values})}))
        con.execute("create or replace temp table _erase_values as select value from _erase_values_frame")
        con.unregister("_erase_values_frame")
        con.execute("begin transaction")
        try:
            # 1. the tombstones: keyed hashes of identifier_key-shaped values only
            for kind, group in sorted(person.identifiers.items()):
                for value in sorted(group):
                    con.execute(
                        landing_table("ops.erasure_tombstones").insert_values_sql(),
                        [request_id, kind, keyed_hash_from_pads(inner_hex, outer_hex, f"{kind}:{value}"),
                         key_id, requested_at],
                    )  # fmt: skip
            observation_days = {table: _rows_per_day(con, source) for table, source in PER_DAY_TABLES.items()}
            # 2. the event lineage: the person's rows go, others' mentions are redacted
            for relation, payload in EVENT_TABLES.items():
                if not relation_exists(con, relation):
                    continue
                match = event_id_match(relation, person.identifiers, payload)
                if relation == VALIDATED_EVENTS and relation_exists(con, QUARANTINE):
                    # quarantined deliveries whose ids retention already anonymised are found
                    # by their delivery key, before the validated rows go
                    deleted[QUARANTINE] = _delete_quarantined(con, relation, match)
                count = con.execute(f"select count(*) from {relation} where {match}").fetchall()[0][0]
                if count and relation == VALID_EVENTS_TABLE and relation_exists(con, VALID_EVENTS):
                    # incremental feature rows of the accounts of the person's valid events (the
                    # view over the rows about to go): recomputed next build
                    valid_match = event_id_match(VALID_EVENTS, person.identifiers, "properties")
                    deleted.update(forget_account_features(con, valid_match))
                if count:
                    con.execute(f"delete from {relation} where {match}")
                deleted[relation] = int(count)
                if person.identifiers.get("email"):
                    redacted[relation] = redact_other_emails(con, relation, payload, ERASED_EMAIL_HASHES)
                if person.identifiers.get("user_id"):
                    redacted[relation] = redacted.get(relation, 0) + redact_other_user_ids(
                        con, relation, payload, TOMBSTONED_USER_IDS
                    )
                # their email or user id inside another event's text (lawn/privacy_mentions.py)
                redacted[relation] = redacted.get(relation, 0) + redact_mentions(con, relation, [payload])
                if person.identifiers.get("ip"):
                    redacted[relation] = redacted.get(relation, 0) + redact_ips(
                        con, relation, lambda expression: f"{expression} in (select value from _erase_ip)"
                    )
            for relation, events in PER_EVENT_TABLES.items():
                if relation_exists(con, relation) and relation_exists(con, events):
                    orphans = f"event_id not in (select event_id from {events})"
                    count = con.execute(f"select count(*) from {relation} where {orphans}").fetchall()[0][0]
                    if count:
                        con.execute(f"delete from {relation} where {orphans}")
                        deleted[relation] = int(count)
            con.execute(f"drop table if exists {ATTRIBUTION_STATE}")
            con.execute(f"drop table if exists {ATTRIBUTION_CHANGES}")
            con.execute(f"drop table if exists {LINK_TOTALS}")
            for state in COMPONENT_STATES:
                con.execute(f"drop table if exists {state}")
            # 3. the identity history: versions written before masking hold the keys in clear,
            #    newer ones as dim_identifiers shows them (emails, email-shaped ids hashed)
            if relation_exists(con, "snapshots.identity_map_history"):
                keys = [f"{kind}:{value}" for kind, group in person.identifiers.items() for value in group]
                keys += [
                    shown_identifier_key(kind, value, inner_hex, outer_hex)
                    for kind, group in person.identifiers.items()
                    if kind in ("user_id", "anonymous_id", "device_id", "email")
                    for value in group
                ]
                count = con.execute(
                    "select count(*) from snapshots.identity_map_history "
                    "where identifier_key in (select unnest(?)) or person_id = ?",
                    [keys, person.person_id],
                ).fetchall()[0][0]
                con.execute(
                    "delete from snapshots.identity_map_history "
                    "where identifier_key in (select unnest(?)) or person_id = ?",
                    [keys, person.person_id],
                )
                deleted["snapshots.identity_map_history"] = int(count)
            # 4. every other table: rows naming one of the values (derived tables are
            #    rebuilt next; ledgers lose the rows, their export files are rewritten)
            pattern = value_pattern(values)
            touched_runs = batches_naming(con, pattern)
            for relation, columns in string_columns(con).items():
                schema = relation.split(".", 1)[0]
                if schema in UNSWEPT_SCHEMAS or relation in UNSWEPT_TABLES or relation in EVENT_TABLES:
                    continue
                where = sweep_predicate(columns, pattern)
                if schema in LEDGER_SCHEMAS:
                    # an email in raw landing (a CRM account keyed by it) becomes the placeholder
                    # every later landing writes (lawn/privacy_mentions.py); the rest [erased]
                    mentions = (
                        redact_mentions(con, relation, columns, in_json=False, user_ids=False)
                        if schema == "raw"
                        else 0
                    )
                    count = max(mentions, redact_cells(con, relation, columns, pattern))
                    if count:
                        redacted[relation] = count
                    continue
                count = con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0]
                if count:
                    con.execute(f"delete from {relation} where {where}")
                    deleted[relation] = deleted.get(relation, 0) + int(count)
            for relation, columns in string_columns(con).items():
                if relation.split(".", 1)[0] == "registry":
                    where = sweep_predicate(columns, pattern)
                    if con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0]:
                        warnings.append(
                            f"{relation} (a configuration seed) names the person: edit its CSV in seeds/"
                        )
            # 5. per-day counts: recounted from the first day whose observations changed
            for relation, source in PER_DAY_TABLES.items():
                count = _forget_changed_days(con, relation, source, observation_days[relation])
                if count:
                    deleted[relation] = deleted.get(relation, 0) + count
            files = rewrite_export_files(con, touched_runs)
            files += scrub_files(output_dirs, values)
            seconds = time.perf_counter() - clock
            person_hash = keyed_hash_from_pads(inner_hex, outer_hex, f"person_id:{person.person_id or ''}")
            rows = sum(deleted.values()) + sum(redacted.values())
            con.execute(
                landing_table("ops.erasure_requests").insert_values_sql(),
                [request_id, given[0].removeprefix("--"), person_hash,
                 sum(len(group) for group in person.identifiers.values()), rows, files, requested_at,
                 dt.datetime.now(dt.UTC).replace(tzinfo=None), seconds],
            )  # fmt: skip
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    compaction = None
    if compact_file:
        try:
            compaction = compact(db_path)
        except (OSError, duckdb.Error, CompactionError) as exc:  # erased all the same; say so
            warnings.append(
                f"the warehouse file was not rewritten ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                "the erased values "
                "stay in its free blocks until the next erasure or retention run rewrites it"
            )
    return ErasureResult(
        request_id,
        person.person_id is not None,
        sum(len(group) for group in person.identifiers.values()),
        deleted,
        redacted,
        files,
        seconds,
        warnings,
        compaction,
    )
