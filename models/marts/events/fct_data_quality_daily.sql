{#- Daily data quality by receive date, source and event name: how many deliveries arrived,
    how many were redeliveries, the share of first deliveries that passed validation, the
    share of valid events attributed to a person, and their product (the data quality
    score). Rows with an unparseable receive time are counted under 1900-01-01. -#}
with

deliveries as (

    select * from {{ ref('int_events_validated') }}

),

attributed as (

    select
        raw_event_key,
        person_id is not null as is_attributed
    from {{ ref('fct_events') }}

),

labelled as (

    select
        deliveries.delivery_status,
        coalesce(attributed.is_attributed, false) as is_attributed,
        coalesce(cast(deliveries.received_at as date), cast('1900-01-01' as date))
            as received_date,
        coalesce(deliveries.source, '(missing)') as source,
        coalesce(deliveries.event_name, '(missing)') as event_name
    from deliveries
    left join attributed on deliveries.raw_event_key = attributed.raw_event_key

),

daily as (

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
        ) as quarantined_count,
        cast(
            sum(case when is_attributed then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as attributed_count
    from labelled
    group by received_date, source, event_name

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
