{#- One row per raw delivery: trimmed, typed, timestamps in UTC, payloads checked for JSON;
    an identifier written as a null marker (`NULL`, `\N`, `N/A`, ...: null_marker_as_missing)
    is missing. Nothing is filtered here (deduplication and validation happen downstream), except in a
    replay (var as_of_date): then deliveries received after that day are not there yet. -#}
{#- `typed` reads the landing table itself, without the house style's `select *` import CTE:
    through such a CTE DuckDB (2.0.1) keeps a filter on a computed column above the scan, so
    the incremental event model's receive-time window (incremental_window_predicate) read
    every column of every raw row before filtering; read directly, the window is a filter
    of the scan, which reads the other columns only for the rows in the window
    (docs/performance.md, "The raw scan of the one-day increment"). -#}
with

typed as (

    select
        {{ raw_row_locator(source('tracking', 'raw_events')) }} as raw_rowid,
        nullif(trim(event_id), '') as event_id,
        nullif(trim(event_name), '') as event_name,
        schema_version as schema_version_raw,
        {{ try_cast('trim(schema_version)', dbt.type_int()) }} as schema_version,
        lower(nullif(trim(source), '')) as source,
        occurred_at as occurred_at_raw,
        received_at as received_at_raw,
        {{ parse_iso_timestamp_utc(
            'trim(occurred_at)', require_offset=true, untrimmed='occurred_at'
        ) }} as occurred_at,
        {{ staged_received_at('received_at') }} as received_at,
        {{ null_marker_as_missing('anonymous_id', 'anonymous_id') }} as anonymous_id,
        {{ null_marker_as_missing('device_id', 'device_id') }} as device_id,
        {{ null_marker_as_missing('user_id', 'user_id') }} as user_id,
        {{ null_marker_as_missing('account_id', 'account_id') }} as account_id,
        context as context_raw,
        properties as properties_raw,
        {{ is_valid_json('context') }} as is_context_valid_json,
        {{ is_valid_json('properties') }} as is_properties_valid_json,
        {{ row_hash([
            'event_id', 'event_name', 'schema_version', 'source', 'occurred_at',
            'received_at', 'anonymous_id', 'device_id', 'user_id', 'account_id',
            'context', 'properties'
        ]) }} as raw_row_hash
    from {{ source('tracking', 'raw_events') }}

),

-- the context's keys, parsed once for all of them (json_extract_scalar_list); with_context
-- reads them back by position in this order
{%- set context_keys = ['platform', 'app_version', 'locale', 'latency_ms', 'error_code', 'ip'] %}
context_values as (

    select
        typed.*,
        case
            when typed.is_context_valid_json
                then {{ json_extract_scalar_list('typed.context_raw', context_keys) }}
        end as context_list
    from typed
    where {{ is_known_as_of('typed.received_at') }}

),

with_context as (

    select
        parsed.raw_rowid,
        parsed.event_id,
        parsed.event_name,
        parsed.schema_version_raw,
        parsed.schema_version,
        parsed.source,
        parsed.occurred_at_raw,
        parsed.received_at_raw,
        parsed.occurred_at,
        parsed.received_at,
        parsed.anonymous_id,
        parsed.device_id,
        parsed.user_id,
        parsed.account_id,
        parsed.context_raw,
        parsed.properties_raw,
        parsed.is_context_valid_json,
        parsed.is_properties_valid_json,
        parsed.raw_row_hash,
        {{ list_item('parsed.context_list', 1) }} as context_platform,
        {{ list_item('parsed.context_list', 2) }} as context_app_version,
        {{ list_item('parsed.context_list', 3) }} as context_locale,
        {{ try_cast(list_item('parsed.context_list', 4), type_double()) }}
            as context_latency_ms,
        {{ list_item('parsed.context_list', 5) }} as context_error_code,
        {{ list_item('parsed.context_list', 6) }} as context_ip
    from context_values as parsed

)

select * from with_context
