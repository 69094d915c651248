{#- Daily data quality by receive date, source and event name: how many deliveries arrived,
    how many were redeliveries, the share of first deliveries that passed validation, the
    share of valid events attributed to a person, and their product (the data quality
    score). Rows with an unparseable receive time are counted under 1900-01-01.
    The deliveries and the attributed events are counted per group apart and the two small
    results joined: a valid event's attributed row carries its delivery's receive time,
    source and event name unchanged (int_events_valid, int_events_attributed), so it falls in
    its delivery's group, and no 10M x 10M join on raw_event_key is needed
    (docs/performance.md, "Four marts without whole-history work they did not need"). -#}
with

deliveries as (

    select
        delivery_status,
        coalesce(cast(received_at as date), cast('1900-01-01' as date)) as received_date,
        coalesce(source, '(missing)') as source,
        coalesce(event_name, '(missing)') as event_name
    from {{ ref('int_events_validated') }}

),

attributed as (

    -- the valid events with a person (fct_events' rows: int_events_attributed unmasked)
    select
        coalesce(cast(received_at as date), cast('1900-01-01' as date)) as received_date,
        coalesce(source, '(missing)') as source,
        coalesce(event_name, '(missing)') as event_name
    from {{ ref('int_events_attributed') }}
    where person_id is not null

),

delivered as (

    select
        received_date,
        source,
        event_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as delivered_count,
        cast(
            sum(case when delivery_status = 'duplicate' then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as duplicate_count,
        cast(
            sum(case when delivery_status = 'valid' then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as valid_count,
        cast(
            sum(case when delivery_status = 'quarantined' then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as quarantined_count
    from deliveries
    group by received_date, source, event_name

),

attributed_daily as (

    select
        received_date,
        source,
        event_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as attributed_count
    from attributed
    group by received_date, source, event_name

),

daily as (

    select
        delivered.received_date,
        delivered.source,
        delivered.event_name,
        delivered.delivered_count,
        delivered.duplicate_count,
        delivered.valid_count,
        delivered.quarantined_count,
        coalesce(attributed_daily.attributed_count, 0) as attributed_count
    from delivered
    left join attributed_daily
        on
            delivered.received_date = attributed_daily.received_date
            and delivered.source = attributed_daily.source
            and delivered.event_name = attributed_daily.event_name

),

final as (

    select
        cast(received_date as {{ dbt.type_string() }}) || '|' || source || '|' || event_name
            as data_quality_key,
        received_date,
        source,
        event_name,
        delivered_count,
        duplicate_count,
        delivered_count - duplicate_count as first_delivery_count,
        valid_count,
        quarantined_count,
        attributed_count,
        cast(valid_count as {{ type_double() }})
        / nullif(delivered_count - duplicate_count, 0) as valid_share,
        cast(attributed_count as {{ type_double() }})
        / nullif(valid_count, 0) as attributed_share,
        cast(attributed_count as {{ type_double() }})
        / nullif(delivered_count - duplicate_count, 0) as data_quality_score
    from daily

)

select * from final
