{{ config(materialized='table') }}
{#- One row per calendar day from var calendar_start_date to calendar_end_date, with the
    week (Monday) and month it falls in. -#}
with

days as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('calendar_start_date') ~ "' as date)",
        "cast('" ~ var('calendar_end_date') ~ "' as date)"
    ) }}

),

final as (

    select
        cast(date_day as date) as date_day,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from days

)

select * from final
