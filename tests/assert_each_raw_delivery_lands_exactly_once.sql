-- Every delivery is in exactly one place: fct_events (valid), fct_quarantined_events, or
-- counted as a redelivery. Returns deliveries found in none or in more than one.
with

deliveries as (

    select
        raw_event_key,
        is_redelivery
    from {{ ref('int_events_deduplicated') }}

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
