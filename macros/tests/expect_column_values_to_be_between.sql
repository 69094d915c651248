{% test expect_column_values_to_be_between(
    model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false
) %}
{#- Fails on each row whose value lies outside [min_value, max_value] (open bounds when
    strictly). Nulls pass, as in dbt-expectations; pair with not_null where needed. -#}
{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "expect_column_values_to_be_between needs min_value, max_value or both"
    ) }}
{%- endif -%}
{%- set low_op = '>' if strictly else '>=' -%}
{%- set high_op = '<' if strictly else '<=' -%}
with

checked as (

    select {{ column_name }} as checked_value
    from {{ model }}
    where
        {{ column_name }} is not null
        {% if row_condition %}and ({{ row_condition }}){% endif %}

)

select *
from checked
where not (
    1 = 1
    {% if min_value is not none %}and checked_value {{ low_op }} {{ min_value }}{% endif %}
    {% if max_value is not none %}and checked_value {{ high_op }} {{ max_value }}{% endif %}
)
{% endtest %}
