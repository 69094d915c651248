{% macro refresh_table_statistics() -%}
    {{ return(adapter.dispatch('refresh_table_statistics', 'lawn')()) }}
{%- endmacro %}

{#- Model post-hook: planner statistics for a table a model just wrote. PostgreSQL plans
    the next query on a new table before autovacuum has analysed it (a join on 17k rows took
    126 s as a nested loop, 1 s once analysed); DuckDB and Spark need nothing. Views have no
    statistics of their own. -#}
{% macro default__refresh_table_statistics() -%}
    {%- if config.get('materialized') in ['table', 'incremental', 'snapshot'] -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__refresh_table_statistics() -%}
{%- endmacro %}

{% macro spark__refresh_table_statistics() -%}
{%- endmacro %}
