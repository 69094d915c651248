{#- The account funnel (the moments with a funnel_step in seeds/metrics/metric_moments.csv:
    signup -> trial -> first invoice -> paid) per signup week, segment, acquisition channel
    and first-touch source: the utm_source of the earliest page view with a non-empty
    utm_source (occurred_at, then event_id) of the people whose first signup was on the
    account (int_moments_reached's user_signed_up), `direct` if none. An account is counted
    at a step when it reached that step and every earlier one (in any order, at any time so
    far); time-to-step is measured from the account's creation. -#}
with

milestones as (

    select * from {{ ref('int_activation_milestones') }}
    where entity_type = 'account' and milestone_kind = 'moment'

),

moments as (

    select * from {{ ref('metric_moments') }}
    where funnel_step is not null

),

user_signups as (

    select
        entity_id as person_id,
        account_id
    from {{ ref('int_moments_reached') }}
    where entity_type = 'user' and moment_name = '{{ var("user_signup_moment") }}'

),

page_views as (

    select
        user_signups.account_id,
        events.occurred_at,
        events.event_id,
        {{ json_extract_scalar('events.properties', "'utm_source'") }} as utm_source
    from {{ ref('int_events_attributed') }} as events
    inner join user_signups on events.person_id = user_signups.person_id
    where events.event_name = 'page_viewed'

),

first_touches as (

    select
        account_id,
        utm_source,
        row_number() over (partition by account_id order by occurred_at, event_id)
            as touch_number
    from page_views
    where utm_source is not null and utm_source <> ''

),

steps as (

    select
        milestones.entity_id as account_id,
        milestones.cohort_week,
        milestones.segment,
        milestones.acquisition_channel,
        coalesce(first_touches.utm_source, 'direct') as first_touch_source,
        moments.funnel_step,
        moments.moment_name as step_name,
        milestones.is_reached,
        milestones.days_to_reach,
        min(case when milestones.is_reached then 1 else 0 end) over (
            partition by milestones.entity_id
            order by moments.funnel_step
            rows between unbounded preceding and current row
        ) = 1 as is_reached_in_order
    from milestones
    inner join moments on milestones.milestone_name = moments.moment_name
    left join first_touches
        on milestones.entity_id = first_touches.account_id and first_touches.touch_number = 1

),

aggregated as (

    select
        cohort_week,
        segment,
        acquisition_channel,
        first_touch_source,
        funnel_step,
        step_name,
        count(*) as cohort_accounts,
        count(case when is_reached_in_order then 1 end) as accounts_reached,
        avg(case when is_reached_in_order then days_to_reach end) as avg_days_to_step,
        {{ median('case when is_reached_in_order then days_to_reach end') }}
            as median_days_to_step
    from steps
    group by
        cohort_week, segment, acquisition_channel, first_touch_source, funnel_step, step_name

),

with_previous as (

    select
        cast(cohort_week as {{ dbt.type_string() }}) || ':' || segment || ':'
        || acquisition_channel || ':' || first_touch_source || ':' || step_name
            as funnel_key,
        cohort_week,
        segment,
        acquisition_channel,
        first_touch_source,
        funnel_step,
        step_name,
        cohort_accounts,
        accounts_reached,
        coalesce(
            lag(accounts_reached) over (
                partition by cohort_week, segment, acquisition_channel, first_touch_source
                order by funnel_step
            ),
            cohort_accounts
        ) as previous_step_accounts,
        cast(accounts_reached as {{ type_double() }}) / cohort_accounts
            as conversion_from_start,
        avg_days_to_step,
        median_days_to_step
    from aggregated

),

final as (

    select
        with_previous.*,
        case
            when with_previous.previous_step_accounts > 0
                then cast(with_previous.accounts_reached as {{ type_double() }})
                    / with_previous.previous_step_accounts
        end as conversion_from_previous
    from with_previous

)

select * from final
