{% macro json_parses_as_object(expression) -%}
    {{ return(adapter.dispatch('json_parses_as_object', 'lawn')(expression)) }}
{%- endmacro %}

{#- True when the engine's JSON parser reads the text as an object (each parser is lenient
    in its own way; is_valid_json adds the strict token check). -#}
{% macro default__json_parses_as_object(expression) -%}
    {#- PostgreSQL 16+: the IS JSON predicate. -#}
    coalesce({{ expression }} is json object, false)
{%- endmacro %}

{% macro duckdb__json_parses_as_object(expression) -%}
    case
        when json_valid({{ expression }})
            then coalesce(json_type({{ expression }}) = 'OBJECT', false)
        else false
    end
{%- endmacro %}

{% macro spark__json_parses_as_object(expression) -%}
    coalesce(from_json({{ expression }}, 'map<string,string>') is not null, false)
{%- endmacro %}
