{% macro regex_string(pattern) -%}
    {{ return(adapter.dispatch('regex_string', 'lawn')(pattern)) }}
{%- endmacro %}

{#- A regular expression as a SQL string literal. DuckDB and PostgreSQL
    (standard_conforming_strings) keep backslashes as written; Spark SQL reads them as
    escapes, so they are doubled there. -#}
{% macro default__regex_string(pattern) -%}
    '{{ pattern | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__regex_string(pattern) -%}
    '{{ pattern | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
