{#- One row per bandit assignment with its reward: the registry's reward moment
    (fct_activation, the account's first time reaching it) reached on a day within
    [decision_day, decision_day + reward_window_days]. Delayed rewards: until the window has
    closed by the data's last day (the newest feature day, as lawn.warehouse.LATEST_DAY_SQL)
    the outcome is unknown (`reward` null): an open window is neither a success nor a
    failure. A reward after the window, or a moment first reached before the decision, is a
    failure. The same rule as lawn.bandit.credited_counts, which the nightly applies to
    the same rows when it credits the arms. -#}
with

assignments as (

    select * from {{ ref('stg_ml__bandit_assignments') }}

),

registry as (

    select * from {{ ref('bandit_registry') }}

),

reached as (

    select
        account_id,
        milestone_name,
        cast(reached_at as date) as reached_on
    from {{ ref('fct_activation') }}
    where entity_type = 'account' and milestone_kind = 'moment'

),

as_of as (

    select max(feature_date) as as_of_date
    from {{ ref('fct_account_features_daily') }}

),

windowed as (

    select
        assignments.bandit_assignment_key,
        assignments.bandit_id,
        assignments.action_id,
        assignments.account_id,
        assignments.decision_day,
        assignments.context,
        assignments.arm,
        assignments.is_holdout,
        assignments.propensity,
        registry.reward_moment,
        registry.reward_window_days,
        cast(
            {{ dbt.dateadd(
                'day', 'registry.reward_window_days', 'assignments.decision_day'
            ) }} as date
        ) as window_end_date,
        reached.reached_on as reward_reached_on,
        as_of.as_of_date
    from assignments
    inner join registry on assignments.bandit_id = registry.bandit_id
    cross join as_of
    left join reached
        on
            assignments.account_id = reached.account_id
            and registry.reward_moment = reached.milestone_name

),

final as (

    select
        *,
        window_end_date <= as_of_date as is_window_closed,
        case
            when window_end_date > as_of_date or as_of_date is null then null
            when
                reward_reached_on >= decision_day
                and reward_reached_on <= window_end_date
                then 1
            else 0
        end as reward
    from windowed

)

select * from final
