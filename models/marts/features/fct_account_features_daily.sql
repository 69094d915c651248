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
{#- An incremental run keeps, before the activity's JSON look-up and aggregation, the events of
    the continuing accounts' last weeks and every event of the accounts computed in full:
    whole (account, day) groups either way -#}
{%- set activity_filter = none -%}
{%- if is_incremental() -%}
    {%- set activity_filter = (
        'cast(received_at as date) >= (select min(kept_accounts.compute_from) from kept_accounts)'
        ~ ' or account_id in (select scope.account_id from scope where scope.compute_from is null)'
    ) -%}
{%- endif %}
with

accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

calendar as (

    select date_day from {{ ref('int_calendar_days') }}

),

activity_events as (

    -- two narrow reads of the valid events, each with its own filter: one CTE read twice
    -- would be materialised, every event's payload included
    select
        account_id,
        user_id,
        cast(received_at as date) as received_date
    from {{ ref('int_events_valid') }}
    where
        account_id is not null
        and user_id is not null
        and event_name in (
            {%- for name in var('activity_event_names') %}
                '{{ name }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )

),

known_value_events as (

    -- a subscription_canceled is a plan change to $0 (as in int_account_plan_changes), and
    -- at the same instant it comes before a plan_changed
    select
        event_id,
        case
            when event_name = 'subscription_canceled' then 'plan_changed' else event_name
        end as event_name,
        event_name = 'subscription_canceled' as is_cancellation,
        account_id,
        occurred_at,
        properties,
        cast(received_at as date) as received_date
    from {{ ref('int_events_valid') }}
    where
        account_id is not null
        and event_name in ('nps_submitted', 'plan_changed', 'subscription_canceled')

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

first_received as (

    -- the day each account's first valid event was received: a CRM creation can come after
    -- the account's first events (a sales-led account entered in the CRM after its trial)
    select
        account_id,
        min(cast(received_at as date)) as first_received_date
    from {{ ref('int_events_valid') }}
    where account_id is not null
    group by account_id

),

account_starts as (

    -- the first day of an account's spine on a full refresh: its creation day, or the day its
    -- first event was received when that is earlier (at most 34 days, what the windows of the
    -- creation day read), so that the first days' windows count the events received before
    -- the creation; days before the creation are computed, never written
    select
        accounts.account_id,
        accounts.created_at,
        case
            when first_received.first_received_date >= cast(accounts.created_at as date)
                or first_received.first_received_date is null
                then cast(accounts.created_at as date)
            when first_received.first_received_date
                > cast({{ dbt.dateadd('day', -34, 'cast(accounts.created_at as date)') }} as date)
                then first_received.first_received_date
            else cast({{ dbt.dateadd('day', -34, 'cast(accounts.created_at as date)') }} as date)
        end as start_day
    from accounts
    left join first_received on accounts.account_id = first_received.account_id

),

scope as (

    select
        account_starts.account_id,
        account_starts.created_at,
        kept_accounts.compute_from,
        kept_accounts.output_from,
        -- the first day of the account's spine (the same days on a full refresh and an
        -- incremental run: the windows and the 30-day lag read rows, not dates)
        case
            when kept_accounts.compute_from > account_starts.start_day
                then kept_accounts.compute_from
            else account_starts.start_day
        end as first_day
    from account_starts
    left join kept_accounts on account_starts.account_id = kept_accounts.account_id

),

earliest_window_start as (

    -- the earliest day a spine row's 28-day window reads (an incremental run: a few weeks
    -- back, not all history)
    select
        cast({{ dbt.dateadd('day', -27, 'min(scope.first_day)') }} as date) as window_start
    from scope

),

user_days as (

    select distinct
        account_id,
        user_id,
        received_date
    from activity_events
    where received_date >= (select earliest_window_start.window_start from earliest_window_start)

),

user_day_spans as (

    -- a user active on day R counts on the days R .. R+6 (7-day window) and R .. R+27
    -- (28-day window), or until the user's next active day, whichever comes first: one
    -- user's spans never overlap, so the spans covering day D are D's distinct active users
    select
        account_id,
        received_date,
        cast({{ dbt.dateadd('day', 7, 'received_date') }} as date) as end_7d,
        cast({{ dbt.dateadd('day', 28, 'received_date') }} as date) as end_28d,
        lead(received_date) over (
            partition by account_id, user_id order by received_date
        ) as next_active_date
    from user_days

),

count_changes as (

    -- +1 on the day a span starts and -1 on the day after it ends; a moment counts from the
    -- day it was first received
    select
        account_id,
        received_date as change_date,
        1 as active_users_7d,
        1 as active_users_28d,
        0 as milestones_reached
    from user_day_spans
    union all
    select
        account_id,
        case
            when next_active_date < end_7d then next_active_date else end_7d
        end as change_date,
        -1 as active_users_7d,
        0 as active_users_28d,
        0 as milestones_reached
    from user_day_spans
    union all
    select
        account_id,
        case
            when next_active_date < end_28d then next_active_date else end_28d
        end as change_date,
        0 as active_users_7d,
        -1 as active_users_28d,
        0 as milestones_reached
    from user_day_spans
    union all
    select
        entity_id as account_id,
        cast(first_received_at as date) as change_date,
        0 as active_users_7d,
        0 as active_users_28d,
        1 as milestones_reached
    from account_moments

),

daily_changes as (

    select
        account_id,
        change_date,
        sum(active_users_7d) as active_users_7d,
        sum(active_users_28d) as active_users_28d,
        sum(milestones_reached) as milestones_reached
    from count_changes
    group by account_id, change_date

),

changes_before as (

    -- the changes before an account's first spine day: its running counts start from them
    select
        daily_changes.account_id,
        sum(daily_changes.active_users_7d) as active_users_7d,
        sum(daily_changes.active_users_28d) as active_users_28d,
        sum(daily_changes.milestones_reached) as milestones_reached
    from daily_changes
    inner join scope on daily_changes.account_id = scope.account_id
    where daily_changes.change_date < scope.first_day
    group by daily_changes.account_id

),

spine as (

    select
        scope.account_id,
        calendar.date_day as feature_date,
        cast({{ dbt.dateadd('day', -6, 'calendar.date_day') }} as date) as window_7_start,
        cast({{ dbt.dateadd('day', -27, 'calendar.date_day') }} as date) as window_28_start,
        {{ dbt.datediff('cast(scope.created_at as date)', 'calendar.date_day', 'day') }}
            as account_age_days,
        (
            cast(scope.created_at as date) <= calendar.date_day
            and (scope.output_from is null or scope.output_from <= calendar.date_day)
        ) as is_output,
        coalesce(changes_before.active_users_7d, 0) as active_users_7d_before,
        coalesce(changes_before.active_users_28d, 0) as active_users_28d_before,
        coalesce(changes_before.milestones_reached, 0) as milestones_before
    from scope
    left join changes_before on scope.account_id = changes_before.account_id
    cross join as_of
    inner join calendar
        on
            scope.first_day <= calendar.date_day
            and as_of.data_day >= calendar.date_day

),

activity as (

    {#- int_account_activity_daily's rows (the same macro) for the days the spine reads -#}
    {{ account_activity_daily(ref('int_events_valid'), activity_filter) }}

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
        coalesce(activity.api_errors, 0) as api_errors,
        coalesce(daily_changes.active_users_7d, 0) as active_users_7d_change,
        coalesce(daily_changes.active_users_28d, 0) as active_users_28d_change,
        coalesce(daily_changes.milestones_reached, 0) as milestones_change
    from spine
    left join activity_in_scope as activity
        on spine.account_id = activity.account_id and spine.feature_date = activity.received_date
    left join daily_changes
        on
            spine.account_id = daily_changes.account_id
            and spine.feature_date = daily_changes.change_date

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
        ) as api_errors_7d,
        active_users_7d_before + sum(active_users_7d_change) over (
            partition by account_id order by feature_date
            rows between unbounded preceding and current row
        ) as active_users_7d,
        active_users_28d_before + sum(active_users_28d_change) over (
            partition by account_id order by feature_date
            rows between unbounded preceding and current row
        ) as active_users_28d,
        milestones_before + sum(milestones_change) over (
            partition by account_id order by feature_date
            rows between unbounded preceding and current row
        ) as milestones_reached
    from daily

),

known_values as (

    select
        account_id,
        event_name,
        received_date,
        occurred_at,
        event_id,
        case when is_cancellation then 1 else 2 end as same_time_order,
        case
            when event_name = 'nps_submitted'
                then {{ try_cast(json_extract_scalar('properties', "'score'"), type_double()) }}
            when is_cancellation then 0
            -- read as int_account_plan_changes reads it (text to cents), so the features'
            -- MRR is fct_mrr's on every engine: through a double, 1.005 became 1.00 on
            -- DuckDB (the double just below) and 1.01 on PostgreSQL
            else cast(
                    {{ try_cast(json_extract_scalar('properties', "'mrr_usd'"), 'decimal(18, 2)') }}
                    as {{ type_double() }}
                )
        end as known_value
    from known_value_events

),

known_value_spans as (

    -- each answer / plan change is the latest known one from the day it was received until
    -- the first day one that happened later (occurred_at, then a cancellation before a
    -- plan_changed, then event_id) was received; an
    -- event received after a later-happening one never is (its span is empty)
    select
        account_id,
        event_name,
        known_value,
        received_date as known_from,
        min(received_date) over (
            partition by account_id, event_name
            order by occurred_at desc, same_time_order desc, event_id desc
            rows between unbounded preceding and 1 preceding
        ) as known_until
    from known_values

),

latest_known as (

    select * from known_value_spans
    where known_until is null or known_until > known_from

),

joined as (

    select
        windowed.*,
        latest_nps.known_value as latest_nps_score,
        coalesce(latest_plan.known_value, 0) as mrr_usd
    from windowed
    left join latest_known as latest_nps
        on
            windowed.account_id = latest_nps.account_id
            and latest_nps.event_name = 'nps_submitted'
            and windowed.feature_date >= latest_nps.known_from
            and (latest_nps.known_until is null or windowed.feature_date < latest_nps.known_until)
    left join latest_known as latest_plan
        on
            windowed.account_id = latest_plan.account_id
            and latest_plan.event_name = 'plan_changed'
            and windowed.feature_date >= latest_plan.known_from
            and (latest_plan.known_until is null or windowed.feature_date < latest_plan.known_until)

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
        cast(active_users_7d as {{ dbt.type_bigint() }}) as active_users_7d,
        cast(active_users_28d as {{ dbt.type_bigint() }}) as active_users_28d,
        cast(milestones_reached as {{ dbt.type_bigint() }}) as milestones_reached,
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
