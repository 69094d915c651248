{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_lookback_window('received_at') }}",
            "{{ record_test_window('received_at') }}",
        ]
    )
}}
{#- Valid events: first deliveries that pass the envelope contract and their tracking-plan
    version. One row per event_id. Incremental; `fct_events` adds the person on read, so a
    later identity merge never leaves a stale person id in stored rows. -#}
with

valid_events as (

    select * from {{ ref('int_events_validated') }}
    where
        delivery_status = 'valid'
        {% if is_incremental() %}
            and {{ incremental_window_predicate('received_at') }}
        {% endif %}

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
        context_platform as platform,
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
