{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'lawn')(expression, data_type)) }}
{%- endmacro %}

{#- A text read as a number the same way on every engine, null when it is none (never an
    error, never a different number on another engine):
    - integers (`int`, `integer`, `bigint`, `smallint`): whole-number text ('7', '+7', '-7')
      and the same number written with a zero fraction ('7.0', '7.', as a spreadsheet or a
      float column writes it) give the number; any other fraction ('1.5') gives null, never a
      rounded value (DuckDB's own try_cast rounds '1.5' to 2); a number outside the type's
      range ('99999999999999999999' as an integer) gives null (PostgreSQL's cast failed the
      whole build on it);
    - decimals and doubles: plain decimal text, with an optional exponent ('12', '-0.5',
      '.5', '1.2e3'); 'NaN', 'Infinity', '1,5' or '$12' give null (DuckDB and Spark read the
      first two as numbers, PostgreSQL's guard did not); a value beyond the type's range
      gives null (a double: beyond 1.8e308, which DuckDB and Spark read as infinity and
      PostgreSQL refused; a decimal(p, s): p - s integer digits or more after rounding to s
      decimals); a double too small to represent ('1e-400') is 0.
    tests_py/test_portable_macros.py runs the three engines' forms against a Python
    restatement. Other types are cast as they are (an invalid value is an engine error). -#}
{% macro integer_text_pattern() -%}^[+-]?[0-9]+([.]0*)?${%- endmacro %}

{% macro decimal_text_pattern() -%}^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?${%- endmacro %}

{#- 'integer', 'decimal', 'double' or 'other': which of the rules above a type follows -#}
{% macro try_cast_kind(data_type) -%}
    {%- set type_lower = data_type | lower -%}
    {%- if 'int' in type_lower -%}integer
    {%- elif 'numeric' in type_lower or 'decimal' in type_lower -%}decimal
    {%- elif type_lower in ('float', 'double', 'double precision', 'float8', 'real') -%}double
    {%- else -%}other
    {%- endif -%}
{%- endmacro %}

{#- the largest value of an integer type (the smallest is minus it, minus one) -#}
{% macro integer_type_max(data_type) -%}
    {%- set type_lower = data_type | lower -%}
    {%- if 'big' in type_lower or type_lower == 'int8' -%}9223372036854775807
    {%- elif 'small' in type_lower or type_lower == 'int2' -%}32767
    {%- elif 'tiny' in type_lower -%}127
    {%- else -%}2147483647
    {%- endif -%}
{%- endmacro %}

{#- (precision, scale) of 'decimal(18, 2)'; a bare decimal is (18, 3) as DuckDB reads it -#}
{% macro decimal_type_digits(data_type) -%}
    {%- set found = modules.re.search('\\(\\s*(\\d+)\\s*(?:,\\s*(\\d+)\\s*)?\\)', data_type) -%}
    {%- if found -%}
        {{ return([found.group(1) | int, (found.group(2) or 0) | int]) }}
    {%- else -%}
        {{ return([18, 3]) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__try_cast(expression, data_type) -%}
    {#- PostgreSQL has no try_cast: the text is checked against the pattern, then read through
        functions that return null instead of failing (create_portable_objects). -#}
    {%- set kind = try_cast_kind(data_type) -%}
    {%- set text = 'trim(' ~ expression ~ ')' -%}
    {%- if kind == 'integer' -%}
        {%- set whole = "regexp_replace(" ~ text ~ ", '[.]0*$', '')" -%}
        {#- nested: PostgreSQL may evaluate the operands of an `and` in any order -#}
        case when {{ text }} ~ '{{ integer_text_pattern() }}' then
            case when cast({{ whole }} as numeric)
                between -{{ integer_type_max(data_type) }} - 1 and {{ integer_type_max(data_type) }}
                then cast({{ whole }} as {{ data_type }}) end
        end
    {%- elif kind == 'decimal' -%}
        {%- set digits = decimal_type_digits(data_type) -%}
        {%- set rounded = 'round(public.lawn_try_numeric(' ~ text ~ '), ' ~ digits[1] ~ ')' -%}
        case when {{ text }} ~ '{{ decimal_text_pattern() }}'
            and abs({{ rounded }}) < power(cast(10 as numeric), {{ digits[0] - digits[1] }})
            then cast({{ rounded }} as {{ data_type }}) end
    {%- elif kind == 'double' -%}
        case when {{ text }} ~ '{{ decimal_text_pattern() }}'
            then cast(public.lawn_try_float8({{ text }}) as {{ data_type }}) end
    {%- else -%}
        cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{#- DuckDB and Spark: the engine's try_cast behind the same pattern; a double that reads as
    infinity is beyond the range (null) -#}
{% macro pattern_guarded_try_cast(expression, data_type, matches) -%}
    {%- set kind = try_cast_kind(data_type) -%}
    {%- set text = 'trim(' ~ expression ~ ')' -%}
    {%- if kind == 'integer' -%}
        case when {{ matches(text, integer_text_pattern()) }}
            then try_cast(regexp_replace({{ text }}, '[.]0*$', '') as {{ data_type }}) end
    {%- elif kind == 'decimal' -%}
        case when {{ matches(text, decimal_text_pattern()) }}
            then try_cast({{ text }} as {{ data_type }}) end
    {%- elif kind == 'double' -%}
        case when {{ matches(text, decimal_text_pattern()) }}
            and abs(try_cast({{ text }} as {{ data_type }})) < cast('Infinity' as {{ data_type }})
            then try_cast({{ text }} as {{ data_type }}) end
    {%- else -%}
        try_cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb_regexp_matches(text, pattern) -%}
    regexp_matches({{ text }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark_rlike(text, pattern) -%}
    {{ text }} rlike '{{ pattern }}'
{%- endmacro %}

{% macro duckdb__try_cast(expression, data_type) -%}
    {{ pattern_guarded_try_cast(expression, data_type, duckdb_regexp_matches) }}
{%- endmacro %}

{% macro spark__try_cast(expression, data_type) -%}
    {{ pattern_guarded_try_cast(expression, data_type, spark_rlike) }}
{%- endmacro %}
