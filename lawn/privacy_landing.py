"""Privacy at landing: the loader (`lawn.raw_loader`) applies the erasure tombstones and the
raw-landing retention cutoff to the rows it lands (`filter_landed`). A later `lawn load` or
`lawn build` of the same raw files withholds an erased person's rows again, redacts their
email in others' events, withholds rows past the latest applied cutoff, and records how many
in ``ops.landing_exclusions``. Tombstones only match under the key they were made with: the
loader refuses to land when the installed key differs (see docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import duckdb

from lawn.landing import landing_table
from lawn.privacy_maps import (
    ID_COLUMNS,
    OWN_EMAIL_PROPERTIES,
    TOMBSTONED_EMAILS,
    TOMBSTONED_USER_IDS,
    hash_sql,
    normalize_sql,
    redact_ips,
    redact_other_emails,
    redact_other_user_ids,
)
from lawn.privacy_mentions import redact_mentions
from lawn.warehouse import relation_exists


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
    if schema != "raw" or not relation_exists(con, relation):
        if incoming is not None:
            con.execute(f"insert into {relation} select * from {incoming}")
            con.execute(f"drop table {incoming}")
        return result
    loaded_at = load[1] if load else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    load_id = load[0] if load else f"load-{loaded_at:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}"
    screened = incoming or (None if carry else relation)
    if relation_exists(con, "ops.erasure_tombstones") and relation_exists(con, "ops.identity_hash_key"):
        tombstones = con.execute(
            "select count(*), count(distinct key_id) from ops.erasure_tombstones"
        ).fetchall()[0]
        if tombstones[0]:
            installed = [row[0] for row in con.execute("select key_id from ops.identity_hash_key").fetchall()]
            made_with = {
                row[0] for row in con.execute("select distinct key_id from ops.erasure_tombstones").fetchall()
            }
            if len(installed) != 1 or made_with - set(installed):
                from lawn.raw_reader import RawFileError

                raise RawFileError(
                    f"erasure tombstones were made under identity key {', '.join(sorted(made_with))} but the "
                    f"warehouse holds {', '.join(installed) or 'none'}: landing now would bring erased "
                    "persons back (restore that key; docs/privacy.md)"
                )
            if screened is not None:
                result.erased, result.redacted = _apply_tombstones(con, screened)
            # the other raw tables (a CRM account keyed by an erased sole trader's email): their
            # rows are few, screened whole at every load; not counted among the event rows
            for other in _other_raw_tables(con, schema):
                redact_mentions(con, other, _text_columns(con, other), in_json=False, user_ids=False)
    if incoming is not None:
        con.execute(f"insert into {relation} select * from {incoming}")
        con.execute(f"drop table {incoming}")
    from lawn.retention import RAW_EVENTS, RAW_OLDER, STAGED_EVENTS, latest_cutoff

    cutoff = latest_cutoff(con, RAW_EVENTS)
    if cutoff is not None and screened is not None and relation_exists(con, STAGED_EVENTS):
        # rows landed before are past no cutoff but a later one, which `lawn retention` applied
        # to them: only the new rows can match here. The age is retention's (RAW_OLDER).
        older = f"select count(*) from {relation} where {RAW_OLDER}"
        result.retention = int(con.execute(older, [cutoff, cutoff]).fetchall()[0][0])
        if result.retention:
            con.execute(f"delete from {relation} where {RAW_OLDER}", [cutoff, cutoff])
    recorded = LandingFilter(result.erased, result.redacted, result.retention)
    if carry:
        previous = _previous_exclusions(con, relation)
        recorded.erased += previous.erased
        recorded.redacted += previous.redacted
        recorded.retention += previous.retention
    if relation_exists(con, "ops.landing_exclusions") and (
        recorded.erased or recorded.redacted or recorded.retention or cutoff is not None
    ):
        insert = landing_table("ops.landing_exclusions").insert_values_sql()
        con.execute(
            insert, [load_id, relation, "erased", recorded.erased, recorded.redacted, None, loaded_at]
        )
        con.execute(insert, [load_id, relation, "retention", recorded.retention, 0, cutoff, loaded_at])
    return result


def _other_raw_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    from lawn.contract import RAW_TABLES

    names = [f"{schema}.{name}" for name in RAW_TABLES if name != "raw_events"]
    return [name for name in names if relation_exists(con, name)]


def _text_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    schema, table = relation.split(".", 1)
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "and data_type = 'VARCHAR' order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [row[0] for row in rows]


def _previous_exclusions(con: duckdb.DuckDBPyConnection, relation: str) -> LandingFilter:
    """What the latest load recorded for ``relation``, plus the rows `lawn retention` deleted from
    it since (a full landing now would withhold those at landing). The loader lands in full when
    an erasure happened since its last landing, so no erased row is missed here."""
    from lawn.raw_deliveries import retention_deleted_since

    if not relation_exists(con, "ops.landing_exclusions"):
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
            if relation_exists(con, "ops.raw_landing_manifest")
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
    redacted = redact_other_emails(con, relation, "properties", TOMBSTONED_EMAILS)
    redacted += redact_other_user_ids(con, relation, "properties", TOMBSTONED_USER_IDS)
    # their email or user id inside another event's text (a comment, an error message)
    redacted += redact_mentions(con, relation, ["properties"])
    tombstoned_ips = "select identifier_hash from ops.erasure_tombstones where identifier_type = 'ip'"
    redacted += redact_ips(
        con,
        relation,
        lambda expression: (
            f"{hash_sql(chr(39) + 'ip:' + chr(39) + ' || ' + expression)} in ({tombstoned_ips})"
        ),
    )
    return erased, redacted
