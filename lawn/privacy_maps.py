"""What the privacy code knows of the warehouse, shared by erasure (`lawn.privacy`) and the
landing filter (`lawn.privacy_landing`): the relation maps (which tables carry events, which
are derived per event or per day, where identifiers, emails and IP addresses sit, which
schemas are ledgers or never swept), the identifier's normal form and keyed hash (Python and
DuckDB SQL), and the two redactions both apply to an event table (another person's email,
an erased IP address)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import duckdb

from lawn.contract import fold_case

IDENTIFIER_TYPES = ("user_id", "anonymous_id", "device_id", "email")
# raw event columns that hold an identifier of the type named
ID_COLUMNS = {"user_id": "user_id", "anonymous_id": "anonymous_id", "device_id": "device_id"}
# event properties that hold the sender's own email, and another person's
OWN_EMAIL_PROPERTIES = ("email",)
OTHER_EMAIL_PROPERTY = "invitee_email"
# event properties that hold another person's user id (signed_up.invited_by_user_id: the inviter)
OTHER_USER_ID_PROPERTIES = ("invited_by_user_id",)
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
# the rows each run of int_events_attributed really changed, with a sign, for the models that
# apply them as deltas (int_activity_days, int_moments_reached, int_person_event_extents):
# dropped by an erasure and by a retention run that deletes attributed events, since both
# delete rows outside dbt; the next build writes a 'full' run and those models rebuild in full
# (docs/incremental_attribution.md)
ATTRIBUTION_CHANGES = "intermediate.int_events_attributed__changes"
ATTRIBUTED_EVENTS = "intermediate.int_events_attributed"
# the link days added up per pair, incrementally from the newest day it holds: dropped, since
# an erasure deletes link days older than that (PER_DAY_TABLES); the next build adds every
# pair up again (docs/incremental_identity_links.md, "Totals")
LINK_TOTALS = "intermediate.int_identity_link_totals"
# the edges each connected-components model last labelled, with their labels: dropped, since
# the sweep below would delete some of their rows and leave labels that no longer match them;
# the next build labels every component again (docs/incremental_components.md)
COMPONENT_STATES = tuple(
    f"intermediate.{model}__components_state"
    for model in ("int_identity_deterministic_components", "int_identity_user_components",
                  "int_identity_device_clusters")
)  # fmt: skip
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
TOMBSTONED_USER_IDS = "select identifier_hash from ops.erasure_tombstones where identifier_type = 'user_id'"
ERASED_EMAIL_HASHES = TOMBSTONED_EMAILS  # erase() writes the tombstones before it redacts


class ErasureError(ValueError):
    """The request cannot be served (unknown person, no build, no key); one line, exit 2."""


def normalize(value: str) -> str:
    """Python twin of the ``normalize_identifier`` macro (the identity graph's normal form)."""
    text = fold_case("".join(ch for ch in value if ch not in INVISIBLE))
    text = re.sub(r"^[<\"']*(mailto:)?[<\"']*", "", text)
    return re.sub(r"[>\"'.]*$", "", text)


def normalize_sql(expression: str) -> str:
    """DuckDB SQL of ``normalize_identifier`` (same steps as the macro, and the same DuckDB form
    of its character removal: one character class, not DuckDB's slow translate)."""
    invisible = INVISIBLE.replace("'", "''")
    return (
        "regexp_replace(regexp_replace(replace(lower(replace("
        f"regexp_replace({expression}, '[{invisible}]', '', 'g'), "
        "'\u0130', 'i')), '\u03c2', '\u03c3'), "
        f"'^[<\"'']*(mailto:)?[<\"'']*', ''), '[>\"''.]*$', '')"
    )


def keyed_hash_from_pads(inner_hex: str, outer_hex: str, message: str) -> str:
    """HMAC-SHA256 hex from the key's padded forms (what the ``keyed_hash`` macro computes)."""
    inner = hashlib.sha256(bytes.fromhex(inner_hex) + message.encode()).digest()
    return hashlib.sha256(bytes.fromhex(outer_hex) + inner).hexdigest()


# Python twin of the is_email_shaped macro, on an identifier's normal form (unanchored search)
EMAIL_SHAPED = re.compile(r"[^@]+@[^@]+[.][a-z]{2,}")


def shown_identifier_key(kind: str, value: str, inner_hex: str, outer_hex: str) -> str:
    """The identifier_key marts show for an identifier in normal form (the
    masked_identifier_value macro): an email, or an email-shaped id, as `kind:<keyed hash>`."""
    if kind == "email":
        return f"{kind}:{keyed_hash_from_pads(inner_hex, outer_hex, value)}"
    if "@" in value and EMAIL_SHAPED.search(normalize(value)):
        return f"{kind}:{keyed_hash_from_pads(inner_hex, outer_hex, normalize(value))}"
    return f"{kind}:{value}"


def hash_sql(expression: str) -> str:
    """DuckDB SQL: HMAC-SHA256 hex of ``expression`` under the key installed in ops.identity_hash_key."""
    return (
        f"sha256(unhex((select outer_pad_hex from ops.identity_hash_key)) || "
        f"unhex(sha256(unhex((select inner_pad_hex from ops.identity_hash_key)) || encode({expression}))))"
    )


# where each event table keeps the client IP: JSON text columns (context) and plain columns
IP_COLUMNS = {
    "raw.raw_events": (("context",), ()),
    "intermediate.int_events_deduplicated": (("context_raw",), ("context_ip",)),
    "intermediate.int_events_validated": (("context_raw",), ("context_ip",)),
    "intermediate.int_events_attributed": ((), ("ip_address",)),
}


def _redact_property(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    payload: str,
    prop: str,
    kind: str,
    hashes: str,
    suffix: str,
) -> int:
    """Replace the property ``prop`` of the rows whose value's keyed hash (`kind:<normal form>`)
    is in ``hashes`` by `erased-<16 hex of that hash>` + ``suffix``; the number of rows."""
    value = normalize_sql(f"json_extract_string(try_cast({payload} as json), '$.{prop}')")
    hashed = hash_sql(f"'{kind}:' || {value}")
    where = f"{hashed} in ({hashes})"
    count = int(con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0])
    if count:
        con.execute(
            f"update {relation} set {payload} = cast(json_merge_patch(try_cast({payload} as json), "
            f"json_object('{prop}', 'erased-' || left({hashed}, 16) || '{suffix}'))"
            f" as varchar) where {where}"
        )
    return count


def redact_other_emails(con: duckdb.DuckDBPyConnection, relation: str, payload: str, emails: str) -> int:
    """Another person's event naming an erased email (``emails``: a query of keyed hashes of
    `email:<normal form>`) gets, instead, a placeholder derived from that keyed hash: the same
    at erasure and at every later landing, still an email, linking nobody."""
    return _redact_property(
        con, relation, payload, OTHER_EMAIL_PROPERTY, "email", emails, f"@{REDACTED_DOMAIN}"
    )


def redact_other_user_ids(con: duckdb.DuckDBPyConnection, relation: str, payload: str, user_ids: str) -> int:
    """Another person's event naming an erased user id in a property (the inviter of a
    signup: ``OTHER_USER_ID_PROPERTIES``; ``user_ids``: a query of keyed hashes of
    `user_id:<normal form>`) gets `erased-<16 hex of the keyed hash>` instead: the same at
    erasure and at every later landing, linking nobody. The number of rows changed."""
    return sum(
        _redact_property(con, relation, payload, prop, "user_id", user_ids, "")
        for prop in OTHER_USER_ID_PROPERTIES
    )


def ip_expression(column: str, in_json: bool) -> str:
    value = f"json_extract_string(try_cast({column} as json), '$.ip')" if in_json else column
    return f"lower(trim({value}))"


def redact_ips(con: duckdb.DuckDBPyConnection, relation: str, ip_in: Callable[[str], str]) -> int:
    """An IP address of the erased person's events is nulled wherever it appears, in other
    people's events too (an address shared behind one router names them all):
    ``ip_in(expression)`` is the SQL test that an address is an erased one."""
    json_columns, plain_columns = IP_COLUMNS.get(relation, ((), ()))
    if not (json_columns or plain_columns):
        return 0
    tests = {column: ip_in(ip_expression(column, True)) for column in json_columns}
    tests |= {column: ip_in(ip_expression(column, False)) for column in plain_columns}
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
