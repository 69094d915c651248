{% test expect_row_values_to_have_recent_data(
    model, column_name, datepart, interval, row_condition=none
) %}
{#- Fails when the newest value of column_name is older than `interval` `datepart`s before
    now (or the table has no value at all). -#}
with

latest as (

    select max({{ column_name }}) as latest_value
    from {{ model }}
    {% if row_condition %}where {{ row_condition }}{% endif %}

)

select latest_value
from latest
where
    latest_value is null
    or latest_value < {{ dbt.dateadd(
        datepart, -1 * interval | int, dbt.current_timestamp()
    ) }}
{% endtest %}
