{#- MetricFlow's daily time spine (the semantic layer joins metrics to it); one row per
    day of the lawn calendar. -#}
with

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

final as (

    select date_day from calendar

)

select * from final
