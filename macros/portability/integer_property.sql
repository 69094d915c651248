{#- Integer properties as JSON Schema reads them: a JSON number whose value is whole is an
    integer, whether written 5, 5.0 or 5e0 (a double column, pandas or a float-typed SDK
    writes 5.0), and 5.5 is none. The verdict is taken on the value, never on the text, because
    the engines give a number's text back differently (DuckDB returns 1.5e2 as '150.0',
    PostgreSQL as written). A double holds every whole number up to 2^53: a larger value
    written with a fraction or an exponent is no integer here (a plain 12345678901234567890
    is one by its JSON type and is read exactly by try_cast). Each engine's form calls that
    engine's try_cast, so that tests_py/test_integer_properties.py can run all three. -#}

{#- true when the double expression is a whole number within +-2^53 (null for null) -#}
{% macro whole_number_check(double_expression) -%}
    ({{ double_expression }} = floor({{ double_expression }})
        and abs({{ double_expression }}) <= 9007199254740992)
{%- endmacro %}

{#- true when a property of JSON type json_type (json_value_type) with text value_text
    (json_extract_scalar) is an integer -#}
{% macro integer_property_check(json_type, value_text) -%}
    {{ return(adapter.dispatch('integer_property_check', 'lawn')(json_type, value_text)) }}
{%- endmacro %}

{% macro integer_property_check_with(json_type, value_text, cast, double_type) -%}
    ({{ json_type }} = 'integer' or (
        {{ json_type }} = 'number'
        and coalesce({{ whole_number_check(cast(value_text, double_type)) }}, false)
    ))
{%- endmacro %}

{% macro default__integer_property_check(json_type, value_text) -%}
    {{ integer_property_check_with(json_type, value_text, default__try_cast, default__type_double()) }}
{%- endmacro %}

{% macro duckdb__integer_property_check(json_type, value_text) -%}
    {{ integer_property_check_with(json_type, value_text, duckdb__try_cast, duckdb__type_double()) }}
{%- endmacro %}

{% macro spark__integer_property_check(json_type, value_text) -%}
    {{ integer_property_check_with(json_type, value_text, spark__try_cast, spark__type_double()) }}
{%- endmacro %}

{#- an integer property's text as the integer the validation accepted: the exact integer
    text first ('7', '7.0'), else a whole number in another notation ('1.5e2' on
    PostgreSQL) within the type's range; null for anything else -#}
{% macro integer_property_value(text_expression, data_type) -%}
    {{ return(adapter.dispatch('integer_property_value', 'lawn')(text_expression, data_type)) }}
{%- endmacro %}

{% macro integer_property_value_with(text_expression, data_type, cast, double_type) -%}
    {%- set as_double = cast(text_expression, double_type) -%}
    coalesce(
        {{ cast(text_expression, data_type) }},
        case
            when {{ whole_number_check(as_double) }}
                and abs({{ as_double }}) <= {{ integer_type_max(data_type) }}
                then cast({{ as_double }} as {{ data_type }})
        end
    )
{%- endmacro %}

{% macro default__integer_property_value(text_expression, data_type) -%}
    {{ integer_property_value_with(text_expression, data_type, default__try_cast, default__type_double()) }}
{%- endmacro %}

{% macro duckdb__integer_property_value(text_expression, data_type) -%}
    {{ integer_property_value_with(text_expression, data_type, duckdb__try_cast, duckdb__type_double()) }}
{%- endmacro %}

{% macro spark__integer_property_value(text_expression, data_type) -%}
    {{ integer_property_value_with(text_expression, data_type, spark__try_cast, spark__type_double()) }}
{%- endmacro %}
