{{ config(materialized='view') }}
{#- The public face of int_events_attributed: valid events with their person, masked for
    analysts. The client IP address is not shown and the properties keep only the keys the
    tracking plan declares and does not class as personal or sensitive (emails, names, free
    text): a key the plan does not declare is unclassified and not shown either. An
    email-shaped user_id, anonymous_id or device_id is shown as its keyed hash
    (masked_identifier), an email-shaped context text (platform, app_version, locale,
    error_code) as null (shown_text). All of it stays whole in pii.pii_event_personal_data
    (docs/governance.md). #}
-- depends_on: {{ ref('stg_tracking_plan__properties') }}
with

events as (

    select * from {{ ref('int_events_attributed') }}

),

final as (

    select
        event_id,
        event_name,
        schema_version,
        tracking_plan_key,
        source,
        occurred_at,
        received_at,
        occurred_date,
        arrival_delay_seconds,
        person_id,
        {{ masked_identifier('anonymous_id') }} as anonymous_id,
        {{ masked_identifier('device_id') }} as device_id,
        {{ masked_identifier('user_id') }} as user_id,
        account_id,
        {{ shown_text('platform') }} as platform,
        {{ shown_text('app_version') }} as app_version,
        {{ shown_text('locale') }} as locale,
        latency_ms,
        {{ shown_text('error_code') }} as error_code,
        {{ shown_properties('properties') }} as properties,
        raw_event_key
    from events

)

select * from final
