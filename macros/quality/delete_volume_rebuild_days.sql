{% macro delete_volume_rebuild_days() -%}
    {#- Pre-hook of int_event_volumes_filled: on an incremental run, drop every row from
        the first day the run rebuilds (volume_rebuild_from) on; the model inserts them
        again from every delivery of those days. A replay (var as_of_date) rebuilds from
        scratch, as for the event models (delete_lookback_window). -#}
    {{- refuse_incremental_replay() -}}
    {%- set rebuild_from = volume_rebuild_from() -%}
    {%- if rebuild_from is not none -%}
        delete from {{ this }}
        where activity_date >= cast('{{ rebuild_from }}' as date)
    {%- endif -%}
{%- endmacro %}
