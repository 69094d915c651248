-- Every delivery is in exactly one place: fct_events (valid), fct_quarantined_events, or
-- counted as a redelivery. Returns deliveries found in none or in more than one.
-- In an incremental build it checks the deliveries whose placement this run can have
-- changed (docs/test_cost.md): those received inside any of the three tables' test windows
-- (rows the run deleted and rewrote, and its new rows) and those whose key is on a valid or
-- quarantined row the run wrote. Every other delivery has the same rows in all three tables
-- as when the previous run's build checked it. A full refresh or a plain `dbt test` checks
-- every delivery.
{%- set dedup = ref('int_events_deduplicated') %}
with

deliveries as (

    select
        raw_event_key,
        is_redelivery
    from {{ dedup }}
    where
        {{ lawn_test_window('received_at', dedup) }}
        or {{ lawn_test_window('received_at', dedup, model='int_events_attributed') }}
        or {{ lawn_test_window('received_at', dedup, model='fct_quarantined_events') }}
        or raw_event_key in (
            select written_valid.raw_event_key from {{ ref('fct_events') }} as written_valid
            where {{ lawn_test_window(
                'written_valid.received_at', ref('fct_events'), model='int_events_attributed'
            ) }}
        )
        or raw_event_key in (
            select written_quarantined.raw_event_key
            from {{ ref('fct_quarantined_events') }} as written_quarantined
            where {{ lawn_test_window(
                'written_quarantined.received_at', ref('fct_quarantined_events')
            ) }}
        )

),

valid as (

    select raw_event_key from {{ ref('fct_events') }}

),

quarantined as (

    select raw_event_key from {{ ref('fct_quarantined_events') }}

),

placed as (

    select
        deliveries.raw_event_key,
        (case when valid.raw_event_key is not null then 1 else 0 end)
        + (case when quarantined.raw_event_key is not null then 1 else 0 end)
        + (case when deliveries.is_redelivery then 1 else 0 end) as places
    from deliveries
    left join valid on deliveries.raw_event_key = valid.raw_event_key
    left join quarantined on deliveries.raw_event_key = quarantined.raw_event_key

)

select * from placed
where places != 1
