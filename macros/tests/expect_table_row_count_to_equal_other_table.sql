{% test expect_table_row_count_to_equal_other_table(
    model, compare_model, factor=1, row_condition=none, compare_row_condition=none
) %}
{#- Fails (one row) when count(model) != count(compare_model) * factor. -#}
with

model_count as (

    select count(*) as row_count
    from {{ model }}
    {% if row_condition %}where {{ row_condition }}{% endif %}

),

compare_count as (

    select count(*) * {{ factor }} as row_count
    from {{ compare_model }}
    {% if compare_row_condition %}where {{ compare_row_condition }}{% endif %}

)

select
    model_count.row_count as model_row_count,
    compare_count.row_count as expected_row_count
from model_count
cross join compare_count
where model_count.row_count != compare_count.row_count
{% endtest %}
