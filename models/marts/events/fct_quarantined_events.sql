{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_lookback_window('received_at') }}"
    )
}}
{#- Rejected raw rows, kept whole: one row per first delivery that failed validation, with
    its raw payload, every reason, and the tracking-plan version it was checked against. -#}
with

quarantined as (

    select * from {{ ref('int_events_validated') }}
    where
        delivery_status = 'quarantined'
        {% if is_incremental() %}
            and {{ incremental_window_predicate('received_at') }}
        {% endif %}

),

final as (

    select
        raw_event_key,
        event_id,
        event_name,
        schema_version_raw as schema_version,
        source,
        occurred_at_raw,
        received_at_raw,
        received_at,
        anonymous_id,
        device_id,
        user_id,
        account_id,
        context_raw,
        properties_raw,
        primary_reason_code,
        reason_codes,
        reason_details,
        reason_count,
        coalesce(event_name, '(missing)') || '@v'
        || coalesce(schema_version_raw, '(missing)') as checked_against_plan_key,
        '{{ var("tracking_plan_release") }}' as tracking_plan_release
    from quarantined

)

select * from final
