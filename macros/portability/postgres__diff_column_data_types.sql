{#- dbt's incremental schema-change check on PostgreSQL, which tells `text` (what `||`,
    string_agg and string casts give) from unbounded `character varying` (what a contract's
    `varchar` creates): the two are the same type of value there, as they are on DuckDB, so
    they are not a change; every other difference is, as in dbt's default. Without it an
    incremental model with a contract and on_schema_change='fail' stops on its second run. -#}
{% macro postgres__diff_column_data_types(source_columns, target_columns) -%}
    {%- set result = [] -%}
    {%- for sc in source_columns -%}
        {%- set tc = target_columns | selectattr('name', 'equalto', sc.name) | list | first -%}
        {%- if tc -%}
            {%- set both_unbounded_text = sc.is_string() and tc.is_string()
                and sc.char_size is none and tc.char_size is none -%}
            {%- if sc.expanded_data_type != tc.expanded_data_type
                and not sc.can_expand_to(other_column=tc)
                and not both_unbounded_text -%}
                {%- do result.append({'column_name': tc.name, 'new_type': sc.expanded_data_type}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(result) }}
{%- endmacro %}
