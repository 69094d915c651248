{% macro regexp_like(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_like', 'lawn')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_like(expression, pattern) -%}
    ({{ expression }} ~ {{ pattern }})
{%- endmacro %}

{% macro duckdb__regexp_like(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro spark__regexp_like(expression, pattern) -%}
    ({{ expression }} rlike {{ pattern }})
{%- endmacro %}
