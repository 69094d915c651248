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

{% macro json_only_keys_unless(json_expression, keys, conditions) -%}
    {#- json_only_keys, and on top a key of `conditions` (a dict: key name -> SQL boolean known
        per row) is left out on a row where its condition is true. Keys are plain names
        (letters, digits, _), as the tracking plan's. Each engine's form calls its own
        json_only_keys, so tests_py/test_portable_macros.py can render all three in one
        compile. -#}
    {%- for key in conditions if not modules.re.fullmatch('[A-Za-z0-9_]+', key) -%}
        {{ exceptions.raise_compiler_error(
            "json_only_keys_unless: key " ~ key ~ " is not a plain name (letters, digits, _)") }}
    {%- endfor -%}
    {%- if not conditions -%}
        {{ return(lawn.json_only_keys(json_expression, keys)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('json_only_keys_unless', 'lawn')(json_expression, keys, conditions)) }}
{%- endmacro %}

{% macro default__json_only_keys_unless(json_expression, keys, conditions) -%}
    cast(cast({{ lawn.default__json_only_keys(json_expression, keys) }} as jsonb) - array_remove(array[
        {%- for key, condition in conditions.items() %}
        case when {{ condition }} then '{{ key }}' end{{ ',' if not loop.last }}
        {%- endfor %}
    ]::text[], null) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__json_only_keys_unless(json_expression, keys, conditions) -%}
    {#- RFC 7396 merge patch: a key patched to null is removed; concat_ws skips the nulls; a
        null object stays null (a merge patch would make it `{}`) -#}
    case when {{ json_expression }} is not null then
    cast(json_merge_patch({{ lawn.duckdb__json_only_keys(json_expression, keys) }}, '{' || concat_ws(','
        {%- for key, condition in conditions.items() %},
        case when {{ condition }} then '"{{ key }}":null' end
        {%- endfor %}
    ) || '}') as {{ dbt.type_string() }})
    end
{%- endmacro %}

{% macro spark__json_only_keys_unless(json_expression, keys, conditions) -%}
    to_json(map_filter(
        from_json({{ json_expression }}, 'map<string,variant>'),
        (k, v) -> k in ({{ lawn._json_key_list(keys) }}) and not array_contains(filter(array(
            {%- for key, condition in conditions.items() %}
            case when {{ condition }} then '{{ key }}' end{{ ',' if not loop.last }}
            {%- endfor %}
        ), x -> x is not null), k)
    ))
{%- endmacro %}
