{#- Valid events with the person behind them, resolved on read so identity merges apply to
    history at once: by user_id, else anonymous_id, else device_id (each in the identity
    graph's normal form, normalize_identifier). A table rebuilt by every run (a merge may
    move any past event to another person, so it cannot be incremental): fct_events, the
    PII view, the metric, feature and experiment models and their tests all read it, and as
    a view each of them recomputed the three identity joins over all of history
    (docs/incremental_tests.md). -#}
{{ config(materialized='table') }}
with

events as (

    select * from {{ ref('int_events_valid') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}
    where person_id is not null

),

final as (

    select
        events.event_id,
        events.event_name,
        events.schema_version,
        events.tracking_plan_key,
        events.source,
        events.occurred_at,
        events.received_at,
        events.occurred_date,
        events.arrival_delay_seconds,
        coalesce(by_user.person_id, by_anonymous_id.person_id, by_device_id.person_id)
            as person_id,
        events.anonymous_id,
        events.device_id,
        events.user_id,
        events.account_id,
        events.platform,
        events.app_version,
        events.locale,
        events.latency_ms,
        events.error_code,
        events.ip_address,
        events.properties,
        events.raw_event_key
    from events
    left join identity_map as by_user
        on 'user_id:' || {{ normalize_identifier('events.user_id') }} = by_user.identifier_key
    left join identity_map as by_anonymous_id
        on
            'anonymous_id:' || {{ normalize_identifier('events.anonymous_id') }}
            = by_anonymous_id.identifier_key
    left join identity_map as by_device_id
        on
            'device_id:' || {{ normalize_identifier('events.device_id') }}
            = by_device_id.identifier_key

)

select * from final
