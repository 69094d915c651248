{% test not_null_columns(model, columns) %}
{#- dbt's `not_null` for several columns of one model in one read (docs/test_cost.md): one
    row per column that holds nulls, naming it, with its count of null rows; the failure
    count is the sum, what the separate not_null tests would report together. A model's key
    columns keep their own tests (`unique` + `not_null`, `primary_key`, the parts of a
    compound key): this test is for the other columns that must never be empty.
    The counts come from lawn_null_rows: one aggregate, so the model (a view is computed
    once per read) is read once on every engine. -#}
{{ config(fail_calc='coalesce(sum(null_rows), 0)') }}
{%- if columns is string or columns | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        'not_null_columns on ' ~ model ~ ': `columns` must be a non-empty list of column names'
    ) }}
{%- endif %}
with

counted as (

    {{ lawn_null_rows(model, columns) | indent(4) }}

)

select * from counted
where null_rows > 0
{% endtest %}
