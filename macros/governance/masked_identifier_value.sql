{% macro masked_identifier_value(type_expression, value_expression) -%}
    {#- An identifier of the identity map as marts may show it: emails become their keyed hash
        (email_key); pseudonymous ids (user, anonymous, device) go through masked_identifier,
        so an email-shaped one is its keyed hash too and any other stays as it is. -#}
    case
        when {{ type_expression }} = 'email' then {{ keyed_hash(value_expression) }}
        else {{ masked_identifier(value_expression) }}
    end
{%- endmacro %}
