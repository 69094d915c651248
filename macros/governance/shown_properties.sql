{% macro shown_properties(properties) -%}
    {#- The properties JSON as marts show it: only the shown keys (shown_property_names), and an
        identifier property (identifier_property_names) only when its value is not shaped
        like an email: a feed whose user ids are emails names the inviter by email
        (invited_by_user_id), which stays in pii.pii_event_personal_data only, as the
        user_id columns show such an id as its keyed hash (masked_identifier). Every row
        without an email-shaped identifier keeps its properties as before. -#}
    {%- set shown = shown_property_names() -%}
    {%- set identifiers = identifier_property_names() | select('in', shown) | list -%}
    {%- if identifiers -%}
        case
            when
                {%- for name in identifiers %}
                    {{ is_email_shaped(json_extract_scalar(properties, "'" ~ name ~ "'")) }}
                    {%- if not loop.last %} or{% endif %}
                {%- endfor %}
                then {{ json_only_keys(properties, shown | reject('in', identifiers) | list) }}
            else {{ json_only_keys(properties, shown) }}
        end
    {%- else -%}
        {{ json_only_keys(properties, shown) }}
    {%- endif -%}
{%- endmacro %}
