{% macro volume_activity_date(relation) -%}
    {#- The UTC day a delivery counts on in int_event_volumes_filled: the day it occurred,
        or its receive day when the client time is missing or quarantined as implausible
        (OCCURRED_IN_FUTURE, OCCURRED_TOO_LONG_AGO, RECEIVED_AT_OUT_OF_RANGE).
        `relation` is the alias of a relation with occurred_at, received_at and
        reason_codes (int_events_validated). -#}
    case
        when
            {{ relation }}.occurred_at is null
            or '|' || coalesce({{ relation }}.reason_codes, '') || '|'
            like '%|OCCURRED_%'
            or '|' || coalesce({{ relation }}.reason_codes, '') || '|'
            like '%|RECEIVED_AT_OUT_OF_RANGE|%'
            then cast({{ relation }}.received_at as date)
        else cast({{ relation }}.occurred_at as date)
    end
{%- endmacro %}
