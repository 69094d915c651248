{#- The churn model's examples: one row per paying account-day (MRR > 0 as known on day D)
    of fct_account_features_daily, with the model's features, the account's segment and
    signup cohort month, and the label `churned_30d` (doc block churned_30d): the account's
    subscription ends (a valid subscription_canceled, or a plan_changed to $0 MRR, occurring
    in (D, D + window], and not followed by a paid plan at the same instant) within the var
    `churn_window_days`. The label is unknown (null) while the window is not over: D +
    window after the data's last day (int_data_day: the newest valid event's occurred day). `lawn model train|score|monitor` read this
    mart and nothing else of the warehouse's models. -#}
with

features as (

    select * from {{ ref('fct_account_features_daily') }}

),

accounts as (

    -- every account lawn knows of: one seen only on events (no CRM row) has segment
    -- 'unknown' and was created when first seen, as in every other mart (a probe found a null
    -- segment here, so the model monitoring's segment slices lost those accounts)
    select * from {{ ref('int_accounts_combined') }}

),

plan_changes as (

    select * from {{ ref('int_account_plan_changes') }}

),

as_of as (

    select * from {{ ref('int_data_day') }}

),

last_changes_of_instant as (

    -- per account and instant, the change that holds after it (int_account_plan_changes'
    -- order: at one instant a cancellation comes before a plan_changed, so "cancel the old
    -- plan, start the new one" sent together is a change of plan, not an end)
    select
        account_id,
        occurred_at,
        mrr_usd,
        row_number() over (
            partition by account_id, occurred_at
            order by same_time_order desc, event_id desc
        ) as instant_rank
    from plan_changes

),

cancellations as (

    -- the subscription ends: a cancellation, or a plan change to $0 MRR (a downgrade to a free
    -- plan that the billing system sends without a cancellation), unless a paid plan starts
    -- at the same instant; fct_mrr_movements counts the same as churn, and so does the action
    -- outcome map's churned_30d (MRR to zero)
    select
        account_id,
        cast(occurred_at as date) as canceled_on
    from last_changes_of_instant
    where instant_rank = 1 and mrr_usd = 0

),

data_end as (

    select data_end_date as last_event_date
    from as_of

),

paying_days as (

    select
        features.*,
        accounts.segment,
        cast(
            {{ dbt.date_trunc('month', 'accounts.created_at') }} as date
        ) as cohort_month,
        cast(
            {{ dbt.dateadd('day', var('churn_window_days'), 'features.feature_date') }}
            as date
        ) as churn_window_end_date
    from features
    left join accounts on features.account_id = accounts.account_id
    where features.mrr_usd > 0

),

canceled_in_window as (

    select
        paying_days.account_id,
        paying_days.feature_date,
        count(*) as cancellations
    from paying_days
    inner join cancellations
        on
            paying_days.account_id = cancellations.account_id
            and paying_days.feature_date < cancellations.canceled_on
            and paying_days.churn_window_end_date >= cancellations.canceled_on
    group by paying_days.account_id, paying_days.feature_date

),

final as (

    select
        paying_days.account_feature_key,
        paying_days.account_id,
        paying_days.feature_date,
        paying_days.segment,
        paying_days.cohort_month,
        paying_days.account_age_days,
        paying_days.feature_uses_7d,
        paying_days.usage_trend_7d,
        paying_days.usage_vs_baseline_7d,
        paying_days.active_users_7d,
        paying_days.active_users_28d,
        paying_days.milestones_reached,
        paying_days.support_tickets_28d,
        paying_days.latest_nps_score,
        paying_days.mrr_usd,
        paying_days.mrr_change_30d,
        paying_days.email_open_rate_28d,
        paying_days.api_errors_7d,
        paying_days.churn_window_end_date,
        paying_days.churn_window_end_date
        <= data_end.last_event_date as is_label_known,
        case
            when paying_days.churn_window_end_date > data_end.last_event_date
                then cast(null as {{ dbt.type_boolean() }})
            else canceled_in_window.cancellations is not null
        end as churned_30d
    from paying_days
    cross join data_end
    left join canceled_in_window
        on
            paying_days.account_id = canceled_in_window.account_id
            and paying_days.feature_date = canceled_in_window.feature_date

)

select * from final
