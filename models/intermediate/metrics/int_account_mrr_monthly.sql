{{ config(materialized='table') }}
{#- A table: four models and its key test read it, and as a view each recomputed the month
    spine of every paying account (docs/performance.md, "Views read many times"). -#}
{#- One row per account and calendar month, from the first month that ended with MRR > 0
    (the first paid month) to the last month of data: the MRR and plan in force at the end
    of the month (the last plan_changed or subscription_canceled event before the month
    ended; a cancellation is plan `none` at $0), the previous
    month's MRR and whether the account had paid before this month. $0 plans (a trial, a
    free plan, none) are not paying: months before the first paid one have no row, and an
    account that never paid has none at all. `new` is the first paid month ever;
    `reactivation` a return to MRR > 0 after a paid period ended at $0 (churn); `existing` the
    first month of an account that was already paying before the event history starts (its
    first subscription event in the data is a cancellation or a change from a plan not in var
    unpaid_plans): its MRR is first seen, its change unknown, and it is not new business. -#}
with

plan_changes as (

    -- plan_changed and subscription_canceled ($0), ordered at the same instant
    select
        account_id,
        occurred_at,
        event_id,
        change_type,
        from_plan,
        to_plan,
        mrr_usd,
        same_time_order,
        cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) as change_month
    from {{ ref('int_account_plan_changes') }}

),

calendar as (

    select distinct month_start from {{ ref('int_calendar_days') }}

),

as_of as (

    select * from {{ ref('int_data_day') }}

),

oldest_first as (

    select
        account_id,
        change_month,
        change_type,
        from_plan,
        row_number() over (
            partition by account_id
            order by occurred_at, same_time_order, event_id
        ) as age_rank
    from plan_changes

),

first_change as (

    -- the account's first subscription event in the data: a cancellation, or a change from a
    -- plan that bills (not in var unpaid_plans), says it was paying before the data starts
    select
        account_id,
        change_month as first_change_month,
        coalesce(change_type = 'subscription_canceled', false)
        or coalesce(from_plan not in (
            {%- for plan in var('unpaid_plans') %}
                '{{ plan }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        ), false) as paid_before_data
    from oldest_first
    where age_rank = 1

),

spine as (

    select
        first_change.account_id,
        calendar.month_start
    from first_change
    cross join as_of
    inner join calendar
        on
            first_change.first_change_month <= calendar.month_start
            and calendar.month_start
            <= cast({{ dbt.date_trunc('month', 'as_of.data_end_date') }} as date)

),

state_candidates as (

    select
        spine.account_id,
        spine.month_start,
        plan_changes.to_plan,
        plan_changes.mrr_usd,
        row_number() over (
            partition by spine.account_id, spine.month_start
            order by
                plan_changes.occurred_at desc,
                plan_changes.same_time_order desc,
                plan_changes.event_id desc
        ) as recency_rank
    from spine
    inner join plan_changes
        on
            spine.account_id = plan_changes.account_id
            and spine.month_start >= plan_changes.change_month

),

month_end_state as (

    select * from state_candidates
    where recency_rank = 1

),

first_paid as (

    select
        account_id,
        min(month_start) as first_paid_month
    from month_end_state
    where mrr_usd > 0
    group by account_id

),

paid_history as (

    select
        month_end_state.account_id,
        month_end_state.month_start,
        month_end_state.to_plan,
        month_end_state.mrr_usd,
        first_paid.first_paid_month,
        first_change.first_change_month,
        first_change.paid_before_data
    from month_end_state
    inner join first_paid
        on
            month_end_state.account_id = first_paid.account_id
            and month_end_state.month_start >= first_paid.first_paid_month
    inner join first_change on month_end_state.account_id = first_change.account_id

),

with_previous as (

    select
        account_id || ':' || cast(month_start as {{ dbt.type_string() }}) as account_month_key,
        account_id,
        month_start,
        first_paid_month,
        to_plan as plan,
        mrr_usd,
        cast(coalesce(
            lag(mrr_usd) over (partition by account_id order by month_start), 0
        ) as decimal(18, 2)) as previous_mrr_usd,
        paid_before_data,
        month_start = first_change_month and paid_before_data as is_first_month_seen,
        month_start > first_paid_month or paid_before_data as has_paid_before
    from paid_history

),

final as (

    select
        with_previous.account_month_key,
        with_previous.account_id,
        with_previous.month_start,
        with_previous.first_paid_month,
        with_previous.plan,
        with_previous.mrr_usd,
        with_previous.previous_mrr_usd,
        with_previous.paid_before_data,
        with_previous.has_paid_before,
        cast(with_previous.mrr_usd - with_previous.previous_mrr_usd as decimal(18, 2))
            as mrr_change_usd,
        case
            when with_previous.previous_mrr_usd = 0 and with_previous.mrr_usd > 0
                then case
                        when with_previous.is_first_month_seen then 'existing'
                        when with_previous.has_paid_before then 'reactivation'
                        else 'new'
                    end
            when with_previous.previous_mrr_usd > 0 and with_previous.mrr_usd = 0 then 'churn'
            when with_previous.mrr_usd > with_previous.previous_mrr_usd then 'expansion'
            when with_previous.mrr_usd < with_previous.previous_mrr_usd then 'contraction'
            else 'none'
        end as movement_type
    from with_previous

)

select * from final
