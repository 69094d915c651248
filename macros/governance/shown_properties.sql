{% macro shown_properties(properties) -%}
    {#- The properties JSON as marts show it: only the shown keys (shown_property_names), and of
        those an identifier property (identifier_property_names) or a text property
        (shown_text_property_names) only when its value is not shaped like an email
        (is_email_shaped): a feed whose user ids are emails names the inviter by email
        (invited_by_user_id), and a person types an email into a URL (`page_path`
        `/signup?email=...`) or a referrer; each such value stays in
        pii.pii_event_personal_data only, as the user_id columns show such an id as its keyed
        hash (masked_identifier). Key by key: the row's other properties are shown. A row
        without an @ keeps its properties as before. -#}
    {%- set shown = shown_property_names() -%}
    {%- set scanned = (identifier_property_names() + shown_text_property_names())
        | select('in', shown) | unique | sort | list -%}
    {%- if scanned -%}
        {%- set conditions = {} -%}
        {%- for name in scanned -%}
            {%- do conditions.update({name: is_email_shaped(json_extract_scalar(properties, "'" ~ name ~ "'"))}) -%}
        {%- endfor -%}
        case
            when {{ properties }} like '%@%'
                then {{ json_only_keys_unless(properties, shown, conditions) }}
            else {{ json_only_keys(properties, shown) }}
        end
    {%- else -%}
        {{ json_only_keys(properties, shown) }}
    {%- endif -%}
{%- endmacro %}
