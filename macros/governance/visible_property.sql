{% macro visible_property(json_expression, property_name) -%}
    {#- The property `property_name` (a literal name) of the raw properties JSON as the
        public fct_events shows it: null when the governance masking removes that key
        (not in shown_property_names), else the JSON value as text. A model that needs one or two
        properties reads int_events_attributed with this instead of fct_events, whose
        masked copy of every event's payload costs more than the model itself
        (docs/full_build_cost.md). The caller declares
        `-- depends_on: ref('stg_tracking_plan__properties')`. -#}
    {%- if property_name not in shown_property_names() -%}
        cast(null as {{ dbt.type_string() }})
    {%- elif property_name in identifier_property_names() or property_name in shown_text_property_names() -%}
        {#- an identifier or text property: null when its value is shaped like an email
            (shown_properties) -#}
        case
            when {{ is_email_shaped(json_extract_scalar(json_expression, "'" ~ property_name ~ "'")) }}
                then cast(null as {{ dbt.type_string() }})
            else {{ json_extract_scalar(json_expression, "'" ~ property_name ~ "'") }}
        end
    {%- else -%}
        {{ json_extract_scalar(json_expression, "'" ~ property_name ~ "'") }}
    {%- endif -%}
{%- endmacro %}
