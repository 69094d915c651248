{% test expect_column_values_to_match_regex(model, column_name, regex, row_condition=none) %}
{#- Fails on each non-null value that does not match the regular expression. -#}
select {{ column_name }} as unmatched_value
from {{ model }}
where
    {{ column_name }} is not null
    and not {{ regexp_like(column_name, "'" ~ regex ~ "'") }}
    {% if row_condition %}and ({{ row_condition }}){% endif %}
{% endtest %}
