{% macro json_without_keys(json_expression, keys) -%}
    {#- The JSON object text without the top-level keys in `keys` (a list of names known at
        compile time); other keys and their values are kept. -#}
    {%- if keys | length == 0 -%}
        {{ json_expression }}
    {%- else -%}
        {{ return(adapter.dispatch('json_without_keys', 'lawn')(json_expression, keys)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__json_without_keys(json_expression, keys) -%}
    cast(cast({{ json_expression }} as jsonb) - array[
        {%- for key in keys %}'{{ key }}'{{ ',' if not loop.last }}{% endfor -%}
    ] as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__json_without_keys(json_expression, keys) -%}
    {#- RFC 7396 merge patch: a key patched to null is removed -#}
    cast(json_merge_patch({{ json_expression }}, '{
        {%- for key in keys %}"{{ key }}": null{{ ', ' if not loop.last }}{% endfor -%}
    }') as {{ dbt.type_string() }})
{%- endmacro %}

{% macro spark__json_without_keys(json_expression, keys) -%}
    {#- Spark has no JSON type: parse as a map of VARIANT values, which keep their JSON types
        (a map of strings would write numbers and booleans back as strings) -#}
    to_json(map_filter(
        from_json({{ json_expression }}, 'map<string,variant>'),
        (k, v) -> not k in (
            {%- for key in keys %}'{{ key }}'{{ ', ' if not loop.last }}{% endfor -%}
        )
    ))
{%- endmacro %}
