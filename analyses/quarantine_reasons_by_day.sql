-- Quarantined events per receive day and primary reason: the first place to look when the
-- daily valid share drops. Compile with `dbt compile -s quarantine_reasons_by_day`.
with

quarantined as (

    select * from {{ ref('fct_quarantined_events') }}

),

final as (

    select
        primary_reason_code,
        cast(received_at as date) as received_date,
        count(*) as quarantined_events,
        count(distinct event_name) as event_names
    from quarantined
    group by cast(received_at as date), primary_reason_code

)

select * from final
order by received_date asc, quarantined_events desc
