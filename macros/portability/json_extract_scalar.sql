{% macro json_extract_scalar(json_expression, key_expression) -%}
    {{ return(adapter.dispatch('json_extract_scalar', 'lawn')(json_expression, key_expression)) }}
{%- endmacro %}

{% macro default__json_extract_scalar(json_expression, key_expression) -%}
    (cast({{ json_expression }} as json) ->> {{ key_expression }})
{%- endmacro %}

{% macro duckdb__json_extract_scalar(json_expression, key_expression) -%}
    json_extract_string({{ json_expression }}, '$.' || {{ key_expression }})
{%- endmacro %}

{% macro spark__json_extract_scalar(json_expression, key_expression) -%}
    get_json_object({{ json_expression }}, concat('$.', {{ key_expression }}))
{%- endmacro %}
