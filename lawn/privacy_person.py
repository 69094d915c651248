"""Erasure, step 1: who the person is. Their identifiers through the identity graph and its
history (`resolve_person`), the SQL matching an event row that carries one of them, and the
values of theirs the sweep looks for (identifiers, emails and the IP addresses of their
events), registered as temporary tables for the erasure's SQL."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from lawn.privacy_maps import (
    ID_COLUMNS,
    IDENTIFIER_TYPES,
    OWN_EMAIL_PROPERTIES,
    ErasureError,
    ip_expression,
    normalize,
    normalize_sql,
)
from lawn.warehouse import relation_exists


@dataclass
class Person:
    person_id: str | None
    identifiers: dict[str, set[str]]  # type -> normalized values


def event_id_match(alias: str, identifiers: dict[str, set[str]], payload: str) -> str:
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
# every key of the current map, in clear and as the marts (and newer snapshot versions) show it
CURRENT_KEYS = f"{CLEAR_IDENTIFIERS} union all select identifier_key, person_id from pii.pii_identifiers"


def resolve_person(
    con: duckdb.DuckDBPyConnection, email: str | None, user_id: str | None, person_id: str | None
) -> Person:
    """The person's identifiers (normal form), from the identity graph and its history."""
    if not relation_exists(con, "pii.pii_identifiers"):
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
        if not start and relation_exists(con, "snapshots.identity_map_history"):
            start = [row[0] for row in con.execute(
                "select distinct person_id from snapshots.identity_map_history where identifier_key = ? "
                "and person_id is not null", [key]).fetchall()]  # fmt: skip
    sources = [CLEAR_IDENTIFIERS]
    if relation_exists(con, "snapshots.identity_map_history"):
        # an identifier the person held in the past, unless the current map gives it to
        # nobody (now shared: a browser another user logged in on later) or to someone else
        sources.append(
            "select identifier_key, person_id from snapshots.identity_map_history as past "
            f"where not exists (select 1 from ({CURRENT_KEYS}) as now where now.identifier_key = "
            "past.identifier_key and (now.person_id is null or now.person_id <> past.person_id))"
        )
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


def register_identifiers(con: duckdb.DuckDBPyConnection, identifiers: dict[str, set[str]]) -> None:
    for kind in (*IDENTIFIER_TYPES, "ip"):
        frame = pd.DataFrame({"value": sorted(identifiers.get(kind, set()))}, dtype="object")
        con.register(f"_erase_{kind}_frame", frame)
        con.execute(f"create or replace temp table _erase_{kind} as select value from _erase_{kind}_frame")
        con.unregister(f"_erase_{kind}_frame")


def collect_values(con: duckdb.DuckDBPyConnection, person: Person) -> set[str]:
    """Every identifying value of the person as it was sent: identifiers, emails and the IP
    addresses of their events (read from raw landing before it is erased). Names are not
    swept (a first name alone names many people): they live only in the person's own rows
    and in derived tables, which the rebuild recomputes."""
    values = {value for group in person.identifiers.values() for value in group}
    if not relation_exists(con, "raw.raw_events"):
        return values
    match = event_id_match("r", person.identifiers, "properties")
    rows = con.execute(
        f"""
        select distinct kind, v from (
            select unnest(['user_id', 'anonymous_id', 'device_id', 'email', 'ip']) as kind,
                unnest([r.user_id, r.anonymous_id, r.device_id,
                json_extract_string(try_cast(r.properties as json), '$.email'),
                json_extract_string(try_cast(r.context as json), '$.ip')]) as v
            from raw.raw_events as r where {match}
        ) where v is not null and length(trim(v)) > 2
        """
    ).fetchall()
    # an id on their rows is swept in the spelling sent only if it is theirs: a shared
    # browser or device on their events is nobody's and stays (others' rows name it too)
    values |= {
        value.strip()
        for kind, value in rows
        if kind not in ID_COLUMNS or normalize(value) in person.identifiers.get(kind, set())
    }
    return {value for value in values if value}


def person_ips(con: duckdb.DuckDBPyConnection, person: Person) -> set[str]:
    """The client IP addresses of the person's own events (lower-cased, trimmed)."""
    if not relation_exists(con, "raw.raw_events"):
        return set()
    match = event_id_match("r", person.identifiers, "properties")
    ip = ip_expression("r.context", True)
    rows = con.execute(
        f"select distinct {ip} from raw.raw_events as r where {match} and {ip} <> ''"
    ).fetchall()
    return {row[0] for row in rows if row[0]}
