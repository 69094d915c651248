{% macro number_to_text(expression, digits) -%}
    {{ return(adapter.dispatch('number_to_text', 'lawn')(expression, digits)) }}
{%- endmacro %}

{#- A number rounded to `digits` decimals, as text written the same way on every engine:
    the shortest digits that read back as the same double, and at least one decimal
    (`0.25`, `1.0`, `-3.5`), which is how DuckDB writes a double. -#}
{% macro default__number_to_text(expression, digits) -%}
    {#- PostgreSQL has no round(double precision, int) and writes 1.0 as `1`: round as
        numeric (half away from zero), back to double precision, then add the `.0`. -#}
    {%- set rounded = 'cast(round(cast(' ~ expression ~ ' as numeric), ' ~ digits
        ~ ') as double precision)' -%}
    case
        when {{ rounded }} = trunc({{ rounded }})
            then cast(trunc({{ rounded }}) as numeric(38, 0)) || '.0'
        else cast({{ rounded }} as {{ dbt.type_string() }})
    end
{%- endmacro %}

{% macro duckdb__number_to_text(expression, digits) -%}
    {#- a value that rounds to zero is written `0.0`, as on PostgreSQL: a double rounded from
        below would otherwise read `-0.0` -#}
    case
        when round({{ expression }}, {{ digits }}) = 0 then '0.0'
        else cast(round({{ expression }}, {{ digits }}) as {{ dbt.type_string() }})
    end
{%- endmacro %}

{% macro spark__number_to_text(expression, digits) -%}
    {#- a value that rounds to zero is written `0.0`, as on PostgreSQL: a double rounded from
        below would otherwise read `-0.0` -#}
    case
        when round({{ expression }}, {{ digits }}) = 0 then '0.0'
        else cast(round({{ expression }}, {{ digits }}) as {{ dbt.type_string() }})
    end
{%- endmacro %}
