{#- Restricted (schema pii): the raw payload of every quarantined first delivery, as
    received (emails, IP addresses, free text). marts.fct_quarantined_events carries its
    size and keyed hash (payload_key) instead. -#}
with

quarantined as (

    select * from {{ ref('int_events_validated') }}
    where delivery_status = 'quarantined'

),

final as (

    select
        raw_event_key,
        received_at,
        context_raw,
        properties_raw
    from quarantined

)

select * from final
