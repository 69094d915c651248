{% macro identifier_property_names() -%}
    {#- Names of the tracking-plan properties that hold an identifier: their pii_class maps (var
        governance_plan_pii_classes) to the data class pseudonymous (signed_up's
        invited_by_user_id). fct_events shows them as sent, except an email-shaped value (a
        feed whose user ids are emails), which it leaves out as masked_identifier would hide
        it (shown_properties). The caller declares
        `-- depends_on: ref('stg_tracking_plan__properties')`. -#}
    {{ return(plan_property_names(['pseudonymous'])) }}
{%- endmacro %}
