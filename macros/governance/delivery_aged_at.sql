{% macro delivery_aged_at(received_at, occurred_at) -%}
    {#- The time retention measures a raw delivery's age from (one rule for every layer that
        holds deliveries: raw landing, the event history, the quarantine): when the collector
        received it; a delivery whose receive time is missing or does not parse
        (INVALID_RECEIVED_AT), when it occurred; with neither, 1970-01-01, so the first
        retention run removes what cannot be dated (storage limitation: nothing shows it is
        within its period). lawn/retention.py's DELIVERY_AGE is the same expression. -#}
    coalesce(
        {{ received_at }},
        {{ occurred_at }},
        cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }})
    )
{%- endmacro %}

{% macro delivered_since(cutoff) -%}
    {#- True when the delivery of the current row (columns received_at, occurred_at) is not
        older than cutoff ('YYYY-MM-DD HH:MM:SS' text, from applied_retention_cutoff): the
        rows a rebuild keeps whole. Never null (delivery_aged_at never is). -#}
    (
        {{ delivery_aged_at('received_at', 'occurred_at') }}
        >= cast('{{ cutoff }}' as {{ dbt.type_timestamp() }})
    )
{%- endmacro %}
