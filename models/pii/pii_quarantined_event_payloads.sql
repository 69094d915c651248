{#- Restricted (schema pii): the raw payload of every quarantined first delivery, as
    received (emails, IP addresses, free text). marts.fct_quarantined_events carries its
    size and keyed hash (payload_key) instead. The quarantine_payload retention nulls the
    payload of a delivery older than its cutoff (retention_tables.csv), and a rebuild
    keeps it null: the payload of a delivery older than the latest applied cutoff is not
    copied again (delivery_aged_at). -#}
{%- set anonymised_before = applied_retention_cutoff('pii.pii_quarantined_event_payloads') %}
with

quarantined as (

    select * from {{ ref('int_events_validated') }}
    where delivery_status = 'quarantined'

),

final as (

    select
        raw_event_key,
        received_at,
        occurred_at,
        {% if anonymised_before is none -%}
            context_raw,
            properties_raw
        {%- else -%}
            case when {{ delivered_since(anonymised_before) }} then context_raw end as context_raw,
            case when {{ delivered_since(anonymised_before) }} then properties_raw end
                as properties_raw
        {%- endif %}
    from quarantined

)

select * from final
