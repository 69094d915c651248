"""The staging floor: the event staging nodes' work as one hand-written DuckDB script, no dbt.

It reads the same raw events file `lawn load` lands (through the loader's own reader, so both
see the same text) and the tracking-plan seeds, and writes one table, ``events_validated``,
with the columns and verdicts of ``intermediate.int_events_validated`` after a full refresh:
trim and type, ISO 8601 times (occurred_at needs an offset), strict RFC 8259 JSON validity,
context extraction, the row hash, the dedup key and delivery numbering, the tracking plan's
property checks (counted per delivery: declared, present) and the envelope checks, folded into
reason codes and a status.

What it leaves out, on purpose: dbt's start-up, hooks and view layers, the intermediate
``int_events_deduplicated`` table (written once here, not twice), incremental bookkeeping,
and the privacy filter of `lawn load` (erased persons; a benchmark world has none).
tests_py/test_staging_floor.py checks that its verdicts equal the dbt build's, which is what
makes its time a fair floor for `scripts/benchmark.py`.

Usage: .venv/bin/python scripts/staging_floor.py --raw-dir data/raw [--db floor.duckdb]
        [--reference-time 'YYYY-MM-DD HH:MM:SS']
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lawn.contract import RAW_TABLES  # noqa: E402
from lawn.raw_reader import RawFileError, find_table_file, select_for  # noqa: E402
from lawn.settings import var  # noqa: E402

PLAN_DIR = REPO / "seeds" / "tracking_plan"
SOURCES = ("web", "ios", "android", "backend")

# ISO 8601 date-time with and without a UTC offset (the contract's two forms)
ISO_WITH_OFFSET = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?"
    r"(Z|[+-](0[0-9]|1[0-4]):?[0-5][0-9])$"
)
ISO_WITHOUT_OFFSET = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?$"
# strict JSON: every RFC 8259 value token becomes `v`, whitespace goes, and what is left may only
# hold v { } [ ] : , in allowed neighbourhoods (DuckDB's parser alone accepts NaN, trailing commas...)
JSON_VALUE_TOKEN = (
    r'"([^"\\\x01-\x1f]|\\(["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
    r"|-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?|true|false|null"
)
JSON_BAD_NEIGHBOURS = r"[^v{}:,\[\]]|[{][^v}]|\[[^\]v{\[]|v[^\]:,}]|[:,][^v{\[]|[\]}][^\]},]"
# DuckDB's parser extends RFC 8259 with NaN/Infinity and trailing commas only: text without
# these cannot have been read leniently (tests_py/test_strict_json.py fuzzes it)
JSON_MAY_BE_LENIENT = r"(?i)nan|inf|,[ \t\n\r]*[\]}]"


@dataclass(frozen=True)
class FloorResult:
    seconds: float
    rows: int
    db_path: Path


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def strict_json_object(column: str) -> str:
    """SQL: true when ``column`` holds an RFC 8259 JSON object, false otherwise (never null)."""
    tokens = (
        f"regexp_replace(regexp_replace({column}, {_literal(JSON_VALUE_TOKEN)}, 'v', 'g'), "
        r"'[ \t\n\r]+', '', 'g')"
    )
    # json_type errors on malformed text and AND does not short-circuit: the checks are a CASE,
    # and the costly token check runs only where DuckDB's parser could have been lenient
    # (NaN/Inf in any case, a comma before a closing bracket), as in the is_valid_json macro
    return (
        f"case when not coalesce(json_valid({column}), false) then false "
        f"when json_type({column}) <> 'OBJECT' then false "
        f"when not regexp_matches({column}, {_literal(JSON_MAY_BE_LENIENT)}) then true "
        f"else coalesce(not regexp_matches({tokens}, {_literal(JSON_BAD_NEIGHBOURS)}), false) end"
    )


def utc_timestamp(column: str, require_offset: bool) -> str:
    """SQL: ISO 8601 text -> UTC timestamp; without an offset UTC, or null with ``require_offset``."""
    without = (
        ""
        if require_offset
        else f" when regexp_matches(trim({column}), {_literal(ISO_WITHOUT_OFFSET)})"
        f" then try_cast(trim({column}) as timestamp)"
    )
    full = (
        f"case when regexp_matches(trim({column}), {_literal(ISO_WITH_OFFSET)})"
        f" then timezone('UTC', try_cast(trim({column}) as timestamptz)){without} end"
    )
    # the staging models' DuckDB fast path (macros/portability/parse_iso_timestamp_utc.sql), so
    # that the floor does the same work the models do: a fixed-format strptime for the
    # toISOString() form, guarded to texts the full parse reads the same way
    fast = (
        f"case when {column} like '____-__-__T__:__:__.___Z' and {column} >= '0' and {column} < ':'"
        f" then try_strptime({column}, '%Y-%m-%dT%H:%M:%S.%gZ') end"
    )
    return f"coalesce({fast}, {full})"


def raw_events_select(connection: duckdb.DuckDBPyConnection, raw_dir: Path) -> str:
    """The SELECT reading ``raw_dir``'s raw events file as text, exactly as `lawn load` lands it."""
    table = RAW_TABLES["raw_events"]
    path = find_table_file(raw_dir, table)
    if path is None:
        raise RawFileError(f"{raw_dir / 'raw_events.csv'}: file not found")
    select, _, _ = select_for(connection, table, path)
    return select


def load_plan(connection: duckdb.DuckDBPyConnection, plan_dir: Path = PLAN_DIR) -> None:
    """The tracking plan and reason codes as temp tables, typed as the seeds' YAML types them."""
    seeds = {
        "plan_events": (
            "tracking_plan_events.csv",
            "{'event_name': 'VARCHAR', 'schema_version': 'INTEGER', 'category': 'VARCHAR', "
            "'status': 'VARCHAR', 'released_on': 'DATE', 'owner': 'VARCHAR', 'description': 'VARCHAR'}",
        ),
        "plan_properties_raw": (
            "tracking_plan_properties.csv",
            "{'event_name': 'VARCHAR', 'schema_version': 'INTEGER', 'property_name': 'VARCHAR', "
            "'data_type': 'VARCHAR', 'is_required': 'BOOLEAN', 'allowed_values': 'VARCHAR', "
            "'min_value': 'DOUBLE', 'max_value': 'DOUBLE', 'pattern': 'VARCHAR', "
            "'pii_class': 'VARCHAR', 'owner': 'VARCHAR', 'purpose': 'VARCHAR'}",
        ),
        "reason_codes": (
            "quarantine_reason_codes.csv",
            "{'reason_code': 'VARCHAR', 'check_scope': 'VARCHAR', 'severity_rank': 'INTEGER', "
            "'description': 'VARCHAR'}",
        ),
    }
    for name, (file, columns) in seeds.items():
        connection.execute(
            f"create or replace temp table {name} as select * from read_csv("
            f"{_literal(str(plan_dir / file))}, header = true, auto_detect = false, columns = {columns})"
        )
    connection.execute(
        """
        create or replace temp table plan_properties as
        select
            event_name,
            schema_version,
            property_name,
            lower(data_type) as data_type,
            coalesce(is_required, false) as is_required,
            nullif(allowed_values, '') as allowed_values,
            min_value,
            max_value,
            nullif(pattern, '') as pattern
        from plan_properties_raw
        """
    )


def pattern_check(value: str, pattern: str, patterns: tuple[str, ...]) -> str:
    """SQL: ``value`` matches ``pattern``, each known pattern written as a literal (compiled once
    per query, not once per row), as the regexp_like_known_patterns macro does."""
    branches = " ".join(
        f"when {pattern} = {_literal(known)} then regexp_matches({value}, {_literal(known)})"
        for known in patterns
    )
    return f"case {branches} else regexp_matches({value}, {pattern}) end"


def floor_sql(raw_select: str, reference_time: dt.datetime, patterns: tuple[str, ...] = ()) -> str:
    """The one statement that stages, deduplicates and validates every raw delivery;
    ``patterns`` are the tracking plan's distinct property patterns."""
    earliest = f"timestamp {_literal(str(var('received_at_earliest_date')))}"
    latest_allowed = reference_time + dt.timedelta(minutes=int(var("received_at_max_future_minutes")))
    latest = f"timestamp {_literal(latest_allowed.strftime('%Y-%m-%d %H:%M:%S'))}"
    skew = int(var("clock_skew_tolerance_minutes"))
    max_age = int(var("max_event_age_days"))
    max_payload = int(var("max_payload_characters"))
    # one concat() call (a chain of || copies the growing text once per column)
    row_hash = ", '|', ".join(
        f"coalesce('s' || cast({column} as varchar), 'n')"
        for column in (
            "event_id", "event_name", "schema_version", "source", "occurred_at", "received_at",
            "anonymous_id", "device_id", "user_id", "account_id", "context", "properties",
        )
    )  # fmt: skip
    # the context's keys parsed once for all of them (one JSON parse per row)
    context_keys = ("platform", "app_version", "locale", "error_code", "ip", "latency_ms")
    context_paths = ", ".join(f"'$.{key}'" for key in context_keys)
    context_columns = ",\n".join(
        f"context_list[{position}] as context_{key}"
        for position, key in enumerate(context_keys[:-1], start=1)
    )
    sources = ", ".join(_literal(source) for source in SOURCES)
    return f"""
    create or replace table events_validated as
    with raw as ({raw_select}),
    typed as (
        select
            nullif(trim(event_id), '') as event_id,
            nullif(trim(event_name), '') as event_name,
            schema_version as schema_version_raw,
            try_cast(trim(schema_version) as integer) as schema_version,
            lower(nullif(trim(source), '')) as source,
            occurred_at as occurred_at_raw,
            received_at as received_at_raw,
            {utc_timestamp("occurred_at", require_offset=True)} as occurred_at,
            {utc_timestamp("received_at", require_offset=False)} as received_at,
            nullif(trim(anonymous_id), '') as anonymous_id,
            nullif(trim(device_id), '') as device_id,
            nullif(trim(user_id), '') as user_id,
            nullif(trim(account_id), '') as account_id,
            context as context_raw,
            properties as properties_raw,
            {strict_json_object("context")} as is_context_valid_json,
            {strict_json_object("properties")} as is_properties_valid_json,
            md5(concat({row_hash})) as raw_row_hash
        from raw
    ),
    parsed as (
        select
            typed.*,
            case when is_context_valid_json
                then json_extract_string(context_raw, [{context_paths}])
            end as context_list
        from typed
    ),
    numbered as (
        select
            parsed.* exclude (context_list),
            {context_columns},
            try_cast(context_list[{len(context_keys)}] as double) as context_latency_ms,
            coalesce(event_id, 'no-event-id:' || raw_row_hash) as dedup_key,
            coalesce(received_at < {earliest} or received_at > {latest}, false) as is_out_of_range,
            row_number() over (
                partition by coalesce(event_id, 'no-event-id:' || raw_row_hash)
                order by
                    case when not (received_at < {earliest} or received_at > {latest}) then 0 else 1 end,
                    received_at nulls last,
                    raw_row_hash
            ) as delivery_number
        from parsed
    ),
    envelope as (
        select
            numbered.*,
            dedup_key || '#' || cast(delivery_number as varchar) as raw_event_key,
            case when delivery_number = 1 then list_filter([
                case when event_id is null then 'MISSING_EVENT_ID' end,
                case when received_at is null then 'INVALID_RECEIVED_AT' end,
                case when is_out_of_range then 'RECEIVED_AT_OUT_OF_RANGE' end,
                case when coalesce(length(properties_raw), 0) + coalesce(length(context_raw), 0)
                    > {max_payload} then 'PAYLOAD_TOO_LARGE' end,
                case when not is_properties_valid_json then 'MALFORMED_PROPERTIES_JSON' end,
                case when context_raw is not null and not is_context_valid_json
                    and trim(context_raw) != 'null' then 'MALFORMED_CONTEXT_JSON' end,
                case when known_names.event_name is null then 'UNKNOWN_EVENT' end,
                case when known_names.event_name is not null and plan_events.event_name is null
                    then 'UNKNOWN_SCHEMA_VERSION' end,
                case when plan_events.event_name is not null
                    and not coalesce(lower(plan_events.status) = 'live', false)
                    then 'RETIRED_SCHEMA_VERSION' end,
                case when coalesce(numbered.source, '') not in ({sources}) then 'INVALID_SOURCE' end,
                case when occurred_at is null then 'INVALID_OCCURRED_AT' end,
                case when not is_out_of_range
                    and occurred_at > received_at + interval {skew} minute then 'OCCURRED_IN_FUTURE' end,
                case when not is_out_of_range
                    and occurred_at < received_at - interval {max_age} day then 'OCCURRED_TOO_LONG_AGO' end,
                case when anonymous_id is null and device_id is null and user_id is null
                    and account_id is null then 'NO_IDENTIFIER' end
            ], lambda code: code is not null) end as envelope_codes
        from numbered
        left join (select distinct event_name from plan_events) as known_names
            on numbered.event_name = known_names.event_name
        left join plan_events
            on numbered.event_name = plan_events.event_name
            and numbered.schema_version = plan_events.schema_version
    ),
    first_deliveries as (
        select raw_event_key, event_name, schema_version, properties_raw
        from envelope
        where delivery_number = 1 and is_properties_valid_json
    ),
    property_values as (
        select
            first_deliveries.raw_event_key,
            plan_properties.*,
            case json_type(first_deliveries.properties_raw, '$.' || plan_properties.property_name)
                when 'VARCHAR' then 'string'
                when 'BIGINT' then 'integer'
                when 'UBIGINT' then 'integer'
                when 'HUGEINT' then 'integer'
                when 'DOUBLE' then 'number'
                when 'BOOLEAN' then 'boolean'
                when 'NULL' then 'null'
                when 'OBJECT' then 'object'
                when 'ARRAY' then 'array'
            end as json_type,
            json_extract_string(first_deliveries.properties_raw, '$.' || plan_properties.property_name)
                as value_text
        from first_deliveries
        inner join plan_properties
            on first_deliveries.event_name = plan_properties.event_name
            and first_deliveries.schema_version = plan_properties.schema_version
    ),
    property_failures as (
        select raw_event_key, property_name, coalesce(json_type, 'null') != 'null' as is_present, case
            when coalesce(json_type, 'null') = 'null' and is_required then 'MISSING_REQUIRED_PROPERTY'
            when coalesce(json_type, 'null') = 'null' then null
            when not case data_type
                when 'string' then json_type = 'string'
                when 'integer' then json_type = 'integer' or (json_type = 'number'
                    and try_cast(value_text as double) = floor(try_cast(value_text as double))
                    and abs(try_cast(value_text as double)) <= 9007199254740992)
                when 'number' then json_type in ('integer', 'number')
                when 'boolean' then json_type = 'boolean'
                else false
            end then 'WRONG_TYPE'
            when allowed_values is not null
                and (position('|' in value_text) > 0
                    or position('|' || value_text || '|' in '|' || allowed_values || '|') = 0)
                then 'VALUE_NOT_ALLOWED'
            when (case when json_type in ('integer', 'number') then try_cast(value_text as double) end)
                not between coalesce(min_value, '-inf'::double) and coalesce(max_value, 'inf'::double)
                then 'OUT_OF_RANGE'
            when pattern is not null and not {pattern_check("value_text", "pattern", patterns)}
                then 'PATTERN_MISMATCH'
        end as reason_code
        from property_values
    ),
    declared_properties as (
        select event_name, schema_version, count(*) as declared_property_count
        from plan_properties
        group by event_name, schema_version
    ),
    absent_properties as (
        select raw_event_key, count(*) as absent_property_count
        from property_failures
        where not is_present
        group by raw_event_key
    ),
    failures as (
        select raw_event_key, unnest(envelope_codes) as reason_code, null::varchar as property_name
        from envelope
        where len(envelope_codes) > 0
        union all
        select raw_event_key, reason_code, property_name
        from property_failures
        where reason_code is not null
    ),
    ranked as (
        select
            failures.raw_event_key,
            failures.reason_code,
            reason_codes.severity_rank,
            failures.reason_code || coalesce(':' || failures.property_name, '') as reason_detail
        from failures
        inner join reason_codes on failures.reason_code = reason_codes.reason_code
    ),
    verdicts as (
        select
            raw_event_key,
            list_sort(list_distinct(list(struct_pack(rank := severity_rank, code := reason_code))))
                as ranked_codes,
            string_agg(reason_detail, '|' order by severity_rank, reason_detail) as reason_details,
            count(distinct reason_code) as reason_count,
            arg_min(reason_code, severity_rank) as primary_reason_code
        from ranked
        group by raw_event_key
    )
    select
        envelope.raw_event_key,
        envelope.dedup_key,
        envelope.delivery_number,
        envelope.delivery_number > 1 as is_redelivery,
        envelope.event_id,
        envelope.event_name,
        envelope.schema_version_raw,
        envelope.schema_version,
        envelope.source,
        envelope.occurred_at_raw,
        envelope.received_at_raw,
        envelope.occurred_at,
        envelope.received_at,
        envelope.anonymous_id,
        envelope.device_id,
        envelope.user_id,
        envelope.account_id,
        envelope.context_raw,
        envelope.properties_raw,
        envelope.is_context_valid_json,
        envelope.is_properties_valid_json,
        envelope.context_platform,
        envelope.context_app_version,
        envelope.context_locale,
        envelope.context_latency_ms,
        envelope.context_error_code,
        envelope.context_ip,
        envelope.raw_row_hash,
        array_to_string(list_transform(verdicts.ranked_codes, lambda ranked: ranked.code), '|')
            as reason_codes,
        verdicts.reason_details,
        verdicts.primary_reason_code,
        case
            when envelope.delivery_number > 1 then 'duplicate'
            when verdicts.raw_event_key is not null then 'quarantined'
            else 'valid'
        end as delivery_status,
        coalesce(verdicts.reason_count, 0) as reason_count,
        case when envelope.delivery_number > 1 then null
            when envelope.is_properties_valid_json
                then coalesce(declared_properties.declared_property_count, 0)
            else 0 end as declared_property_count,
        case when envelope.delivery_number > 1 then null
            when envelope.is_properties_valid_json
                then coalesce(declared_properties.declared_property_count, 0)
                    - coalesce(absent_properties.absent_property_count, 0)
            else 0 end as present_property_count
    from envelope
    left join verdicts on envelope.raw_event_key = verdicts.raw_event_key
    left join declared_properties on envelope.event_name = declared_properties.event_name
        and envelope.schema_version = declared_properties.schema_version
    left join absent_properties on envelope.raw_event_key = absent_properties.raw_event_key
    """


def run_floor(
    raw_dir: Path,
    db_path: Path,
    reference_time: dt.datetime | None = None,
    threads: int | None = None,
) -> FloorResult:
    """Stage, deduplicate and validate ``raw_dir``'s raw events into ``db_path`` (replaced)."""
    reference_time = reference_time or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    db_path.unlink(missing_ok=True)
    start = time.perf_counter()
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("set TimeZone = 'UTC'")
        if threads:
            connection.execute(f"set threads = {int(threads)}")
        load_plan(connection)
        patterns = [row[0] for row in connection.execute(
            "select distinct pattern from plan_properties where pattern is not null order by 1"
        ).fetchall()]  # fmt: skip
        connection.execute(floor_sql(raw_events_select(connection, raw_dir), reference_time, tuple(patterns)))
        rows = connection.execute("select count(*) from events_validated").fetchone()[0]
    return FloorResult(time.perf_counter() - start, rows, db_path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raw-dir", type=Path, required=True, help="folder holding raw_events.<ext>")
    parser.add_argument("--db", type=Path, default=Path("floor.duckdb"), help="DuckDB file to write")
    parser.add_argument(
        "--reference-time",
        default="",
        help="'YYYY-MM-DD HH:MM:SS' UTC that receive times are judged against (default: now)",
    )
    args = parser.parse_args()
    try:
        reference = dt.datetime.fromisoformat(args.reference_time) if args.reference_time else None
    except ValueError:
        print(f"--reference-time: {args.reference_time!r} is not 'YYYY-MM-DD HH:MM:SS'", file=sys.stderr)
        sys.exit(2)
    try:
        result = run_floor(args.raw_dir, args.db, reference)
    except RawFileError as exc:
        print(str(exc), file=sys.stderr)
        sys.exit(2)
    except duckdb.Error as exc:
        print(f"staging floor failed: {str(exc).splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
    print(f"staging floor: {result.rows:,} deliveries in {result.seconds:.2f} s -> {result.db_path}")
    with duckdb.connect(str(result.db_path), read_only=True) as connection:
        for status, count in connection.execute(
            "select delivery_status, count(*) from events_validated group by 1 order by 1"
        ).fetchall():
            print(f"  {status:<12} {count:>10,}")


if __name__ == "__main__":
    main()
