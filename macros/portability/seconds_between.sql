{% macro seconds_between(start_time, end_time) -%}
    {{ return(adapter.dispatch('seconds_between', 'lawn')(start_time, end_time)) }}
{%- endmacro %}

{#- The exact time from start_time to end_time in seconds, fractions included (microseconds),
    as a double; negative when end_time is earlier. dbt.datediff(..., 'second') counts the
    second boundaries crossed instead (10:00:00.900 to 10:00:01.100 is 1, not 0.2). The
    microseconds are an exact integer on every engine and one division rounds them, so the
    three forms give the same double (tests_py/test_portable_macros.py). -#}
{% macro default__seconds_between(start_time, end_time) -%}
    cast(extract(epoch from (
        cast({{ end_time }} as timestamp) - cast({{ start_time }} as timestamp)
    )) as double precision)
{%- endmacro %}

{% macro duckdb__seconds_between(start_time, end_time) -%}
    cast(
        epoch_us(cast({{ end_time }} as timestamp)) - epoch_us(cast({{ start_time }} as timestamp))
        as double
    ) / 1000000
{%- endmacro %}

{% macro spark__seconds_between(start_time, end_time) -%}
    cast(
        unix_micros(cast({{ end_time }} as timestamp))
        - unix_micros(cast({{ start_time }} as timestamp))
        as double
    ) / 1000000
{%- endmacro %}
