{% macro duckdb__test_unique(model, column_name) -%}
{#- dbt's `unique` test on DuckDB (dbt dispatches test_unique to the root project first):
    the rows of dbt's default__test_unique (unique_field, n_records: one per value found
    more than once, nulls ignored), through lawn_duplicate_groups' hash pass. -#}
{{ lawn_duplicate_groups(
    model, [column_name], column_name ~ ' is not null', 'n_records',
    select_list=[column_name ~ ' as unique_field']
) }}
{%- endmacro %}
