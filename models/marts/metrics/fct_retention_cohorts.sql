{#- Retention matrices for people and accounts: per period type, cohort and period number,
    how many of the cohort were active (var activity_event_names) in that period after
    their anchor day (first signup for people, CRM creation for accounts).
    - `day`: classic N-day retention, active on exactly day N (N in 0, 1, 7, 30, 90);
      cohorts by signup week.
    - `week`: active on days 7k..7k+6 after the anchor; cohorts by signup week.
    - `month`: active on days 30k..30k+29 after the anchor; cohorts by signup month.
    A member counts towards a period only once the period is over in the data and if it
    began on or after the first day of the data (eligible_units: an account the CRM created
    before the event history starts is not counted inactive for its days before it); period
    0 always contains the anchor day, so its rate is 1 for people
    (their signup is an activity) but may be below 1 for accounts, whose creation (CRM
    created_at or first event of any kind) need not be an activity day. Once data
    retention (lawn/retention.py) has purged the event history before a cutoff, members
    anchored on or before the cutoff's day are left out: their activity is no longer there. -#}
{#- the periods: day N, week k (days 7k..7k+6), month k (days 30k..30k+29) -#}
{%- set day_numbers = [0, 1, 7, 30, 90] -%}
{%- set week_count = 27 -%}
{%- set month_count = 13 -%}
with

milestones as (

    select * from {{ ref('int_activation_milestones') }}
    where
        milestone_kind = 'moment'
        and milestone_name in (
            '{{ var("account_signup_moment") }}', '{{ var("user_signup_moment") }}'
        )

),

activity as (

    select * from {{ ref('int_activity_days') }}

),

as_of as (

    select * from {{ ref('int_data_day') }}

),

history_cutoff as (

    select max(cast(cutoff_at as date)) as cutoff_date
    from {{ ref('stg_privacy__retention_audit') }}
    where
        not is_dry_run
        and relation_name = 'intermediate.int_events_deduplicated'
        -- a run that deleted nothing purged nothing: the history before its cutoff is what
        -- the data always had (a probe found cohorts lost after a nightly whose retention
        -- step, its cutoff counted from the wall clock, removed no row)
        and rows_affected > 0

),

members as (

    select
        milestones.entity_type,
        milestones.entity_id,
        milestones.anchor_date,
        milestones.cohort_week,
        milestones.cohort_month,
        {{ dbt.datediff('milestones.anchor_date', 'as_of.data_end_date', 'day') }}
            as days_observed,
        -- the data's first day, in days after the anchor (negative when the anchor is later)
        {{ dbt.datediff('milestones.anchor_date', 'as_of.data_start_date', 'day') }}
            as first_day_covered
    from milestones
    cross join as_of
    cross join history_cutoff
    where
        history_cutoff.cutoff_date is null
        or milestones.anchor_date > history_cutoff.cutoff_date

),

active_days as (

    select
        members.entity_type,
        members.entity_id,
        {{ dbt.datediff('members.anchor_date', 'activity.activity_date', 'day') }}
            as days_since_anchor
    from members
    inner join activity
        on
            members.entity_type = activity.entity_type
            and members.entity_id = activity.entity_id
            and members.anchor_date <= activity.activity_date

),

periods as (

    {%- set periods = [] %}
    {%- for n in day_numbers %}{% do periods.append(('day', n, n, n)) %}{% endfor %}
    {%- for k in range(week_count) %}
        {%- do periods.append(('week', k, 7 * k, 7 * k + 6)) %}
    {%- endfor %}
    {%- for k in range(month_count) %}
        {%- do periods.append(('month', k, 30 * k, 30 * k + 29)) %}
    {%- endfor %}
    {%- for period_type, period_number, first_day, last_day in periods %}
        select
            '{{ period_type }}' as period_type,
            {{ period_number }} as period_number,
            {{ first_day }} as first_day,
            {{ last_day }} as last_day
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

active_periods as (

    -- the periods an active day falls in, by arithmetic (day N; week floor(d / 7); month
    -- floor(d / 30)) rather than a range join of every active day with every period
    select distinct
        entity_type,
        entity_id,
        period_type,
        period_number
    from (
        select
            entity_type,
            entity_id,
            'day' as period_type,
            days_since_anchor as period_number
        from active_days
        where days_since_anchor in ({{ day_numbers | join(', ') }})
        union all
        select
            entity_type,
            entity_id,
            'week' as period_type,
            cast(floor(days_since_anchor / 7) as {{ dbt.type_bigint() }}) as period_number
        from active_days
        where days_since_anchor <= {{ 7 * week_count - 1 }}
        union all
        select
            entity_type,
            entity_id,
            'month' as period_type,
            cast(floor(days_since_anchor / 30) as {{ dbt.type_bigint() }}) as period_number
        from active_days
        where days_since_anchor <= {{ 30 * month_count - 1 }}
    ) as day_periods

),

member_periods as (

    select
        members.entity_type,
        members.entity_id,
        periods.period_type,
        periods.period_number,
        case
            when periods.period_type = 'month' then members.cohort_month
            else members.cohort_week
        end as cohort_start,
        members.days_observed >= periods.last_day
        and members.first_day_covered <= periods.first_day as is_eligible,
        active_periods.entity_id is not null as is_active
    from members
    cross join periods
    left join active_periods
        on
            members.entity_type = active_periods.entity_type
            and members.entity_id = active_periods.entity_id
            and periods.period_type = active_periods.period_type
            and periods.period_number = active_periods.period_number
    where members.days_observed >= periods.first_day

),

aggregated as (

    select
        entity_type,
        period_type,
        cohort_start,
        period_number,
        count(*) as observed_units,
        count(case when is_eligible then 1 end) as eligible_units,
        count(case when is_eligible and is_active then 1 end) as retained_units
    from member_periods
    group by entity_type, period_type, cohort_start, period_number

),

cohort_grains as (

    select 'week' as cohort_grain
    union all
    select 'month' as cohort_grain

),

member_cohorts as (

    select
        members.entity_type,
        cohort_grains.cohort_grain,
        case
            when cohort_grains.cohort_grain = 'month' then members.cohort_month
            else members.cohort_week
        end as cohort_start
    from members
    cross join cohort_grains

),

cohort_sizes as (

    select
        entity_type,
        cohort_grain,
        cohort_start,
        count(*) as cohort_size
    from member_cohorts
    group by entity_type, cohort_grain, cohort_start

),

final as (

    select
        aggregated.entity_type || ':' || aggregated.period_type || ':'
        || cast(aggregated.cohort_start as {{ dbt.type_string() }}) || ':'
        || cast(aggregated.period_number as {{ dbt.type_string() }}) as retention_key,
        aggregated.entity_type,
        aggregated.period_type,
        aggregated.cohort_start,
        aggregated.period_number,
        cohort_sizes.cohort_size,
        aggregated.eligible_units,
        aggregated.retained_units,
        case
            when aggregated.eligible_units > 0
                then cast(aggregated.retained_units as {{ type_double() }})
                    / aggregated.eligible_units
        end as retention_rate,
        aggregated.eligible_units = cohort_sizes.cohort_size as is_complete
    from aggregated
    inner join cohort_sizes
        on
            aggregated.entity_type = cohort_sizes.entity_type
            and aggregated.cohort_start = cohort_sizes.cohort_start
            and cohort_sizes.cohort_grain
            = case when aggregated.period_type = 'month' then 'month' else 'week' end

)

select * from final
