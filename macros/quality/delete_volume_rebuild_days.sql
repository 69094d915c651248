{% macro delete_volume_rebuild_days() -%}
    {#- Pre-hook of int_event_volumes_filled: on an incremental run, drop every row from
        the first day the run rebuilds (volume_rebuild_from) on; the model inserts them
        again from every delivery of those days. -#}
    {%- set rebuild_from = volume_rebuild_from() -%}
    {%- if rebuild_from is not none -%}
        delete from {{ this }}
        where activity_date >= cast('{{ rebuild_from }}' as date)
    {%- endif -%}
{%- endmacro %}
