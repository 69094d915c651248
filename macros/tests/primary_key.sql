{% test primary_key(model, column_name) %}
{#- A key column's unique and not_null tests in one test node and one query (docs/test_cost.md:
    dbt pays a fixed cost per node, and a view is computed once per read). One row per value
    found more than once and one row for the nulls; the failure count is what the two tests
    would report together: the number of repeated values plus the number of null rows. -#}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{{ adapter.dispatch('lawn_primary_key_rows', 'lawn')(model, column_name) }}
{% endtest %}

{% macro default__lawn_primary_key_rows(model, column_name) -%}
select
    {{ column_name }} as key_value,
    count(*) as n_records,
    case when {{ column_name }} is null then count(*) else 1 end as failing_rows
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{%- endmacro %}

{% macro duckdb__lawn_primary_key_rows(model, column_name) -%}
{%- if not lawn_test_reads_stored_rows(model) -%}
    {#- a view or a restricting `where`: one read, as lawn_duplicate_groups decides -#}
    {{ default__lawn_primary_key_rows(model, column_name) }}
{%- else -%}
{#- a whole stored relation: the repeated keys through `unique`'s hash pass
    (lawn_duplicate_groups), then the null rows, which that pass leaves out -#}
select key_value, n_records, 1 as failing_rows
from (
    {{ lawn_duplicate_groups(
        model, [column_name], column_name ~ ' is not null', 'n_records',
        select_list=[column_name ~ ' as key_value']
    ) }}
) as repeated_keys
union all
select null as key_value, count(*) as n_records, count(*) as failing_rows
from {{ model }}
where {{ column_name }} is null
having count(*) > 0
{%- endif -%}
{%- endmacro %}
