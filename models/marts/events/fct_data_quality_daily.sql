{#- Daily data quality by receive date, source and event name: how many deliveries arrived,
    how many were redeliveries, and the share of first deliveries that passed validation.
    Rows with an unparseable receive time are counted under 1900-01-01. -#}
with

deliveries as (

    select * from {{ ref('int_events_validated') }}

),

labelled as (

    select
        delivery_status,
        coalesce(cast(received_at as date), cast('1900-01-01' as date)) as received_date,
        coalesce(source, '(missing)') as source,
        coalesce(event_name, '(missing)') as event_name
    from deliveries

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
        ) as quarantined_count
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
        cast(valid_count as {{ type_double() }})
        / nullif(delivered_count - duplicate_count, 0) as valid_share
    from daily

)

select * from final
