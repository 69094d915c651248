{% macro masked_identifier_value(type_expression, value_expression) -%}
    {#- An identifier as marts may show it: emails become their keyed hash (email_key),
        pseudonymous ids (user, anonymous, device) stay as they are. -#}
    case
        when {{ type_expression }} = 'email' then {{ keyed_hash(value_expression) }}
        else {{ value_expression }}
    end
{%- endmacro %}
