{% macro shown_text(expression) -%}
    {#- A free text field as public marts show it (the context's platform, app_version,
        locale, error_code): null when its value is shaped like an email (is_email_shaped: a
        person typed or an SDK wrote an address there), the value as it is otherwise. The
        value as sent stays in pii.pii_event_personal_data (docs/governance.md). -#}
    case
        when {{ is_email_shaped(expression) }} then cast(null as {{ dbt.type_string() }})
        else {{ expression }}
    end
{%- endmacro %}
