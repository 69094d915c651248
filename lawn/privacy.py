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

The loader applies the tombstones at landing (`filter_landed`): a later `lawn load` or
`lawn build` of the same raw files withholds the person's rows again and records how many in
``ops.landing_exclusions``. Tombstones only match under the key they were made with: the
loader refuses to land when the installed key differs (see docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from lawn.feature_state import VALID_EVENTS, VALID_EVENTS_TABLE, forget_account_features
from lawn.landing import landing_table

IDENTIFIER_TYPES = ("user_id", "anonymous_id", "device_id", "email")
# raw event columns that hold an identifier of the type named
ID_COLUMNS = {"user_id": "user_id", "anonymous_id": "anonymous_id", "device_id": "device_id"}
# event properties that hold the sender's own email, and another person's
OWN_EMAIL_PROPERTIES = ("email",)
OTHER_EMAIL_PROPERTY = "invitee_email"
# the incremental event tables: stateful, so erased in place (their payload column);
# intermediate.int_events_valid is a view over int_events_validated's valid rows: erased with it
EVENT_TABLES = {
    "raw.raw_events": "properties",
    "intermediate.int_events_deduplicated": "properties_raw",
    "intermediate.int_events_validated": "properties_raw",
    "intermediate.int_events_attributed": "properties",
}
# incremental tables derived per event (stateful too): after the event lineage is erased, their
# rows of events that no longer exist go, whoever's identifier they carry (a full refresh
# would not have them; docs/incremental_identity.md)
PER_EVENT_TABLES = {
    "intermediate.int_identity_observations": "intermediate.int_events_valid",
    "intermediate.int_events_attributed": "intermediate.int_events_valid",
}
# incremental tables of per-receive-day counts over the identity observations: every day
# from the first one whose observations the erasure changes is deleted, and the next build
# counts those days again (docs/incremental_identity_links.md)
PER_DAY_TABLES = {"intermediate.int_identity_link_days": "intermediate.int_identity_observations"}
# the (identifier -> person) pairs int_events_attributed last attributed with: dropped, so the
# rebuild gives every stored event its person again (docs/incremental_attribution.md)
ATTRIBUTION_STATE = "intermediate.int_events_attributed__identity_state"
VALIDATED_EVENTS = "intermediate.int_events_validated"
QUARANTINE = "marts.fct_quarantined_events"
# marts.fct_quarantined_events carries no payload (masked: docs/governance.md); its identifier
# columns are swept like every other table, and pii.pii_quarantined_event_payloads is rebuilt
# from int_events_validated
# schemas never swept: configuration seeds (edited by hand, the command warns) and
# the privacy ledgers themselves (keyed hashes only)
# stateful stores that are not rebuilt (ledgers, other raw tables): cells are redacted,
# rows kept; every other schema is derived and loses the rows (the rebuild recomputes them)
LEDGER_SCHEMAS = ("ops", "ml", "raw")
UNSWEPT_SCHEMAS = ("registry", "information_schema", "pg_catalog")
UNSWEPT_TABLES = ("ops.erasure_tombstones", "ops.erasure_requests", "ops.identity_hash_key",
                  "ops.retention_audit", "ops.landing_exclusions")  # fmt: skip
INVISIBLE = (
    " \t\n\r\u000b\u000c\u0085\u00a0\u1680\u180e"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
)
REDACTED_DOMAIN = "erased.invalid"
TOMBSTONED_EMAILS = "select identifier_hash from ops.erasure_tombstones where identifier_type = 'email'"
ERASED_EMAIL_HASHES = TOMBSTONED_EMAILS  # erase() writes the tombstones before it redacts


class ErasureError(ValueError):
    """The request cannot be served (unknown person, no build, no key); one line, exit 2."""


def normalize(value: str) -> str:
    """Python twin of the ``normalize_identifier`` macro (the identity graph's normal form)."""
    text = "".join(ch for ch in value if ch not in INVISIBLE).lower()
    text = re.sub(r"^[<\"']*(mailto:)?[<\"']*", "", text)
    return re.sub(r"[>\"'.]*$", "", text)


def normalize_sql(expression: str) -> str:
    """DuckDB SQL of ``normalize_identifier`` (same steps as the macro)."""
    invisible = INVISIBLE.replace("'", "''")
    return (
        f"regexp_replace(regexp_replace(lower(translate({expression}, '{invisible}', '')), "
        f"'^[<\"'']*(mailto:)?[<\"'']*', ''), '[>\"''.]*$', '')"
    )


def _key_pads(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str]:
    found = con.execute("select key_id, inner_pad_hex, outer_pad_hex from ops.identity_hash_key").fetchall()
    if len(found) != 1:
        raise ErasureError("no identity hash key in the warehouse: run `lawn build` first")
    return found[0]


def keyed_hash_from_pads(inner_hex: str, outer_hex: str, message: str) -> str:
    """HMAC-SHA256 hex from the key's padded forms (what the ``keyed_hash`` macro computes)."""
    inner = hashlib.sha256(bytes.fromhex(inner_hex) + message.encode()).digest()
    return hashlib.sha256(bytes.fromhex(outer_hex) + inner).hexdigest()


def hash_sql(expression: str) -> str:
    """DuckDB SQL: HMAC-SHA256 hex of ``expression`` under the key installed in ops.identity_hash_key."""
    return (
        f"sha256(unhex((select outer_pad_hex from ops.identity_hash_key)) || "
        f"unhex(sha256(unhex((select inner_pad_hex from ops.identity_hash_key)) || encode({expression}))))"
    )


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, table = relation.split(".", 1)
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


@dataclass
class Person:
    person_id: str | None
    identifiers: dict[str, set[str]]  # type -> normalized values


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

    @property
    def rows_total(self) -> int:
        return sum(self.rows_deleted.values()) + sum(self.rows_redacted.values())


def _event_id_match(alias: str, identifiers: dict[str, set[str]], payload: str) -> str:
    """SQL predicate: a row of an event table carries one of the person's identifiers."""
    parts = []
    for kind, column in ID_COLUMNS.items():
        if identifiers.get(kind):
            parts.append(f"{normalize_sql(f'{alias}.{column}')} in (select value from _erase_{kind})")
    if identifiers.get("email"):
        for prop in OWN_EMAIL_PROPERTIES:
            value = f"json_extract_string(try_cast({alias}.{payload} as json), '$.{prop}')"
            parts.append(f"{normalize_sql(value)} in (select value from _erase_email)")
    return "(" + " or ".join(parts or ["false"]) + ")"


# the identity map with values in clear (marts.dim_identifiers shows emails as keyed hashes only)
CLEAR_IDENTIFIERS = (
    "select identifier_type || ':' || identifier_value as identifier_key, person_id from pii.pii_identifiers"
)


def resolve_person(
    con: duckdb.DuckDBPyConnection, email: str | None, user_id: str | None, person_id: str | None
) -> Person:
    """The person's identifiers (normal form), from the identity graph and its history."""
    if not _exists(con, "pii.pii_identifiers"):
        raise ErasureError("pii.pii_identifiers does not exist: run `lawn build` first")
    if person_id:
        start = [person_id]
        given: dict[str, set[str]] = {}
    else:
        kind, value = ("email", email) if email else ("user_id", user_id)
        key = f"{kind}:{normalize(value or '')}"
        given = {kind: {normalize(value or "")}}
        start = [row[0] for row in con.execute(
            f"select distinct person_id from ({CLEAR_IDENTIFIERS}) as known where identifier_key = ? "
            "and person_id is not null", [key]).fetchall()]  # fmt: skip
        if not start and _exists(con, "snapshots.identity_map_history"):
            start = [row[0] for row in con.execute(
                "select distinct person_id from snapshots.identity_map_history where identifier_key = ? "
                "and person_id is not null", [key]).fetchall()]  # fmt: skip
    sources = [CLEAR_IDENTIFIERS]
    if _exists(con, "snapshots.identity_map_history"):
        sources.append("select identifier_key, person_id from snapshots.identity_map_history")
    keys = con.execute(
        f"select distinct identifier_key from ({' union all '.join(sources)}) as known "
        f"where person_id in (select unnest(?))",
        [start],
    ).fetchall()
    identifiers: dict[str, set[str]] = {kind: set(values) for kind, values in given.items()}
    for (key,) in keys:
        kind, _, value = key.partition(":")
        if kind in IDENTIFIER_TYPES and value:
            identifiers.setdefault(kind, set()).add(value)
    if person_id and not keys:
        raise ErasureError(f"--person-id {person_id}: no such person in pii.pii_identifiers")
    return Person(start[0] if start else person_id, identifiers)


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
    if not _exists(con, source):
        return None
    rows = con.execute(f"select cast(received_at as date), count(*) from {source} group by 1").fetchall()
    return dict(rows)


def _forget_changed_days(
    con: duckdb.DuckDBPyConnection, relation: str, source: str, before: dict[object, int] | None
) -> int:
    """Delete the rows of ``relation`` (per-day counts over ``source``) from the first receive
    day whose rows of ``source`` differ from ``before`` on (rows with no day too): the next
    incremental build rebuilds every day after the newest one it keeps. Returns rows deleted."""
    if before is None or not _exists(con, relation):
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


def _register_identifiers(con: duckdb.DuckDBPyConnection, identifiers: dict[str, set[str]]) -> None:
    for kind in (*IDENTIFIER_TYPES, "ip"):
        frame = pd.DataFrame({"value": sorted(identifiers.get(kind, set()))}, dtype="object")
        con.register(f"_erase_{kind}_frame", frame)
        con.execute(f"create or replace temp table _erase_{kind} as select value from _erase_{kind}_frame")
        con.unregister(f"_erase_{kind}_frame")


def _collect_values(con: duckdb.DuckDBPyConnection, person: Person) -> set[str]:
    """Every identifying value of the person as it was sent: identifiers, emails and the IP
    addresses of their events (read from raw landing before it is erased). Names are not
    swept (a first name alone names many people): they live only in the person's own rows
    and in derived tables, which the rebuild recomputes."""
    values = {value for group in person.identifiers.values() for value in group}
    if not _exists(con, "raw.raw_events"):
        return values
    match = _event_id_match("r", person.identifiers, "properties")
    rows = con.execute(
        f"""
        select distinct v from (
            select unnest([r.user_id, r.anonymous_id, r.device_id,
                json_extract_string(try_cast(r.properties as json), '$.email'),
                json_extract_string(try_cast(r.context as json), '$.ip')]) as v
            from raw.raw_events as r where {match}
        ) where v is not null and length(trim(v)) > 2
        """
    ).fetchall()
    values |= {row[0].strip() for row in rows}
    return {value for value in values if value}


def _person_ips(con: duckdb.DuckDBPyConnection, person: Person) -> set[str]:
    """The client IP addresses of the person's own events (lower-cased, trimmed)."""
    if not _exists(con, "raw.raw_events"):
        return set()
    match = _event_id_match("r", person.identifiers, "properties")
    ip = _ip_expression("r.context", True)
    rows = con.execute(
        f"select distinct {ip} from raw.raw_events as r where {match} and {ip} <> ''"
    ).fetchall()
    return {row[0] for row in rows if row[0]}


def _redact_other_emails(con: duckdb.DuckDBPyConnection, relation: str, payload: str, emails: str) -> int:
    """Another person's event naming an erased email (``emails``: a query of keyed hashes of
    `email:<normal form>`) gets, instead, a placeholder derived from that keyed hash: the same
    at erasure and at every later landing, still an email, linking nobody."""
    value = normalize_sql(f"json_extract_string(try_cast({payload} as json), '$.{OTHER_EMAIL_PROPERTY}')")
    hashed = hash_sql(f"'email:' || {value}")
    where = f"{hashed} in ({emails})"
    count = int(con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0])
    if count:
        con.execute(
            f"update {relation} set {payload} = cast(json_merge_patch(try_cast({payload} as json), "
            f"json_object('{OTHER_EMAIL_PROPERTY}', 'erased-' || left({hashed}, 16) || '@{REDACTED_DOMAIN}'))"
            f" as varchar) where {where}"
        )
    return count


# where each event table keeps the client IP: JSON text columns (context) and plain columns
IP_COLUMNS = {
    "raw.raw_events": (("context",), ()),
    "intermediate.int_events_deduplicated": (("context_raw",), ("context_ip",)),
    "intermediate.int_events_validated": (("context_raw",), ("context_ip",)),
    "intermediate.int_events_attributed": ((), ("ip_address",)),
}


def _ip_expression(column: str, in_json: bool) -> str:
    value = f"json_extract_string(try_cast({column} as json), '$.ip')" if in_json else column
    return f"lower(trim({value}))"


def _redact_ips(con: duckdb.DuckDBPyConnection, relation: str, ip_in: Callable[[str], str]) -> int:
    """An IP address of the erased person's events is nulled wherever it appears, in other
    people's events too (an address shared behind one router names them all):
    ``ip_in(expression)`` is the SQL test that an address is an erased one."""
    json_columns, plain_columns = IP_COLUMNS.get(relation, ((), ()))
    if not (json_columns or plain_columns):
        return 0
    tests = {column: ip_in(_ip_expression(column, True)) for column in json_columns}
    tests |= {column: ip_in(_ip_expression(column, False)) for column in plain_columns}
    where = " or ".join(f"coalesce({test}, false)" for test in tests.values())
    count = int(con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0])
    if count:
        sets = []
        for column in json_columns:
            raw_ip = f"trim(json_extract_string(try_cast({column} as json), '$.ip'))"
            sets.append(
                f"{column} = case when coalesce({tests[column]}, false) "
                f"then replace({column}, '\"' || {raw_ip} || '\"', 'null') else {column} end"
            )
        for column in plain_columns:
            sets.append(f"{column} = case when coalesce({tests[column]}, false) then null else {column} end")
        con.execute(f"update {relation} set {', '.join(sets)} where {where}")
    return count


def _string_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every base table of the warehouse and its text columns."""
    rows = con.execute(
        """
        select c.table_schema || '.' || c.table_name, c.column_name
        from information_schema.columns as c
        inner join information_schema.tables as t
            on c.table_schema = t.table_schema and c.table_name = t.table_name
        where t.table_type = 'BASE TABLE' and c.data_type in ('VARCHAR', 'JSON')
        order by 1, c.ordinal_position
        """
    ).fetchall()
    found: dict[str, list[str]] = {}
    for relation, column in rows:
        found.setdefault(relation, []).append(column)
    return found


def _value_pattern(values: set[str]) -> str:
    """A regular expression (on lower-cased text) matching one of the values as a whole
    token: alone in a cell, quoted in JSON, or inside a sentence, but never as part of a
    longer id (``usr_1`` does not match ``usr_12``, ``a@b.com`` not ``xa@b.com``)."""
    alternatives = "|".join(re.escape(value.lower()) for value in sorted(values, key=len, reverse=True))
    return f"(^|[^a-z0-9_.@-])({alternatives})($|[^a-z0-9_@-])"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sweep_predicate(columns: Iterable[str], pattern: str) -> str:
    literal = pattern.replace("'", "''")
    return " or ".join(
        f"regexp_matches(lower(cast({_quoted(column)} as varchar)), '{literal}')" for column in columns
    )


def _redact_cells(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], pattern: str) -> int:
    """A ledger keeps its rows (an action was sent, a score was made): the values inside
    its cells are replaced by ``[erased]``."""
    literal = pattern.replace("'", "''")
    where = _sweep_predicate(columns, pattern)
    count = int(con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0])
    if count:
        sets = ", ".join(
            f"{_quoted(c)} = regexp_replace({_quoted(c)}, '{literal}', '\\1[erased]\\3', 'gi')"
            for c in columns
        )
        # a value right after another shares its boundary character with it: a second pass
        for _ in range(4):
            con.execute(f"update {relation} set {sets} where {where}")
            if not con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0]:
                break
    return count


def _batches_naming(con: duckdb.DuckDBPyConnection, pattern: str) -> set[str]:
    """Published export batches whose files name one of the values."""
    if not _exists(con, "ops.export_batches"):
        return set()
    compiled = re.compile(pattern)
    found = set()
    for run_id, folder in con.execute("select run_id, folder from ops.export_batches").fetchall():
        for path in Path(folder).glob("*"):
            if path.is_file() and compiled.search(path.read_bytes().decode("utf-8", "ignore").lower()):
                found.add(run_id)
            elif path.suffix == ".parquet" and path.is_file():
                text = pd.read_parquet(path).astype("string").to_csv(index=False).lower()
                if compiled.search(text):
                    found.add(run_id)
    return found


def _rewrite_export_files(con: duckdb.DuckDBPyConnection, run_ids: set[str]) -> int:
    """Rewrite the files of export batches that named the person, from the redacted ledger."""
    if not run_ids:
        return 0
    from lawn.actions import _ledger_records, _publish_files
    from lawn.warehouse_io import DuckDBWarehouse

    rewritten = 0
    for run_id in sorted(run_ids):
        found = con.execute("select folder from ops.export_batches where run_id = ?", [run_id]).fetchall()
        if not found or not Path(found[0][0]).is_dir():
            continue
        _publish_files(_ledger_records(DuckDBWarehouse(con), run_id), Path(found[0][0]))
        rewritten += 2
    return rewritten


def _scrub_files(folders: Iterable[Path], values: set[str]) -> int:
    """Any other text file under the output folders (reports) naming a value is removed:
    it is regenerated by the next run."""
    removed = 0
    lowered = [value.lower() for value in values]
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            try:
                text = path.read_bytes().decode("utf-8", errors="ignore").lower()
            except OSError:
                continue
            if any(value in text for value in lowered):
                path.unlink()
                removed += 1
    return removed


def erase(
    db_path: Path,
    email: str | None = None,
    user_id: str | None = None,
    person_id: str | None = None,
    output_dirs: Iterable[Path] = (),
) -> ErasureResult:
    """Erase one person (see the module docstring); the caller rebuilds afterwards."""
    given = [name for name, value in (("--email", email), ("--user-id", user_id), ("--person-id", person_id))
             if value]  # fmt: skip
    if len(given) != 1:
        raise ErasureError("give exactly one of --email, --user-id, --person-id")
    if any(value is not None and not value.strip() for value in (email, user_id, person_id)):
        raise ErasureError(f"{given[0]} is empty")
    clock = time.perf_counter()
    requested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    request_id = f"erasure-{requested_at:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"
    deleted: dict[str, int] = {}
    redacted: dict[str, int] = {}
    warnings: list[str] = []
    with duckdb.connect(str(db_path)) as con:
        for table in ("ops.erasure_tombstones", "ops.erasure_requests"):
            if not _exists(con, table):
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
        _register_identifiers(con, person.identifiers)
        values = _collect_values(con, person)
        person.identifiers["ip"] = _person_ips(con, person)
        _register_identifiers(con, person.identifiers)
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
                if not _exists(con, relation):
                    continue
                match = _event_id_match(relation, person.identifiers, payload)
                if relation == VALIDATED_EVENTS and _exists(con, QUARANTINE):
                    # quarantined deliveries whose ids retention already anonymised are found
                    # by their delivery key, before the validated rows go
                    deleted[QUARANTINE] = _delete_quarantined(con, relation, match)
                count = con.execute(f"select count(*) from {relation} where {match}").fetchall()[0][0]
                if count and relation == VALID_EVENTS_TABLE and _exists(con, VALID_EVENTS):
                    # incremental feature rows of the accounts of the person's valid events (the
                    # view over the rows about to go): recomputed next build
                    valid_match = _event_id_match(VALID_EVENTS, person.identifiers, "properties")
                    deleted.update(forget_account_features(con, valid_match))
                if count:
                    con.execute(f"delete from {relation} where {match}")
                deleted[relation] = int(count)
                if person.identifiers.get("email"):
                    redacted[relation] = _redact_other_emails(con, relation, payload, ERASED_EMAIL_HASHES)
                if person.identifiers.get("ip"):
                    redacted[relation] = redacted.get(relation, 0) + _redact_ips(
                        con, relation, lambda expression: f"{expression} in (select value from _erase_ip)"
                    )
            for relation, events in PER_EVENT_TABLES.items():
                if _exists(con, relation) and _exists(con, events):
                    orphans = f"event_id not in (select event_id from {events})"
                    count = con.execute(f"select count(*) from {relation} where {orphans}").fetchall()[0][0]
                    if count:
                        con.execute(f"delete from {relation} where {orphans}")
                        deleted[relation] = int(count)
            con.execute(f"drop table if exists {ATTRIBUTION_STATE}")
            # 3. the identity history
            if _exists(con, "snapshots.identity_map_history"):
                keys = [f"{kind}:{value}" for kind, group in person.identifiers.items() for value in group]
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
            pattern = _value_pattern(values)
            touched_runs = _batches_naming(con, pattern)
            for relation, columns in _string_columns(con).items():
                schema = relation.split(".", 1)[0]
                if schema in UNSWEPT_SCHEMAS or relation in UNSWEPT_TABLES or relation in EVENT_TABLES:
                    continue
                where = _sweep_predicate(columns, pattern)
                if schema in LEDGER_SCHEMAS:
                    count = _redact_cells(con, relation, columns, pattern)
                    if count:
                        redacted[relation] = count
                    continue
                count = con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0]
                if count:
                    con.execute(f"delete from {relation} where {where}")
                    deleted[relation] = deleted.get(relation, 0) + int(count)
            for relation, columns in _string_columns(con).items():
                if relation.split(".", 1)[0] == "registry":
                    where = _sweep_predicate(columns, pattern)
                    if con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0]:
                        warnings.append(
                            f"{relation} (a configuration seed) names the person: edit its CSV in seeds/"
                        )
            # 5. per-day counts: recounted from the first day whose observations changed
            for relation, source in PER_DAY_TABLES.items():
                count = _forget_changed_days(con, relation, source, observation_days[relation])
                if count:
                    deleted[relation] = deleted.get(relation, 0) + count
            files = _rewrite_export_files(con, touched_runs)
            files += _scrub_files(output_dirs, values)
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
    return ErasureResult(
        request_id,
        person.person_id is not None,
        sum(len(group) for group in person.identifiers.values()),
        deleted,
        redacted,
        files,
        seconds,
        warnings,
    )


# --- at landing -------------------------------------------------------------------------


@dataclass
class LandingFilter:
    erased: int = 0
    redacted: int = 0
    retention: int = 0


def filter_landed(
    con: duckdb.DuckDBPyConnection,
    schema: str = "raw",
    incoming: str | None = None,
    carry: bool = False,
    load: tuple[str, dt.datetime] | None = None,
) -> LandingFilter:
    """Inside the loader's transaction, after the raw tables are landed: withhold rows of
    erased persons (tombstones), redact their emails in others' events, and withhold raw rows
    older than the latest applied raw-landing retention cutoff. Counts go to
    ``ops.landing_exclusions``. A warehouse without the privacy ledgers is left as it is.

    When the loader appended new files (or landed nothing new), ``incoming`` holds the new
    rows (None: none): only they are screened, then appended to raw.raw_events. With ``carry``
    the counts recorded are those of every delivery now landed, as landing them all again
    would count them: the previous load's counts, plus the rows `lawn retention` deleted
    from raw.raw_events since, plus this load's (docs/landing_increments.md)."""
    result = LandingFilter()
    relation = f"{schema}.raw_events"
    if schema != "raw" or not _exists(con, relation):
        if incoming is not None:
            con.execute(f"insert into {relation} select * from {incoming}")
            con.execute(f"drop table {incoming}")
        return result
    loaded_at = load[1] if load else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    load_id = load[0] if load else f"load-{loaded_at:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}"
    screened = incoming or (None if carry else relation)
    if _exists(con, "ops.erasure_tombstones") and _exists(con, "ops.identity_hash_key"):
        tombstones = con.execute(
            "select count(*), count(distinct key_id) from ops.erasure_tombstones"
        ).fetchall()[0]
        if tombstones[0]:
            installed = [row[0] for row in con.execute("select key_id from ops.identity_hash_key").fetchall()]
            made_with = {
                row[0] for row in con.execute("select distinct key_id from ops.erasure_tombstones").fetchall()
            }
            if len(installed) != 1 or made_with - set(installed):
                from lawn.raw_loader import RawFileError

                raise RawFileError(
                    f"erasure tombstones were made under identity key {', '.join(sorted(made_with))} but the "
                    f"warehouse holds {', '.join(installed) or 'none'}: landing now would bring erased "
                    "persons back (restore that key; docs/privacy.md)"
                )
            if screened is not None:
                result.erased, result.redacted = _apply_tombstones(con, screened)
    if incoming is not None:
        con.execute(f"insert into {relation} select * from {incoming}")
        con.execute(f"drop table {incoming}")
    from lawn.retention import RAW_EVENTS, STAGED_EVENTS, latest_cutoff

    cutoff = latest_cutoff(con, RAW_EVENTS)
    if cutoff is not None and screened is not None and _exists(con, STAGED_EVENTS):
        # rows landed before are past no cutoff but a later one, which `lawn retention` applied
        # to them: only the new rows can match here
        where = f"received_at in (select received_at_raw from {STAGED_EVENTS} where received_at < ?)"
        result.retention = int(
            con.execute(f"select count(*) from {relation} where {where}", [cutoff]).fetchall()[0][0]
        )
        if result.retention:
            con.execute(f"delete from {relation} where {where}", [cutoff])
    recorded = LandingFilter(result.erased, result.redacted, result.retention)
    if carry:
        previous = _previous_exclusions(con, relation)
        recorded.erased += previous.erased
        recorded.redacted += previous.redacted
        recorded.retention += previous.retention
    if _exists(con, "ops.landing_exclusions") and (
        recorded.erased or recorded.redacted or recorded.retention or cutoff is not None
    ):
        insert = landing_table("ops.landing_exclusions").insert_values_sql()
        con.execute(
            insert, [load_id, relation, "erased", recorded.erased, recorded.redacted, None, loaded_at]
        )
        con.execute(insert, [load_id, relation, "retention", recorded.retention, 0, cutoff, loaded_at])
    return result


def _previous_exclusions(con: duckdb.DuckDBPyConnection, relation: str) -> LandingFilter:
    """What the latest load recorded for ``relation``, plus the rows `lawn retention` deleted from
    it since (a full landing now would withhold those at landing). The loader lands in full when
    an erasure happened since its last landing, so no erased row is missed here."""
    from lawn.raw_loader import retention_deleted_since

    if not _exists(con, "ops.landing_exclusions"):
        return LandingFilter()
    latest = con.execute(
        "select max(loaded_at) from ops.landing_exclusions where relation_name = ?", [relation]
    ).fetchall()[0][0]
    if latest is None:
        # nothing recorded: no cutoff and no tombstone at the last landing
        since = (
            con.execute(
                "select max(landed_at) from ops.raw_landing_manifest where table_name = ?",
                [relation.split(".", 1)[1]],
            ).fetchall()[0][0]
            if _exists(con, "ops.raw_landing_manifest")
            else None
        )
        return LandingFilter(retention=retention_deleted_since(con, relation, since))
    erased, redacted, retention = con.execute(
        "select coalesce(sum(case when reason = 'erased' then rows_excluded end), 0), "
        "coalesce(sum(case when reason = 'erased' then rows_redacted end), 0), "
        "coalesce(sum(case when reason = 'retention' then rows_excluded end), 0) "
        "from ops.landing_exclusions where relation_name = ? and loaded_at = ?",
        [relation, latest],
    ).fetchall()[0]
    retention += retention_deleted_since(con, relation, latest)
    return LandingFilter(int(erased), int(redacted), int(retention))


def _apply_tombstones(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, int]:
    parts = []
    for kind, column in ID_COLUMNS.items():
        hashed = hash_sql(f"'{kind}:' || {normalize_sql(column)}")
        tombstoned = f"select identifier_hash from ops.erasure_tombstones where identifier_type = '{kind}'"
        parts.append(f"{hashed} in ({tombstoned})")
    for prop in OWN_EMAIL_PROPERTIES:
        value = normalize_sql(f"json_extract_string(try_cast(properties as json), '$.{prop}')")
        parts.append(
            f"{hash_sql(f'{chr(39)}email:{chr(39)} || {value}')} in "
            "(select identifier_hash from ops.erasure_tombstones where identifier_type = 'email')"
        )
    where = " or ".join(parts)
    erased = int(con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0])
    if erased:
        con.execute(f"delete from {relation} where {where}")
    redacted = _redact_other_emails(con, relation, "properties", TOMBSTONED_EMAILS)
    tombstoned_ips = "select identifier_hash from ops.erasure_tombstones where identifier_type = 'ip'"
    redacted += _redact_ips(
        con,
        relation,
        lambda expression: (
            f"{hash_sql(chr(39) + 'ip:' + chr(39) + ' || ' + expression)} in ({tombstoned_ips})"
        ),
    )
    return erased, redacted
