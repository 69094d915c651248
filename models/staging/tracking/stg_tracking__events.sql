{#- One row per raw delivery: trimmed, typed, timestamps in UTC, payloads checked for JSON.
    Nothing is filtered here (deduplication and validation happen downstream), except in a
    replay (var as_of_date): then deliveries received after that day are not there yet. -#}
with

raw_events as (

    select * from {{ source('tracking', 'raw_events') }}

),

typed as (

    select
        nullif(trim(event_id), '') as event_id,
        nullif(trim(event_name), '') as event_name,
        schema_version as schema_version_raw,
        {{ try_cast('trim(schema_version)', dbt.type_int()) }} as schema_version,
        lower(nullif(trim(source), '')) as source,
        occurred_at as occurred_at_raw,
        received_at as received_at_raw,
        {{ parse_iso_timestamp_utc('trim(occurred_at)', require_offset=true) }} as occurred_at,
        {{ parse_iso_timestamp_utc('trim(received_at)') }} as received_at,
        nullif(trim(anonymous_id), '') as anonymous_id,
        nullif(trim(device_id), '') as device_id,
        nullif(trim(user_id), '') as user_id,
        nullif(trim(account_id), '') as account_id,
        context as context_raw,
        properties as properties_raw,
        {{ is_valid_json('context') }} as is_context_valid_json,
        {{ is_valid_json('properties') }} as is_properties_valid_json,
        {{ row_hash([
            'event_id', 'event_name', 'schema_version', 'source', 'occurred_at',
            'received_at', 'anonymous_id', 'device_id', 'user_id', 'account_id',
            'context', 'properties'
        ]) }} as raw_row_hash
    from raw_events

),

with_context as (

    select
        typed.*,
        case
            when typed.is_context_valid_json
                then {{ json_extract_scalar('typed.context_raw', "'platform'") }}
        end as context_platform,
        case
            when typed.is_context_valid_json
                then {{ json_extract_scalar('typed.context_raw', "'app_version'") }}
        end as context_app_version,
        case
            when typed.is_context_valid_json
                then {{ json_extract_scalar('typed.context_raw', "'locale'") }}
        end as context_locale,
        case
            when typed.is_context_valid_json
                then {{ try_cast(
                    json_extract_scalar('typed.context_raw', "'latency_ms'"),
                    type_double()
                ) }}
        end as context_latency_ms,
        case
            when typed.is_context_valid_json
                then {{ json_extract_scalar('typed.context_raw', "'error_code'") }}
        end as context_error_code,
        case
            when typed.is_context_valid_json
                then {{ json_extract_scalar('typed.context_raw', "'ip'") }}
        end as context_ip
    from typed
    where {{ is_known_as_of('typed.received_at') }}

)

select * from with_context
