-- The build fails when, on a day with at least `dq_min_daily_events` first deliveries, the
-- share that passed validation falls below `dq_valid_share_floor`.
with

daily as (

    select
        received_date,
        sum(valid_count) as valid_count,
        sum(first_delivery_count) as first_delivery_count
    from {{ ref('fct_data_quality_daily') }}
    group by received_date

)

select
    received_date,
    valid_count,
    first_delivery_count,
    cast(valid_count as {{ type_double() }}) / first_delivery_count as valid_share
from daily
where
    first_delivery_count >= {{ var('dq_min_daily_events') }}
    and cast(valid_count as {{ type_double() }}) / first_delivery_count
    < {{ var('dq_valid_share_floor') }}
