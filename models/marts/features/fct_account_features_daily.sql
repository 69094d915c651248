{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_account_features() }}"
    )
}}
{#- Point-in-time features per account and day, for the churn model and the actions: every
    feature of day D uses only events the warehouse had received by the end of D (so a
    model trained on day D's row never sees the future, tested by rebuilding with the
    data cut at D). Activity is counted by user_id, not person: identity merges learned
    later would otherwise leak into the past. Windows: 7 and 28 days ending on D; the usage
    baseline is the 28 days before the last 7 (days D-34..D-7). Days run up to the data day
    (int_data_day).
    Incremental on DuckDB and PostgreSQL (a table on Spark, as the event models): the pre-hook
    deletes what may have changed (the event lookback's days, accounts whose creation day
    changed), then only the days after the newest kept day are computed for the accounts
    that still have a row on it, and every day for the others; the windows read the 34 days
    before (docs/incremental_features.md). -#}
with

accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

activity as (

    select * from {{ ref('int_account_activity_daily') }}

),

calendar as (

    select date_day from {{ ref('int_calendar_days') }}

),

events as (

    select
        event_id,
        event_name,
        account_id,
        user_id,
        occurred_at,
        properties,
        cast(received_at as date) as received_date
    from {{ ref('int_events_valid') }}
    where account_id is not null

),

account_moments as (

    select * from {{ ref('int_moments_reached') }}
    where entity_type = 'account'

),

as_of as (

    select data_day from {{ ref('int_data_day') }}

),

kept_accounts as (

    -- per account: the first day to compute (the windows and the 30-day lag read the 34
    -- days before the first day written) and the first day to write. On an incremental run
    -- the accounts with a row on the newest kept day continue after it; the others (new, or
    -- deleted by the pre-hook) are computed from their first day.
    {% if is_incremental() -%}
        select
            written.account_id,
            cast({{ dbt.dateadd('day', -34, 'written.feature_date') }} as date) as compute_from,
            cast({{ dbt.dateadd('day', 1, 'written.feature_date') }} as date) as output_from
        from {{ this }} as written
        where written.feature_date = (select max(newest.feature_date) from {{ this }} as newest)
    {%- else -%}
        select
            account_id,
            cast(null as date) as compute_from,
            cast(null as date) as output_from
        from accounts
        where 1 = 0
    {%- endif %}

),

scope as (

    select
        accounts.account_id,
        accounts.created_at,
        kept_accounts.compute_from,
        kept_accounts.output_from
    from accounts
    left join kept_accounts on accounts.account_id = kept_accounts.account_id

),

spine as (

    select
        scope.account_id,
        calendar.date_day as feature_date,
        cast({{ dbt.dateadd('day', -6, 'calendar.date_day') }} as date) as window_7_start,
        cast({{ dbt.dateadd('day', -27, 'calendar.date_day') }} as date) as window_28_start,
        {{ dbt.datediff('cast(scope.created_at as date)', 'calendar.date_day', 'day') }}
            as account_age_days,
        (scope.output_from is null or scope.output_from <= calendar.date_day) as is_output
    from scope
    cross join as_of
    inner join calendar
        on
            cast(scope.created_at as date) <= calendar.date_day
            and as_of.data_day >= calendar.date_day
            and (scope.compute_from is null or scope.compute_from <= calendar.date_day)

),

activity_in_scope as (

    -- only the days the spine reads (an incremental run: the last weeks, not all history)
    select activity.*
    from activity
    where activity.received_date >= (select min(spine.feature_date) from spine)

),

daily as (

    select
        spine.*,
        coalesce(activity.feature_uses, 0) as feature_uses,
        coalesce(activity.support_tickets, 0) as support_tickets,
        coalesce(activity.emails_delivered, 0) as emails_delivered,
        coalesce(activity.emails_opened, 0) as emails_opened,
        coalesce(activity.api_requests, 0) as api_requests,
        coalesce(activity.api_errors, 0) as api_errors
    from spine
    left join activity_in_scope as activity
        on spine.account_id = activity.account_id and spine.feature_date = activity.received_date

),

windowed as (

    select
        account_id,
        feature_date,
        window_7_start,
        window_28_start,
        account_age_days,
        is_output,
        sum(feature_uses) over (
            partition by account_id order by feature_date rows between 6 preceding and current row
        ) as feature_uses_7d,
        coalesce(sum(feature_uses) over (
            partition by account_id order by feature_date rows between 13 preceding and 7 preceding
        ), 0) as feature_uses_prior_7d,
        coalesce(sum(feature_uses) over (
            partition by account_id order by feature_date rows between 34 preceding and 7 preceding
        ), 0) as feature_uses_baseline_28d,
        sum(support_tickets) over (
            partition by account_id order by feature_date rows between 27 preceding and current row
        ) as support_tickets_28d,
        sum(emails_delivered) over (
            partition by account_id order by feature_date rows between 27 preceding and current row
        ) as emails_delivered_28d,
        sum(emails_opened) over (
            partition by account_id order by feature_date rows between 27 preceding and current row
        ) as emails_opened_28d,
        sum(api_requests) over (
            partition by account_id order by feature_date rows between 6 preceding and current row
        ) as api_requests_7d,
        sum(api_errors) over (
            partition by account_id order by feature_date rows between 6 preceding and current row
        ) as api_errors_7d
    from daily

),

user_days as (

    select distinct
        account_id,
        user_id,
        received_date
    from events
    where
        user_id is not null
        and received_date >= (select min(spine.window_28_start) from spine)
        and event_name in (
            {%- for name in var('activity_event_names') %}
                '{{ name }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )

),

active_users as (

    select
        spine.account_id,
        spine.feature_date,
        count(distinct case
            when user_days.received_date >= spine.window_7_start then user_days.user_id
        end) as active_users_7d,
        count(distinct user_days.user_id) as active_users_28d
    from spine
    inner join user_days
        on
            spine.account_id = user_days.account_id
            and user_days.received_date between spine.window_28_start and spine.feature_date
    -- not a window over spine rows: only the days written are needed
    where spine.is_output
    group by spine.account_id, spine.feature_date

),

known_values as (

    select
        account_id,
        event_name,
        received_date,
        occurred_at,
        event_id,
        case
            when event_name = 'nps_submitted'
                then {{ try_cast(json_extract_scalar('properties', "'score'"), type_double()) }}
            else {{ try_cast(json_extract_scalar('properties', "'mrr_usd'"), type_double()) }}
        end as known_value
    from events
    where event_name in ('nps_submitted', 'plan_changed')

),

latest_known as (

    select
        spine.account_id,
        spine.feature_date,
        known_values.event_name,
        known_values.known_value,
        row_number() over (
            partition by spine.account_id, spine.feature_date, known_values.event_name
            order by known_values.occurred_at desc, known_values.event_id desc
        ) as recency_rank
    from spine
    inner join known_values
        on
            spine.account_id = known_values.account_id
            and spine.feature_date >= known_values.received_date

),

point_in_time as (

    select
        account_id,
        feature_date,
        max(case when event_name = 'nps_submitted' then known_value end) as latest_nps_score,
        max(case when event_name = 'plan_changed' then known_value end) as known_mrr_usd
    from latest_known
    where recency_rank = 1
    group by account_id, feature_date

),

milestones as (

    select
        spine.account_id,
        spine.feature_date,
        count(*) as milestones_reached
    from spine
    inner join account_moments
        on
            spine.account_id = account_moments.entity_id
            and cast(account_moments.first_received_at as date) <= spine.feature_date
    where spine.is_output
    group by spine.account_id, spine.feature_date

),

joined as (

    select
        windowed.*,
        coalesce(active_users.active_users_7d, 0) as active_users_7d,
        coalesce(active_users.active_users_28d, 0) as active_users_28d,
        coalesce(milestones.milestones_reached, 0) as milestones_reached,
        point_in_time.latest_nps_score,
        coalesce(point_in_time.known_mrr_usd, 0) as mrr_usd
    from windowed
    left join active_users
        on
            windowed.account_id = active_users.account_id
            and windowed.feature_date = active_users.feature_date
    left join milestones
        on
            windowed.account_id = milestones.account_id
            and windowed.feature_date = milestones.feature_date
    left join point_in_time
        on
            windowed.account_id = point_in_time.account_id
            and windowed.feature_date = point_in_time.feature_date

),

final as (

    select
        account_id || ':' || cast(feature_date as {{ dbt.type_string() }}) as account_feature_key,
        account_id,
        feature_date,
        cast(account_age_days as {{ dbt.type_bigint() }}) as account_age_days,
        cast(feature_uses_7d as {{ dbt.type_bigint() }}) as feature_uses_7d,
        cast(feature_uses_prior_7d as {{ dbt.type_bigint() }}) as feature_uses_prior_7d,
        cast(feature_uses_7d - feature_uses_prior_7d as {{ dbt.type_bigint() }}) as usage_trend_7d,
        cast(feature_uses_baseline_28d as {{ dbt.type_bigint() }}) as feature_uses_baseline_28d,
        cast(feature_uses_7d as {{ type_double() }})
        / nullif(cast(feature_uses_baseline_28d as {{ type_double() }}) / 4, 0)
            as usage_vs_baseline_7d,
        active_users_7d,
        active_users_28d,
        milestones_reached,
        cast(support_tickets_28d as {{ dbt.type_bigint() }}) as support_tickets_28d,
        latest_nps_score,
        cast(mrr_usd as decimal(18, 2)) as mrr_usd,
        cast(
            mrr_usd
            - coalesce(lag(mrr_usd, 30) over (partition by account_id order by feature_date), 0)
            as decimal(18, 2)
        ) as mrr_change_30d,
        cast(emails_delivered_28d as {{ dbt.type_bigint() }}) as emails_delivered_28d,
        cast(emails_opened_28d as {{ dbt.type_bigint() }}) as emails_opened_28d,
        cast(emails_opened_28d as {{ type_double() }}) / nullif(emails_delivered_28d, 0)
            as email_open_rate_28d,
        cast(api_requests_7d as {{ dbt.type_bigint() }}) as api_requests_7d,
        cast(api_errors_7d as {{ dbt.type_bigint() }}) as api_errors_7d,
        is_output
    from joined

),

rows_to_write as (

    -- every day on a full refresh; on an incremental run the days after the kept ones (the
    -- days before were only read by the windows and the lag)
    select
        account_feature_key,
        account_id,
        feature_date,
        account_age_days,
        feature_uses_7d,
        feature_uses_prior_7d,
        usage_trend_7d,
        feature_uses_baseline_28d,
        usage_vs_baseline_7d,
        active_users_7d,
        active_users_28d,
        milestones_reached,
        support_tickets_28d,
        latest_nps_score,
        mrr_usd,
        mrr_change_30d,
        emails_delivered_28d,
        emails_opened_28d,
        email_open_rate_28d,
        api_requests_7d,
        api_errors_7d
    from final
    where is_output

)

select * from rows_to_write
