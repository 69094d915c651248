{% macro delete_volume_rebuild_days() -%}
    {#- Pre-hook of int_event_volumes_filled: on an incremental run, drop the rows of every
        day the run rebuilds (volume_rebuild_days); the model inserts them again from every
        delivery of those days. A replay (var as_of_date) rebuilds from scratch, as for the
        event models (delete_lookback_window). -#}
    {{- refuse_incremental_replay() -}}
    {%- set rebuild = volume_rebuild_days() -%}
    {%- if rebuild is not none -%}
        delete from {{ this }}
        where {{ volume_is_rebuilt_day('activity_date', rebuild) }}
    {%- endif -%}
{%- endmacro %}
