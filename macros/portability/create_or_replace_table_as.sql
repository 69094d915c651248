{% macro create_or_replace_table_as(relation) -%}
    {{ return(adapter.dispatch('create_or_replace_table_as', 'lawn')(relation)) }}
{%- endmacro %}

{#- The head of a statement that replaces the table `relation` (schema.name) with the query
    written after it: `{{ create_or_replace_table_as(t) }} select ...`. PostgreSQL has no
    CREATE OR REPLACE TABLE: drop, then create, in one batch (one transaction in dbt). -#}
{% macro default__create_or_replace_table_as(relation) -%}
    drop table if exists {{ relation }};
    create table {{ relation }} as
{%- endmacro %}

{% macro duckdb__create_or_replace_table_as(relation) -%}
    create or replace table {{ relation }} as
{%- endmacro %}

{#- Spark runs one statement per call and replaces no Parquet table in place: the old table
    is dropped here, while the statement is rendered (before it runs), then created. -#}
{% macro spark__create_or_replace_table_as(relation) -%}
    {%- if execute -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
    {%- endif %}
    create table {{ relation }} using parquet as
{%- endmacro %}
