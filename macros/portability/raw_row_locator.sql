{% macro raw_row_locator() -%}
    {{ return(adapter.dispatch('raw_row_locator', 'lawn')()) }}
{%- endmacro %}

{#- DuckDB: the landing row's `rowid`, unique within one statement's snapshot of the table.
    int_events_deduplicated's full refresh numbers the repeated deliveries on narrow rows
    and joins the numbers back to the wide rows by it (docs/full_build_cost.md, "Numbering
    only the repeated deliveries"). -#}
{% macro duckdb__raw_row_locator() -%}
    {#- a unit test reads a fixture (a CTE: no rowid) in place of the table -#}
    {%- if model.resource_type == 'model' -%}
        rowid
    {%- else -%}
        {{ default__raw_row_locator() }}
    {%- endif -%}
{%- endmacro %}

{#- Elsewhere no locator is read: the model numbers every delivery with a window. -#}
{% macro default__raw_row_locator() -%}
    cast(null as {{ dbt.type_bigint() }})
{%- endmacro %}
