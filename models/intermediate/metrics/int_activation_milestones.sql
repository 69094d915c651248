{{ config(materialized='table') }}
{#- One row per entity (account or person) and milestone: every moment of metric_moments
    for that entity type, anchored at the entity's start (CRM creation for accounts, else
    first seen, no row without either; first signup for people), and every
    moment_within_window outcome of metric_outcomes for the entities in its segments (`*`:
    all of them, 'unknown' included),
    anchored at its anchor moment. A milestone is reached in
    window when it happens on calendar day 0..window_days after the anchor day; the window
    is complete when the data covers it: its last day is on or before the end of the data
    and its anchor day on or after the data's first day.
    A table, not a view: five models read it (docs/incremental_identity.md). -#}
with

accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

moments as (

    select * from {{ ref('metric_moments') }}

),

outcomes as (

    select * from {{ ref('metric_outcomes') }}
    where kind = 'moment_within_window'

),

reached as (

    select * from {{ ref('int_moments_reached') }}

),

current_plans as (

    select * from {{ ref('int_account_plan_changes') }}
    where recency_rank = 1

),

as_of as (

    select * from {{ ref('int_data_day') }}

),

account_entities as (

    select
        'account' as entity_type,
        accounts.account_id as entity_id,
        accounts.account_id,
        accounts.created_at as entity_anchor_at,
        accounts.segment,
        accounts.acquisition_channel,
        coalesce(signup.reached_platform, 'unknown') as platform
    from accounts
    left join reached as signup
        on
            signup.entity_type = 'account'
            and accounts.account_id = signup.entity_id
            and signup.moment_name = '{{ var("account_signup_moment") }}'
    -- a CRM account without created_at that no valid event carries has no anchor
    where accounts.created_at is not null

),

user_entities as (

    select
        'user' as entity_type,
        signup.entity_id,
        signup.account_id,
        signup.reached_at as entity_anchor_at,
        coalesce(accounts.segment, 'unknown') as segment,
        coalesce(accounts.acquisition_channel, 'unknown') as acquisition_channel,
        coalesce(signup.reached_platform, 'unknown') as platform
    from reached as signup
    left join accounts on signup.account_id = accounts.account_id
    where
        signup.entity_type = 'user'
        and signup.moment_name = '{{ var("user_signup_moment") }}'

),

entities as (

    select * from account_entities
    union all
    select * from user_entities

),

moment_rows as (

    select
        entities.*,
        moments.moment_name as milestone_name,
        'moment' as milestone_kind,
        moments.moment_name as target_moment,
        entities.entity_anchor_at as anchor_at,
        moments.window_days,
        true as is_higher_better
    from entities
    inner join moments on entities.entity_type = moments.entity_type

),

outcome_rows as (

    select
        entities.*,
        outcomes.outcome_id as milestone_name,
        'outcome' as milestone_kind,
        outcomes.outcome_moment as target_moment,
        anchor.reached_at as anchor_at,
        outcomes.window_days,
        outcomes.is_higher_better
    from entities
    inner join outcomes
        on
            entities.entity_type = outcomes.entity_type
            and (
                -- `*`: every segment, accounts without a CRM segment ('unknown') too
                outcomes.segments = '*'
                or {{ list_has_item('outcomes.segments', 'entities.segment') }}
            )
    inner join reached as anchor
        on
            entities.entity_type = anchor.entity_type
            and entities.entity_id = anchor.entity_id
            and outcomes.anchor_moment = anchor.moment_name

),

milestone_rows as (

    select * from moment_rows
    union all
    select * from outcome_rows

),

dated as (

    select
        milestone_rows.*,
        cast(milestone_rows.anchor_at as date) as anchor_date,
        target_reach.reached_at,
        target_reach.reached_date,
        target_reach.first_received_at as reached_received_at,
        cast(
            {{ dbt.dateadd('day', 'milestone_rows.window_days', 'milestone_rows.anchor_at') }}
            as date
        ) as window_end_date  -- noqa: LT05
    from milestone_rows
    left join reached as target_reach
        on
            milestone_rows.entity_type = target_reach.entity_type
            and milestone_rows.entity_id = target_reach.entity_id
            and milestone_rows.target_moment = target_reach.moment_name

),

final as (

    select
        dated.entity_type || ':' || dated.entity_id || ':' || dated.milestone_name
            as activation_key,
        dated.entity_type,
        dated.entity_id,
        dated.account_id,
        dated.milestone_name,
        dated.milestone_kind,
        dated.target_moment,
        dated.segment,
        dated.acquisition_channel,
        dated.platform,
        coalesce(current_plans.to_plan, 'none') as plan,
        dated.anchor_at,
        dated.anchor_date,
        cast({{ dbt.date_trunc('week', 'dated.anchor_date') }} as date) as cohort_week,
        cast({{ dbt.date_trunc('month', 'dated.anchor_date') }} as date) as cohort_month,
        dated.reached_at,
        dated.reached_received_at,
        dated.reached_at is not null as is_reached,
        -- exact to the microsecond (dbt.datediff counts second boundaries), a double on
        -- every engine (Spark reads 86400.0 as a decimal and widens it)
        {{ seconds_between('dated.anchor_at', 'dated.reached_at') }} / 86400 as days_to_reach,
        dated.window_days,
        dated.window_end_date,
        coalesce(
            dated.reached_date between dated.anchor_date and dated.window_end_date, false
        ) as is_reached_in_window,
        -- final only when the data covers the whole window: over by its end, and begun on or
        -- after its first day (an account the CRM created before the events start is not)
        dated.window_end_date <= as_of.data_end_date
        and dated.anchor_date >= as_of.data_start_date as is_window_complete,
        dated.is_higher_better
    from dated
    cross join as_of
    left join current_plans on dated.account_id = current_plans.account_id

)

select * from final
