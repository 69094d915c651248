{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_identity_link_days_window() }}",
            "{{ record_test_window('last_received_at') }}",
        ]
    )
}}
{#- The partial counts behind int_identity_links: one row per pair of identifiers seen
    together on one valid event (left key < right key) and receive day of those events,
    with the first time and the number of events. Blocked identifiers are counted too:
    the blocklist can change (int_identity_observations re-judges its rows), so the links
    drop the blocked keys when they add the days up, as a full refresh would.
    Incremental (docs/incremental_identity_links.md): a run recounts only the receive days
    of the lookback window (and the oldest day, which retention may have cut), from the
    observations of those days: the self-join on event_id, the expensive part of the links,
    then costs the new day instead of all history. -#}
{%- set window = identity_link_days_window() %}
with

observations as (

    select
        event_id,
        occurred_at,
        received_at,
        identifier_key
    from {{ ref('int_identity_observations') }}
    {% if window is not none %}
        where
            received_at is null
            or received_at >= cast('{{ window.start }}' as {{ dbt.type_timestamp() }})
            or received_at < cast('{{ window.oldest_next }}' as {{ dbt.type_timestamp() }})
    {% endif %}

),

pairs as (

    select
        left_side.identifier_key as left_key,
        right_side.identifier_key as right_key,
        left_side.occurred_at,
        left_side.received_at
    from observations as left_side
    inner join observations as right_side
        on
            left_side.event_id = right_side.event_id
            and left_side.identifier_key < right_side.identifier_key

),

final as (

    select
        left_key,
        right_key,
        cast(received_at as date) as received_date,
        min(occurred_at) as first_seen_at,
        count(*) as event_count,
        max(received_at) as last_received_at
    from pairs
    group by left_key, right_key, cast(received_at as date)

)

select * from final
