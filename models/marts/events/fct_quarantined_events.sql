{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_purged_from_history() }}",
            "{{ delete_lookback_window('received_at') }}",
            "{{ record_test_window('received_at') }}",
        ]
    )
}}
{#- Rejected raw rows: one row per first delivery that failed validation, with every
    reason (and the field paths in reason_details), the tracking-plan version it was
    checked against, and the payload's size and keyed hash. The payload itself (emails, IP
    addresses) is in pii.pii_quarantined_event_payloads only, as are the identifiers in
    clear: an email-shaped user_id, anonymous_id or device_id is shown as its keyed hash
    (masked_identifier). The identifiers of a delivery
    older than the quarantine's latest applied retention cutoff are null, as `lawn
    retention` left them: an undated delivery re-read at every run, or a full refresh, does
    not bring them back (retention_tables.csv anonymises the same four columns). Deliveries
    older than the event history's cutoff go with the history (delete_purged_from_history),
    as a full refresh would not find them. -#}
{%- set anonymised_before = applied_retention_cutoff('marts.fct_quarantined_events') %}
{%- set identifiers = ['anonymous_id', 'device_id', 'user_id', 'account_id'] %}
with

quarantined as (

    select * from {{ ref('int_events_validated') }}
    where
        delivery_status = 'quarantined'
        {% if is_incremental() %}
            and {{ incremental_window_predicate('received_at') }}
        {% endif %}

),

final as (

    select
        raw_event_key,
        event_id,
        event_name,
        schema_version_raw as schema_version,
        source,
        occurred_at_raw,
        received_at_raw,
        received_at,
        occurred_at,
        {% for column in identifiers -%}
            {#- an email-shaped id as its keyed hash (masked_identifier); account_id as it is -#}
            {%- set shown = column if column == 'account_id' else masked_identifier(column) -%}
            {% if anonymised_before is none -%}
                {{ shown }} as {{ column }},
            {%- else -%}
                case when {{ delivered_since(anonymised_before) }} then {{ shown }} end
                    as {{ column }},
            {%- endif %}
        {% endfor -%}
        cast(
            {{ dbt.length("coalesce(context_raw, '')") }}
            + {{ dbt.length("coalesce(properties_raw, '')") }} as {{ dbt.type_bigint() }}
        ) as payload_characters,
        {{ keyed_hash("coalesce(context_raw, '') || '|' || coalesce(properties_raw, '')") }}
            as payload_key,
        primary_reason_code,
        reason_codes,
        reason_details,
        reason_count,
        coalesce(event_name, '(missing)') || '@v'
        || coalesce(schema_version_raw, '(missing)') as checked_against_plan_key,
        '{{ var("tracking_plan_release") }}' as tracking_plan_release
    from quarantined

)

select * from final
