{{ config(materialized='table') }}
{#- A table: as a view, each of its nine readers (five models, four tests) scanned every
    valid event for the few subscription events (docs/performance.md, "Views read many
    times"). -#}
{#- Every subscription change an account went through, numbered newest first: plan_changed
    events (both schema versions), and subscription_canceled, which ends the subscription
    (plan `none` at $0 from then on, also when the billing feed sends no $0 plan_changed after
    it). At the same instant a cancellation comes before a plan_changed (a plan switch sent as
    "cancel the old one, start the new one" is a change of plan, not a churn). Every reader of
    an account's plan or MRR (MRR months, experiment metrics, the account and user dimensions,
    activation) reads it here. -#}
with

subscription_events as (

    select
        event_id,
        event_name,
        account_id,
        occurred_at,
        schema_version,
        properties
    from {{ ref('int_events_valid') }}
    where event_name in ('plan_changed', 'subscription_canceled') and account_id is not null

),

parsed as (

    select
        event_id,
        account_id,
        occurred_at,
        schema_version,
        event_name as change_type,
        case
            when event_name = 'subscription_canceled'
                then {{ json_extract_scalar('properties', "'plan'") }}
            else {{ json_extract_scalar('properties', "'from_plan'") }}
        end as from_plan,
        case
            when event_name = 'subscription_canceled' then 'none'
            else {{ json_extract_scalar('properties', "'to_plan'") }}
        end as to_plan,
        case
            when event_name = 'subscription_canceled' then cast(0 as decimal(18, 2))
            else cast({{ json_extract_scalar('properties', "'mrr_usd'") }} as decimal(18, 2))
        end as mrr_usd,
        case
            when event_name = 'plan_changed'
                then {{ integer_property_value(
                    json_extract_scalar('properties', "'seats'"), dbt.type_int()
                ) }}
        end as seats,
        case
            when event_name = 'plan_changed'
                then {{ json_extract_scalar('properties', "'billing_period'") }}
        end as billing_period,
        case when event_name = 'subscription_canceled' then 1 else 2 end as same_time_order
    from subscription_events

),

final as (

    select
        parsed.*,
        row_number() over (
            partition by parsed.account_id
            order by parsed.occurred_at desc, parsed.same_time_order desc, parsed.event_id desc
        ) as recency_rank
    from parsed

)

select * from final
