{% macro json_parses_as_object(expression) -%}
    {{ return(adapter.dispatch('json_parses_as_object', 'lawn')(expression)) }}
{%- endmacro %}

{#- True when the engine's JSON parser reads the text as an object (each parser is lenient
    in its own way; is_valid_json adds the strict token check). -#}
{% macro default__json_parses_as_object(expression) -%}
    {#- PostgreSQL: the json type's parser, through a function the on-run-start hook
        create_portable_objects makes (IS JSON OBJECT needs PostgreSQL 16+). -#}
    coalesce(public.lawn_json_is_object({{ expression }}), false)
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
