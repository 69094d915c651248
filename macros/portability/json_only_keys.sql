{% macro json_only_keys(json_expression, keys) -%}
    {#- The JSON object text with only the top-level keys in `keys` (a list of names known at
        compile time), values as they were; null stays null. Duplicate keys are kept as sent. -#}
    {{ return(adapter.dispatch('json_only_keys', 'lawn')(json_expression, keys)) }}
{%- endmacro %}

{% macro _json_key_list(keys) -%}
    {%- if keys | length == 0 -%}''{%- else -%}
    {%- for key in keys %}'{{ key | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
    {%- endif -%}
{%- endmacro %}

{% macro default__json_only_keys(json_expression, keys) -%}
    cast(cast({{ json_expression }} as jsonb) - array(
        select object_key from jsonb_object_keys(cast({{ json_expression }} as jsonb)) as object_key
        where object_key not in ({{ lawn._json_key_list(keys) }})
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__json_only_keys(json_expression, keys) -%}
    {#- RFC 7396 merge patch: every other key patched to null is removed -#}
    cast(json_merge_patch({{ json_expression }}, '{' || array_to_string(
        [cast(to_json(object_key) as varchar) || ':null'
            for object_key in json_keys({{ json_expression }})
            if object_key not in ({{ lawn._json_key_list(keys) }})],
        ','
    ) || '}') as {{ dbt.type_string() }})
{%- endmacro %}

{% macro spark__json_only_keys(json_expression, keys) -%}
    to_json(map_filter(
        from_json({{ json_expression }}, 'map<string,variant>'),
        (k, v) -> k in ({{ lawn._json_key_list(keys) }})
    ))
{%- endmacro %}
