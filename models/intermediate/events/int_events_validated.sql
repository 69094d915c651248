{{
    config(
        materialized='incremental',
        incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'append'),
        partition_by=(['received_date'] if target.type == 'spark' else none),
        file_format='parquet',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_lookback_window('received_at') }}",
            "{{ record_test_window('received_at') }}",
        ]
    )
}}
{#- Every raw delivery with its verdict: `duplicate` (a redelivery), `quarantined` (the
    first delivery breaks the envelope contract or its tracking-plan version), or `valid`.
    Reasons are listed per delivery, ordered by the reason codes' severity rank. A receive
    time outside [received_at_earliest_date, run start + received_at_max_future_minutes] is
    RECEIVED_AT_OUT_OF_RANGE, and the client time is then not compared with it. -#}
with

deliveries as (

    select * from {{ ref('int_events_deduplicated') }}
    {% if is_incremental() %}
        where {{ incremental_window_predicate('received_at') }}
    {% endif %}

),

-- the columns the envelope checks read, straight from the table rather than from
-- `deliveries`: a CTE read twice is materialised whole (payloads included) by DuckDB and
-- PostgreSQL, a second copy of every delivery
first_delivery_rows as (

    select
        raw_event_key,
        event_id,
        event_name,
        schema_version,
        received_at,
        occurred_at,
        source,
        anonymous_id,
        device_id,
        user_id,
        account_id,
        context_raw,
        properties_raw,
        is_context_valid_json,
        is_properties_valid_json
    from {{ ref('int_events_deduplicated') }}
    where
        delivery_number = 1
        {% if is_incremental() %}
            and {{ incremental_window_predicate('received_at') }}
        {% endif %}

),

-- the property checks of the window that fail or find the property absent, read once: the
-- failing ones become reasons, the absent ones are counted per delivery. A first delivery
-- with a JSON object has one check per property its version declares (the view's join), so
-- declared = the plan's count for its version and present = declared - absent: the other
-- checks (nearly all) are never stored or grouped
property_checks as (

    select
        raw_event_key,
        property_name,
        failed_reason_code,
        is_present
    from {{ ref('int_event_properties_checked') }}
    where
        (failed_reason_code is not null or not is_present)
        {% if is_incremental() %}
            and {{ incremental_window_predicate('received_at') }}
        {% endif %}

),

absent_properties as (

    select
        raw_event_key,
        count(*) as absent_property_count
    from property_checks
    where not is_present
    group by raw_event_key

),

declared_properties as (

    select
        event_name,
        schema_version,
        count(*) as declared_property_count
    from {{ ref('stg_tracking_plan__properties') }}
    group by event_name, schema_version

),

plan_events as (

    select * from {{ ref('stg_tracking_plan__events') }}

),

plan_event_names as (

    select distinct event_name from plan_events

),

reason_codes as (

    select * from {{ ref('stg_tracking_plan__reason_codes') }}

),

first_deliveries as (

    select
        deliveries.raw_event_key,
        deliveries.event_id,
        deliveries.received_at,
        coalesce({{ is_received_at_out_of_range('deliveries.received_at') }}, false)
            as is_received_at_out_of_range,
        coalesce({{ dbt.length('deliveries.properties_raw') }}, 0)
        + coalesce({{ dbt.length('deliveries.context_raw') }}, 0)
        > {{ var('max_payload_characters') }} as is_payload_too_large,
        deliveries.occurred_at,
        deliveries.source,
        deliveries.anonymous_id,
        deliveries.device_id,
        deliveries.user_id,
        deliveries.account_id,
        deliveries.context_raw,
        deliveries.is_context_valid_json,
        deliveries.is_properties_valid_json,
        plan_event_names.event_name is not null as is_known_event,
        plan_events.tracking_plan_key is not null as is_known_version,
        coalesce(plan_events.is_live, false) as is_live_version
    from first_delivery_rows as deliveries
    left join plan_event_names
        on deliveries.event_name = plan_event_names.event_name
    left join plan_events
        on
            deliveries.event_name = plan_events.event_name
            and deliveries.schema_version = plan_events.schema_version

),

envelope_failures as (

    select
        first_deliveries.raw_event_key,
        reason_codes.reason_code,
        cast(null as {{ dbt.type_string() }}) as property_name
    from first_deliveries
    cross join reason_codes
    where
        reason_codes.check_scope = 'envelope'
        and case reason_codes.reason_code
            when 'MISSING_EVENT_ID' then first_deliveries.event_id is null
            when 'INVALID_RECEIVED_AT' then first_deliveries.received_at is null
            when 'RECEIVED_AT_OUT_OF_RANGE' then first_deliveries.is_received_at_out_of_range
            when 'PAYLOAD_TOO_LARGE' then first_deliveries.is_payload_too_large
            when 'MALFORMED_PROPERTIES_JSON'
                then not first_deliveries.is_properties_valid_json
            when 'MALFORMED_CONTEXT_JSON'
                then
                    first_deliveries.context_raw is not null
                    and not first_deliveries.is_context_valid_json
                    -- a context of JSON null is no context, as an absent one
                    and trim(first_deliveries.context_raw) != 'null'
            when 'UNKNOWN_EVENT' then not first_deliveries.is_known_event
            when 'UNKNOWN_SCHEMA_VERSION'
                then
                    first_deliveries.is_known_event
                    and not first_deliveries.is_known_version
            when 'RETIRED_SCHEMA_VERSION'
                then
                    first_deliveries.is_known_version
                    and not first_deliveries.is_live_version
            when 'INVALID_SOURCE'
                then
                    coalesce(first_deliveries.source, '')
                    not in ('web', 'ios', 'android', 'backend')
            when 'INVALID_OCCURRED_AT' then first_deliveries.occurred_at is null
            when 'OCCURRED_IN_FUTURE'
                then
                    not first_deliveries.is_received_at_out_of_range
                    and first_deliveries.occurred_at > {{ dbt.dateadd(
                    'minute',
                    var('clock_skew_tolerance_minutes') | int,
                    'first_deliveries.received_at'
                ) }}
            when 'OCCURRED_TOO_LONG_AGO'
                then
                    not first_deliveries.is_received_at_out_of_range
                    and first_deliveries.occurred_at < {{ dbt.dateadd(
                    'day',
                    -1 * var('max_event_age_days') | int,
                    'first_deliveries.received_at'
                ) }}
            when 'NO_IDENTIFIER'
                then
                    first_deliveries.anonymous_id is null
                    and first_deliveries.device_id is null
                    and first_deliveries.user_id is null
                    and first_deliveries.account_id is null
            else false
        end

),

all_failures as (

    select * from envelope_failures
    union all
    select
        raw_event_key,
        failed_reason_code as reason_code,
        property_name
    from property_checks
    where failed_reason_code is not null

),

failures_ranked as (

    select
        all_failures.raw_event_key,
        all_failures.reason_code,
        reason_codes.severity_rank,
        all_failures.reason_code
        || coalesce(':' || all_failures.property_name, '') as reason_detail
    from all_failures
    inner join reason_codes
        on all_failures.reason_code = reason_codes.reason_code

),

distinct_codes as (

    select
        raw_event_key,
        reason_code,
        min(severity_rank) as severity_rank
    from failures_ranked
    group by raw_event_key, reason_code

),

codes_per_delivery as (

    select
        raw_event_key,
        {{ ordered_text_list('reason_code', "'|'", ['severity_rank', 'reason_code']) }}
            as reason_codes,
        count(*) as reason_count,
        min(severity_rank) as top_severity_rank
    from distinct_codes
    group by raw_event_key

),

details_per_delivery as (

    select
        raw_event_key,
        {{ ordered_text_list('reason_detail', "'|'", ['severity_rank', 'reason_detail']) }}
            as reason_details
    from failures_ranked
    group by raw_event_key

),

final as (

    select
        deliveries.*,
        codes_per_delivery.reason_codes,
        details_per_delivery.reason_details,
        top_reason.reason_code as primary_reason_code,
        case
            when deliveries.delivery_number > 1 then 'duplicate'
            when codes_per_delivery.raw_event_key is not null then 'quarantined'
            else 'valid'
        end as delivery_status,
        coalesce(codes_per_delivery.reason_count, 0) as reason_count,
        cast(case
            when deliveries.delivery_number > 1 then null
            when deliveries.is_properties_valid_json
                then coalesce(declared_properties.declared_property_count, 0)
            else 0
        end as {{ dbt.type_bigint() }}) as declared_property_count,
        cast(case
            when deliveries.delivery_number > 1 then null
            when deliveries.is_properties_valid_json
                then
                    coalesce(declared_properties.declared_property_count, 0)
                    - coalesce(absent_properties.absent_property_count, 0)
            else 0
        end as {{ dbt.type_bigint() }}) as present_property_count
    from deliveries
    left join codes_per_delivery
        on deliveries.raw_event_key = codes_per_delivery.raw_event_key
    left join details_per_delivery
        on deliveries.raw_event_key = details_per_delivery.raw_event_key
    left join reason_codes as top_reason
        on codes_per_delivery.top_severity_rank = top_reason.severity_rank
    left join declared_properties
        on
            deliveries.event_name = declared_properties.event_name
            and deliveries.schema_version = declared_properties.schema_version
    left join absent_properties
        on deliveries.raw_event_key = absent_properties.raw_event_key

)

select * from final
