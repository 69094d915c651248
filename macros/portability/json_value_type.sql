{% macro json_value_type(json_expression, key_expression) -%}
    {{ return(adapter.dispatch('json_value_type', 'lawn')(json_expression, key_expression)) }}
{%- endmacro %}

{#- Returns one of: string, integer, number, boolean, null, object, array;
    sql null when the key is absent. "integer" is a JSON number without a fraction. -#}
{% macro default__json_value_type(json_expression, key_expression) -%}
    case json_typeof(cast({{ json_expression }} as json) -> {{ key_expression }})
        when 'number' then
            case
                when (cast({{ json_expression }} as json) ->> {{ key_expression }})
                    ~ '^-?[0-9]+$' then 'integer'
                else 'number'
            end
        else json_typeof(cast({{ json_expression }} as json) -> {{ key_expression }})
    end
{%- endmacro %}

{% macro duckdb__json_value_type(json_expression, key_expression) -%}
    case json_type({{ json_expression }}, '$.' || {{ key_expression }})
        when 'VARCHAR' then 'string'
        when 'BIGINT' then 'integer'
        when 'UBIGINT' then 'integer'
        when 'HUGEINT' then 'integer'
        when 'DOUBLE' then 'number'
        when 'BOOLEAN' then 'boolean'
        when 'NULL' then 'null'
        when 'OBJECT' then 'object'
        when 'ARRAY' then 'array'
    end
{%- endmacro %}
