{#- One row per day and channel of ad spend, typed; in a replay (var as_of_date) only the
    days up to that day. An export from several ad accounts (or a re-export per campaign)
    has several rows for one day and channel: they are summed, and a credit or refund the
    platform books as a negative row nets against that day's spend. -#}
with

marketing_spend as (

    select * from {{ source('marketing', 'marketing_spend') }}

),

typed as (

    select
        cast(spend_date as date) as spend_date,
        {{ lower_unicode('trim(channel)') }} as channel,
        -- to the micro-dollar, as ad platforms report it (0.004 a day), summed before any
        -- rounding: cents per row lost 0.117 of a month's 0.12 (a probe, 2026-12-07)
        {{ try_cast('spend_usd', 'decimal(18, 6)') }} as spend_usd,
        {{ try_cast('impressions', dbt.type_bigint()) }} as impressions,
        {{ try_cast('clicks', dbt.type_bigint()) }} as clicks
    from marketing_spend

),

known as (

    select * from typed
    where {{ is_known_as_of('spend_date', column_is_date=true) }}

),

final as (

    select
        spend_date,
        channel,
        sum(spend_usd) as spend_usd,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        count(*) as source_row_count
    from known
    group by spend_date, channel

)

select * from final
