{% macro delete_lookback_window(column) -%}
    {#- Pre-hook of the event models: on an incremental run, drop the rows received in the
        last `event_lookback_hours` of what the table holds (and rows with no parseable
        time), so the run rebuilds that window from the source with late loads included. -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            {{ column }} is null
            or {{ column }} >= (
                select
                    {{ dbt.dateadd(
                        'hour',
                        -1 * var('event_lookback_hours') | int,
                        'max(' ~ column ~ ')'
                    ) }}
                from {{ this }}
            )
    {%- endif -%}
{%- endmacro %}

{% macro incremental_window_predicate(column) -%}
    {#- Rows newer than what the table still holds after the pre-hook's delete. -#}
    (
        {{ column }} is null
        or {{ column }} > (
            select coalesce(max({{ column }}), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
            from {{ this }}
        )
    )
{%- endmacro %}
