{% macro spread_unknown_event_flag() -%}
    {#- Post-hook of int_event_volumes_filled: on an incremental run, a series flagged
        is_unknown_event on a rebuilt day is flagged on its kept days too (the flag is the
        series' over all its days, as in a full refresh). -#}
    {%- if is_incremental() -%}
        update {{ this }} as volumes
        set is_unknown_event = true
        where
            not volumes.is_unknown_event
            and exists (
                select 1
                from {{ this }} as flagged
                where
                    flagged.is_unknown_event
                    and flagged.rollup_level = volumes.rollup_level
                    and flagged.event_name = volumes.event_name
                    and flagged.source = volumes.source
                    and flagged.platform = volumes.platform
                    and flagged.schema_version = volumes.schema_version
            )
    {%- endif -%}
{%- endmacro %}
