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

{#- Spark: the VARIANT type's own name for the value (parse_json; an absent key is a SQL
    null, a JSON null is VOID). Numbers: Spark reads 1.0 as DECIMAL(1,0), so "integer" is
    decided as on PostgreSQL, on the number's text (no fraction, no exponent). -#}
{% macro spark__json_value_type(json_expression, key_expression) -%}
    case
        when schema_of_variant(variant_get(
            try_parse_json({{ json_expression }}), concat('$.', {{ key_expression }})
        )) is null then null
        when schema_of_variant(variant_get(
            try_parse_json({{ json_expression }}), concat('$.', {{ key_expression }})
        )) = 'STRING' then 'string'
        when schema_of_variant(variant_get(
            try_parse_json({{ json_expression }}), concat('$.', {{ key_expression }})
        )) = 'BOOLEAN' then 'boolean'
        when schema_of_variant(variant_get(
            try_parse_json({{ json_expression }}), concat('$.', {{ key_expression }})
        )) = 'VOID' then 'null'
        when schema_of_variant(variant_get(
            try_parse_json({{ json_expression }}), concat('$.', {{ key_expression }})
        )) like 'OBJECT%' then 'object'
        when schema_of_variant(variant_get(
            try_parse_json({{ json_expression }}), concat('$.', {{ key_expression }})
        )) like 'ARRAY%' then 'array'
        when get_json_object({{ json_expression }}, concat('$.', {{ key_expression }}))
            rlike '^-?[0-9]+$' then 'integer'
        else 'number'
    end
{%- endmacro %}
