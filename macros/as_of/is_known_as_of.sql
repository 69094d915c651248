{% macro is_known_as_of(column, column_is_date=false) -%}
    {#- The staging filter of a replay (var as_of_date): true when the row had arrived by the
        end of that UTC day, i.e. its arrival time is before the next midnight (a date column:
        on or before the day). A null arrival time cannot be placed and is kept (the row is
        quarantined or judged downstream as without a replay). Without the var: true. -#}
    {%- set day = as_of_date() -%}
    {%- if day is none -%}
        (1 = 1)
    {%- elif column_is_date -%}
        ({{ column }} is null or {{ column }} <= cast('{{ day }}' as date))
    {%- else -%}
        (
            {{ column }} is null
            or {{ column }} < {{ dbt.dateadd(
                'day', 1, "cast('" ~ day ~ "' as " ~ dbt.type_timestamp() ~ ")"
            ) }}
        )
    {%- endif -%}
{%- endmacro %}
