{{ config(materialized='view') }}
{#- Valid events: first deliveries that pass the envelope contract and their tracking-plan
    version. One row per event_id. A view over int_events_validated (its valid rows, renamed,
    with three derived columns), not a third stored copy of the events: the rows live in
    int_events_validated, so its lookback delete, retention and erasure apply here too, and a
    reader's filter (an incremental reader's received_at window) reaches that table's scan
    (docs/full_build_cost.md, "int_events_valid as a view"). `fct_events` adds the person on
    read, so a later identity merge never leaves a stale person id in stored rows. -#}
with

valid_events as (

    select * from {{ ref('int_events_validated') }}
    where delivery_status = 'valid'

),

final as (

    select
        event_id,
        event_name,
        schema_version,
        event_name || '@v' || cast(schema_version as {{ dbt.type_string() }})
            as tracking_plan_key,
        source,
        occurred_at,
        received_at,
        cast(occurred_at as date) as occurred_date,
        cast(
            {{ dbt.datediff('occurred_at', 'received_at', 'second') }}
            as {{ dbt.type_bigint() }}
        ) as arrival_delay_seconds,
        anonymous_id,
        device_id,
        user_id,
        account_id,
        -- the client's platform: its context's, else the source that sent it (a CSV row
        -- from an app with no context is an ios or android event); a backend event has none
        coalesce(
            nullif(context_platform, ''),
            case when source <> 'backend' then source end
        ) as platform,
        context_app_version as app_version,
        context_locale as locale,
        context_latency_ms as latency_ms,
        context_error_code as error_code,
        context_ip as ip_address,
        properties_raw as properties,
        raw_event_key
    from valid_events

)

select * from final
