{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ log_attribution_changes('before') }}",
            "{{ delete_lookback_window('received_at') }}",
            "{{ record_test_window('received_at') }}",
            "{{ reattribute_changed_identifiers() }}",
        ],
        post_hook=(
            [] if target.type == 'spark' else [
                "{{ save_attribution_state('drop') }}",
                "{{ save_attribution_state('create') }}",
                "{{ log_attribution_changes('after') }}",
            ]
        )
    )
}}
{#- Valid events with the person behind them: by user_id, else anonymous_id, else device_id
    (each in the identity graph's normal form, normalize_identifier). fct_events, the PII
    view, the metric, feature and experiment models and their tests all read it.
    Incremental like int_events_validated (docs/incremental_attribution.md): a run appends the
    valid events received after what the table holds (after the lookback delete); before
    that, the pre-hook reattribute_changed_identifiers gives the stored events whose
    identifier changed person since the last run (identity merges, splits, erasures,
    blocklist edits) their current person, so history always carries the person the identity
    map gives now, as a full refresh would. Events that leave int_events_valid (retention,
    erasure) are deleted from this table by the same commands (lawn/privacy.py,
    seeds/governance/retention_tables.csv). A table on Spark.
    Its hooks keep a change log of the rows each run really changed, with a sign
    (log_attribution_changes, macros/attribution/attribution_changes.sql), which
    int_activity_days and int_moments_reached apply as deltas. -#}
-- depends_on: {{ ref('int_identity_observations') }}
{#- the run's window, rendered once: each rendering queries this table for its newest kept
    time (incremental_newest_kept) -#}
{%- set in_window = incremental_window_predicate('received_at') if is_incremental() else '' %}
with

events as (

    select * from {{ ref('int_events_valid') }}
    {% if is_incremental() %}
        where {{ in_window }}
    {% endif %}

),

-- the identity map once (a view over the identity graph): the three joins read it, so it is
-- materialised once instead of computed per join (DuckDB, PostgreSQL 12+)
person_map as (

    select
        current_map.identifier_key,
        current_map.person_id
    from {{ attribution_current_map() }} as current_map

),

-- the identifier columns alone, for the joins' one look-up per distinct value
event_identifiers as (

    select
        user_id,
        anonymous_id,
        device_id
    from {{ ref('int_events_valid') }}
    {% if is_incremental() %}
        where {{ in_window }}
    {% endif %}

),

final as (

    select
        events.event_id,
        events.event_name,
        events.schema_version,
        events.tracking_plan_key,
        events.source,
        events.occurred_at,
        events.received_at,
        events.occurred_date,
        events.arrival_delay_seconds,
        {{ attributed_person_id() }} as person_id,
        events.anonymous_id,
        events.device_id,
        events.user_id,
        events.account_id,
        events.platform,
        events.app_version,
        events.locale,
        events.latency_ms,
        events.error_code,
        events.ip_address,
        events.properties,
        events.raw_event_key
    from events
    {{ attributed_person_joins('events', 'person_map', 'event_identifiers') }}

)

select * from final
