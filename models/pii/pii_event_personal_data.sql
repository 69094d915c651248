{{ config(materialized='view') }}
{#- Restricted (schema pii): what marts.fct_events masks, by event_id: the client IP
    address, the properties whole (emails, names, free text) and the ids as sent (fct_events
    shows an email-shaped user_id, anonymous_id or device_id as its keyed hash) and the
    context's text fields as sent (fct_events shows an email-shaped one as null). A view, so
    nothing is copied. -#}
with

events as (

    select * from {{ ref('int_events_attributed') }}

),

final as (

    select
        event_id,
        person_id,
        occurred_at,
        ip_address,
        anonymous_id,
        device_id,
        user_id,
        platform,
        app_version,
        locale,
        error_code,
        properties
    from events

)

select * from final
