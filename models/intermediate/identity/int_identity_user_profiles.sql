{{ config(materialized='table') }}
{#- One row per usable user_id: its account (of its latest event carrying one), when
    first seen, its deterministic component and the latest traits it sent
    (int_identity_user_traits), for probabilistic matching. -#}
with

components as (

    select * from {{ ref('int_identity_deterministic_components') }}

),

observations as (

    select * from {{ ref('int_identity_observations') }}
    where not is_blocked

),

traits as (

    select * from {{ ref('int_identity_user_traits') }}

),

-- one pass over the user_id observations, grouped by (user_id, account): the first and the
-- latest time of each pair. The two CTEs below read these groups, not every observation
-- twice through a materialised CTE of all of them (docs/performance.md)
user_account_times as (

    select
        identifier_value as user_id,
        account_id,
        min(occurred_at) as first_at,
        max(occurred_at) as latest_at
    from observations
    where identifier_type = 'user_id'
    group by identifier_value, account_id

),

user_seen as (

    select
        user_id,
        min(first_at) as first_seen_at
    from user_account_times
    group by user_id

),

-- a user_id seen in several accounts (an accountant serving clients, a consultant moving
-- on) belongs to the account of its latest event that carried one (ties: the greater id).
-- Ranked over each (user_id, account) pair's latest time, not over every observation: the
-- same account wins (valid events always have occurred_at), and the window sorts a few rows
-- per user instead of all of them (10.2M events: docs/full_build_cost.md)
user_account_latest as (

    select
        user_id,
        account_id,
        latest_at
    from user_account_times
    where account_id is not null

),

account_ranked as (

    select
        user_id,
        account_id,
        row_number() over (
            partition by user_id order by latest_at desc, account_id desc
        ) as recency
    from user_account_latest

),

user_accounts as (

    select
        user_id,
        account_id
    from account_ranked
    where recency = 1

),

final as (

    select
        user_seen.user_id,
        user_accounts.account_id,
        user_seen.first_seen_at,
        components.deterministic_component,
        traits.first_name,
        traits.last_name,
        traits.email,
        traits.email_local_part,
        traits.email_domain,
        traits.full_name
    from user_seen
    inner join components on user_seen.user_id = components.user_id
    left join user_accounts on user_seen.user_id = user_accounts.user_id
    left join traits on user_seen.user_id = traits.user_id

)

select * from final
