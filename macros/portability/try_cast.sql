{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'lawn')(expression, data_type)) }}
{%- endmacro %}

{% macro default__try_cast(expression, data_type) -%}
    {#- Postgres has no try_cast: only numeric and boolean casts are guarded. -#}
    {%- set type_lower = data_type | lower -%}
    {%- if 'int' in type_lower -%}
        case when trim({{ expression }}) ~ '^[+-]?[0-9]+$'
            then cast({{ expression }} as {{ data_type }}) end
    {%- elif type_lower in ('float', 'double', 'double precision', 'numeric', 'real')
        or 'numeric' in type_lower or 'decimal' in type_lower -%}
        case when trim({{ expression }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$'
            then cast({{ expression }} as {{ data_type }}) end
    {%- else -%}
        cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{% macro spark__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}
