{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'lawn')()) }}
{%- endmacro %}

{#- A 64-bit float. dbt.type_float() is `float`, which DuckDB reads as a 32-bit REAL. -#}
{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
