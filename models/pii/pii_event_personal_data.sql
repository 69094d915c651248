{{ config(materialized='view') }}
{#- Restricted (schema pii): what marts.fct_events masks, by event_id: the client IP
    address and the properties whole (emails, names, free text). A view, so nothing is
    copied. -#}
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
        properties
    from events

)

select * from final
