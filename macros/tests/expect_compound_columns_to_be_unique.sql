{% test expect_compound_columns_to_be_unique(
    model, column_list, ignore_row_if='all_values_are_missing', row_condition=none
) %}
{#- Fails once per combination of column_list that occurs more than once. Rows where all
    (or, with ignore_row_if='any_value_is_missing', any) of the columns are null are skipped.
    The grouping is lawn_duplicate_groups (a hash pass first on DuckDB tables). -#}
{%- set joiner = ' and ' if ignore_row_if == 'all_values_are_missing' else ' or ' -%}
{%- set missing = [] -%}
{%- for column in column_list -%}
    {%- do missing.append(column ~ ' is null') -%}
{%- endfor -%}
{%- set row_filter -%}
    not ({{ missing | join(joiner) }}){% if row_condition %} and ({{ row_condition }}){% endif %}
{%- endset -%}
{{ lawn_duplicate_groups(model, column_list, row_filter, 'occurrences') }}
{% endtest %}
