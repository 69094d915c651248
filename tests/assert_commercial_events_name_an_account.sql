{{ config(severity='warn') }}
-- Valid commercial events (the tracking plan's `commercial` category: plan changes,
-- cancellations, invoices, trials) without an account_id. They pass the event contract
-- (account_id is optional on every event), but every revenue mart keys on the account:
-- fct_mrr, fct_mrr_movements, fct_revenue_retention, fct_ltv and fct_cac_payback leave them
-- out. A warning, so a feed whose billing events carry only a user_id is told, not silently
-- shown less revenue.
with

commercial as (

    select distinct event_name
    from {{ ref('stg_tracking_plan__events') }}
    where event_category = 'commercial'

),

events as (

    select
        event_id,
        event_name,
        received_at
    from {{ ref('int_events_attributed') }}
    where account_id is null

),

final as (

    select
        events.event_id,
        events.event_name,
        events.received_at
    from events
    inner join commercial on events.event_name = commercial.event_name

)

select * from final
