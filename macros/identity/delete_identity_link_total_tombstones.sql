{% macro delete_identity_link_total_tombstones() -%}
    {#- Post-hook of int_identity_link_totals: the pairs a run found without any link day left
        (a null event_count) go. -#}
    {%- if is_incremental() -%}
        delete from {{ this }} where event_count is null
    {%- endif -%}
{%- endmacro %}
