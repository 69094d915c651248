{% macro masked_identifier(expression) -%}
    {#- A pseudonymous identifier (user_id, anonymous_id, device_id) as marts show it: an
        email-shaped value (is_email_shaped) becomes the keyed hash of its normal form
        (keyed_hash(normalize_identifier(value)): the email_key of that email, so every mart
        masks one value to one hash and joins on the masked ids still match); any other value
        stays as it is. pii.pii_identifiers (identifier_key `user_id:<keyed hash>`) and
        pii.pii_event_personal_data map it back. -#}
    case
        when {{ is_email_shaped(expression) }}
            then {{ keyed_hash(normalize_identifier(expression)) }}
        else {{ expression }}
    end
{%- endmacro %}
