{% macro lawn_null_rows(model, columns) -%}
    {#- One row per column of `columns` with its count of null rows in `model` (zero included):
        the counts in one aggregate, named through a cross join with the column list, so the
        model (a view is computed once per read) is read once on every engine. Used by
        not_null_columns and compound_primary_key. -#}
select
    column_names.column_name,
    case column_names.column_number
        {%- for column in columns %}
        when {{ loop.index }} then null_counts.nulls_{{ loop.index }}
        {%- endfor %}
    end as null_rows
from (
    select
        {%- for column in columns %}
        count(*) - count({{ column }}) as nulls_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
) as null_counts
cross join (
    {%- for column in columns %}
    select {{ loop.index }} as column_number, '{{ column }}' as column_name
    {{- ' union all' if not loop.last }}
    {%- endfor %}
) as column_names
{%- endmacro %}
