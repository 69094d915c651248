{% test primary_key(model, column_name) %}
{#- A key column's unique and not_null tests in one read of the model (for views, which are
    computed once per read; docs/test_cost.md). One row per value found more than once and
    one row for the nulls; the failure count is what the two tests would report together:
    the number of repeated values plus the number of null rows. -#}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
select
    {{ column_name }} as key_value,
    count(*) as n_records,
    case when {{ column_name }} is null then count(*) else 1 end as failing_rows
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
