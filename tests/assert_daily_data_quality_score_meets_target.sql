{{ config(severity='warn') }}
-- Warns (does not fail) on days with at least `dq_min_daily_events` first deliveries whose
-- data quality score (valid and attributed to a person / first deliveries) is below the
-- target `dq_score_target`; the hard floor on validity is a separate, failing test.
with

daily as (

    select
        received_date,
        sum(attributed_count) as attributed_count,
        sum(first_delivery_count) as first_delivery_count
    from {{ ref('fct_data_quality_daily') }}
    group by received_date

)

select
    received_date,
    attributed_count,
    first_delivery_count,
    cast(attributed_count as {{ type_double() }}) / first_delivery_count as data_quality_score
from daily
where
    first_delivery_count >= {{ var('dq_min_daily_events') }}
    and cast(attributed_count as {{ type_double() }}) / first_delivery_count
    < {{ var('dq_score_target') }}
