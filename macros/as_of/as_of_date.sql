{% macro as_of_date() -%}
    {#- The replayed day of var as_of_date as 'YYYY-MM-DD', or none when the var is unset
        (null or empty): the build then uses all data. Anything else stops the compile. -#}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$', text) -%}
        {{ exceptions.raise_compiler_error(
            "var as_of_date: " ~ text ~ " is not a date (YYYY-MM-DD)"
        ) }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}
