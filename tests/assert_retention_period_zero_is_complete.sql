-- Retention at period 0. A person's anchor is their signup, itself an activity event, so
-- every person is active on their anchor day: for people every period 0 has rate 1. An
-- account's anchor is its creation (CRM created_at, else its first valid event of any kind),
-- which need not be an activity day (a CRM account created the day before its first login,
-- an account first seen on a backend invoice_paid, a CRM account with no events): for
-- accounts period 0 is recounted instead. Day 0 of an account cohort retains exactly the
-- members active on their anchor day (int_activity_days), no more and no fewer, and no
-- period 0 retains more units than are eligible. Returns one row per violation.
with

retention as (

    select * from {{ ref('fct_retention_cohorts') }}
    where period_number = 0

),

history_cutoff as (

    select max(cast(cutoff_at as date)) as cutoff_date
    from {{ ref('stg_privacy__retention_audit') }}
    where
        not is_dry_run
        and relation_name = 'intermediate.int_events_deduplicated'

),

members as (

    -- the members of fct_retention_cohorts: the same milestone rows and history cutoff
    select
        milestones.entity_id,
        milestones.anchor_date,
        milestones.cohort_week
    from {{ ref('int_activation_milestones') }} as milestones
    cross join history_cutoff
    where
        milestones.entity_type = 'account'
        and milestones.milestone_kind = 'moment'
        and milestones.milestone_name = '{{ var("account_signup_moment") }}'
        and (
            history_cutoff.cutoff_date is null
            or milestones.anchor_date > history_cutoff.cutoff_date
        )

),

active_on_anchor_day as (

    select
        members.cohort_week,
        count(*) as active_units
    from members
    inner join {{ ref('int_activity_days') }} as activity
        on
            activity.entity_type = 'account'
            and members.entity_id = activity.entity_id
            and members.anchor_date = activity.activity_date
    group by members.cohort_week

),

violations as (

    select
        'user period 0 below 1' as violation,
        period_type,
        cohort_start
    from retention
    where entity_type = 'user' and (retention_rate <> 1 or retained_units <> eligible_units)

    union all

    select
        'account period 0 retains more than its eligible units' as violation,
        period_type,
        cohort_start
    from retention
    where entity_type = 'account' and retained_units > eligible_units

    union all

    select
        'account day 0 retained differs from the members active on their anchor day'
            as violation,
        retention.period_type,
        retention.cohort_start
    from retention
    left join active_on_anchor_day
        on retention.cohort_start = active_on_anchor_day.cohort_week
    where
        retention.entity_type = 'account'
        and retention.period_type = 'day'
        and retention.retained_units <> coalesce(active_on_anchor_day.active_units, 0)

)

select * from violations
