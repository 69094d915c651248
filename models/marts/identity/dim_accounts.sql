{#- One row per customer account: the CRM record, its current subscription (plan, MRR, ARR,
    seats), satisfaction (latest and average NPS), support load and activity signals. -#}
-- depends_on: {{ ref('stg_tracking_plan__properties') }}
with

accounts as (

    select * from {{ ref('int_accounts_combined') }}

),

plans as (

    select * from {{ ref('int_account_plan_changes') }}

),

as_of as (

    select data_end_at from {{ ref('int_data_day') }}

),

-- one pass over the events with an account: per account and person (null included), the
-- latest event, whether one fell in the last 30 days and the open support tickets; the
-- account's activity and its (account, person) pairs are read from these groups, not from
-- every event again (a CTE of every event read three times was materialised whole)
account_person_events as (

    select
        events.account_id,
        events.person_id,
        max(events.occurred_at) as last_seen_at,
        max(case
            when events.occurred_at >= {{ dbt.dateadd('day', -30, 'as_of.data_end_at') }}
                then 1
            else 0
        end) as is_active_30d,
        count(case
            when
                events.event_name = 'support_ticket_created'
                and events.occurred_at
                >= {{ dbt.dateadd('day', -var('open_ticket_days'), 'as_of.data_end_at') }}
                then 1
        end) as open_support_tickets
    from {{ ref('int_events_attributed') }} as events
    cross join as_of
    where events.account_id is not null
    group by events.account_id, events.person_id

),

users as (

    select * from {{ ref('dim_users') }}
    where is_identified

),

latest_plan as (

    select * from plans
    where recency_rank = 1

),

latest_seats as (

    select
        account_id,
        seats,
        row_number() over (partition by account_id order by occurred_at desc, event_id desc)
            as recency_rank
    from plans
    where seats is not null

),

-- the few columns used, from the attributed events fct_events shows (masked the same way:
-- visible_property), not from fct_events, which masks every event's whole payload
nps_events as (

    select
        event_id,
        account_id,
        occurred_at,
        {{ visible_property('properties', 'score') }} as score_text
    from {{ ref('int_events_attributed') }}
    where event_name = 'nps_submitted' and account_id is not null

),

nps as (

    select
        account_id,
        occurred_at,
        {{ try_cast('score_text', dbt.type_int()) }} as score,
        row_number() over (partition by account_id order by occurred_at desc, event_id desc)
            as recency_rank
    from nps_events

),

nps_summary as (

    select
        account_id,
        max(case when recency_rank = 1 then score end) as latest_nps_score,
        avg(cast(score as {{ type_double() }})) as average_nps_score,
        count(*) as nps_responses
    from nps
    group by account_id

),

activity as (

    select
        account_id,
        max(last_seen_at) as last_seen_at,
        cast(
            count(case when person_id is not null and is_active_30d = 1 then 1 end)
            as {{ dbt.type_bigint() }}
        ) as active_people_30d,
        cast(sum(open_support_tickets) as {{ dbt.type_bigint() }}) as open_support_tickets
    from account_person_events
    group by account_id

),

-- the (account, person) pairs the events carried, each once: the join to the identified
-- people below then reads these pairs, not every event
event_people as (

    select
        account_id,
        person_id
    from account_person_events
    where person_id is not null

),

-- an identified person belongs to every account their events carried (a consultant in
-- two clients' accounts counts in both), and to their profile's account
person_accounts as (

    select
        account_id,
        person_id
    from users
    where account_id is not null
    union
    select
        event_people.account_id,
        event_people.person_id
    from event_people
    inner join users on event_people.person_id = users.person_id

),

people as (

    select
        person_accounts.account_id,
        count(*) as identified_people,
        count(case when users.activation_state = 'activated' then 1 end) as activated_people
    from person_accounts
    inner join users on person_accounts.person_id = users.person_id
    group by person_accounts.account_id

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.email_domain,
        accounts.industry,
        accounts.segment,
        accounts.country_code,
        accounts.created_at,
        accounts.acquisition_channel,
        accounts.sales_owner,
        coalesce(latest_plan.to_plan, 'none') as plan,
        coalesce(latest_plan.mrr_usd, 0) as mrr_usd,
        cast(coalesce(latest_plan.mrr_usd, 0) * 12 as decimal(18, 2)) as arr_usd,
        -- a cancelled subscription has no seats (its last plan's count is history)
        case
            when latest_plan.change_type <> 'subscription_canceled' then latest_seats.seats
        end as seats,
        latest_plan.occurred_at as plan_changed_at,
        nps_summary.latest_nps_score,
        nps_summary.average_nps_score,
        coalesce(nps_summary.nps_responses, 0) as nps_responses,
        coalesce(activity.open_support_tickets, 0) as open_support_tickets,
        coalesce(people.identified_people, 0) as identified_people,
        coalesce(people.activated_people, 0) as activated_people,
        coalesce(activity.active_people_30d, 0) as active_people_30d,
        activity.last_seen_at
    from accounts
    left join latest_plan on accounts.account_id = latest_plan.account_id
    left join latest_seats
        on accounts.account_id = latest_seats.account_id and latest_seats.recency_rank = 1
    left join nps_summary on accounts.account_id = nps_summary.account_id
    left join activity on accounts.account_id = activity.account_id
    left join people on accounts.account_id = people.account_id

)

select * from final
