{% test expect_compound_columns_to_be_unique(
    model, column_list, ignore_row_if='all_values_are_missing', row_condition=none
) %}
{#- Fails once per combination of column_list that occurs more than once. Rows where all
    (or, with ignore_row_if='any_value_is_missing', any) of the columns are null are skipped. -#}
{%- set joiner = ' and ' if ignore_row_if == 'all_values_are_missing' else ' or ' -%}
{%- set missing = [] -%}
{%- for column in column_list -%}
    {%- do missing.append(column ~ ' is null') -%}
{%- endfor -%}
with

candidates as (

    select {{ column_list | join(', ') }}
    from {{ model }}
    where
        not ({{ missing | join(joiner) }})
        {% if row_condition %}and ({{ row_condition }}){% endif %}

)

select
    {{ column_list | join(', ') }},
    count(*) as occurrences
from candidates
group by {{ column_list | join(', ') }}
having count(*) > 1
{% endtest %}
