{% macro is_valid_json(expression) -%}
    {{ return(adapter.dispatch('is_valid_json', 'lawn')(expression)) }}
{%- endmacro %}

{#- True when the text is a JSON object; false for null, malformed text or other JSON. -#}
{% macro default__is_valid_json(expression) -%}
    {#- PostgreSQL 16+: the IS JSON predicate. -#}
    coalesce({{ expression }} is json object, false)
{%- endmacro %}

{% macro duckdb__is_valid_json(expression) -%}
    case
        when json_valid({{ expression }})
            then coalesce(json_type({{ expression }}) = 'OBJECT', false)
        else false
    end
{%- endmacro %}

{% macro spark__is_valid_json(expression) -%}
    coalesce(from_json({{ expression }}, 'map<string,string>') is not null, false)
{%- endmacro %}
