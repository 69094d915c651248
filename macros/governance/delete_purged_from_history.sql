{% macro delete_purged_from_history() -%}
    {#- Pre-hook of fct_quarantined_events (an incremental table that `lawn retention` only
        anonymises): on an incremental run, delete the deliveries older than the event
        history's latest applied cutoff (delivery_aged_at), which int_events_deduplicated no
        longer holds and a full refresh could not rebuild, so that the incremental table
        equals a full refresh. Renders nothing otherwise (Spark builds it as a table). -#}
    {%- if is_incremental() and target.type != 'spark' -%}
        {%- set history_cutoff = applied_retention_cutoff('intermediate.int_events_deduplicated') -%}
        {%- if history_cutoff is not none -%}
            delete from {{ this }}
            where not {{ delivered_since(history_cutoff) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
