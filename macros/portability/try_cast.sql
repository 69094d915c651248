{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'lawn')(expression, data_type)) }}
{%- endmacro %}

{#- Integers, on every engine alike: whole-number text ('7', '+7', '-7') and the same number
    written with a zero fraction ('7.0', '7.', as a spreadsheet or a float column writes it)
    give the number; any other fraction ('1.5') gives null, never a rounded value (DuckDB's own
    try_cast rounds '1.5' to 2). -#}
{% macro integer_text_pattern() -%}^[+-]?[0-9]+([.]0*)?${%- endmacro %}

{% macro default__try_cast(expression, data_type) -%}
    {#- Postgres has no try_cast: only numeric and boolean casts are guarded. -#}
    {%- set type_lower = data_type | lower -%}
    {%- if 'int' in type_lower -%}
        case when trim({{ expression }}) ~ '{{ integer_text_pattern() }}'
            then cast(regexp_replace(trim({{ expression }}), '[.]0*$', '') as {{ data_type }}) end
    {%- elif type_lower in ('float', 'double', 'double precision', 'numeric', 'real')
        or 'numeric' in type_lower or 'decimal' in type_lower -%}
        case when trim({{ expression }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$'
            then cast({{ expression }} as {{ data_type }}) end
    {%- else -%}
        cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__try_cast(expression, data_type) -%}
    {%- if 'int' in data_type | lower -%}
        case when regexp_matches(trim({{ expression }}), '{{ integer_text_pattern() }}')
            then try_cast(regexp_replace(trim({{ expression }}), '[.]0*$', '') as {{ data_type }}) end
    {%- else -%}
        try_cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__try_cast(expression, data_type) -%}
    {%- if 'int' in data_type | lower -%}
        case when trim({{ expression }}) rlike '{{ integer_text_pattern() }}'
            then try_cast(regexp_replace(trim({{ expression }}), '[.]0*$', '') as {{ data_type }}) end
    {%- else -%}
        try_cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}
