{% macro raw_row_locator(landing) -%}
    {{ return(adapter.dispatch('raw_row_locator', 'lawn')(landing)) }}
{%- endmacro %}

{#- DuckDB: the landing row's `rowid`, unique within one statement's snapshot of the table.
    int_events_deduplicated's full refresh numbers the repeated deliveries on narrow rows
    and joins the numbers back to the wide rows by it (docs/full_build_cost.md, "Numbering
    only the repeated deliveries"). Only a base table has a rowid: a landing the user made a
    view (or anything else) gets the null locator, and so does a unit test, whose fixture is
    a CTE. -#}
{% macro duckdb__raw_row_locator(landing) -%}
    {%- set located = model.resource_type == 'model' -%}
    {%- if located and execute -%}
        {%- set landed = load_relation(landing) -%}
        {%- set located = landed is not none and landed.type == 'table' -%}
    {%- endif -%}
    {%- if located -%}
        rowid
    {%- else -%}
        {{ default__raw_row_locator(landing) }}
    {%- endif -%}
{%- endmacro %}

{#- Elsewhere no locator is read: the model numbers every delivery with a window. -#}
{% macro default__raw_row_locator(landing) -%}
    cast(null as {{ dbt.type_bigint() }})
{%- endmacro %}


{% macro raw_rows_located(events) -%}
    {{ return(adapter.dispatch('raw_rows_located', 'lawn')(events)) }}
{%- endmacro %}

{#- Whether `events` (stg_tracking__events) gives a raw_rowid that locates the landing rows,
    asked of the view itself: it may have been created before the landing became a table, or
    a view. One row tells, since the locator is either rowid or a null constant. A unit test
    (no relation to ask), a compile before stg_tracking__events exists and an empty landing
    say no: the model numbers with the window. -#}
{% macro duckdb__raw_rows_located(events) -%}
    {%- if not execute or model.resource_type != 'model' or load_relation(events) is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set probe = run_query('select raw_rowid is not null as located from ' ~ events ~ ' limit 1') -%}
    {{ return(probe.rows | length > 0 and probe.rows[0][0]) }}
{%- endmacro %}

{% macro default__raw_rows_located(events) -%}
    {{ return(false) }}
{%- endmacro %}
