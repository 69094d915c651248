{{ config(materialized='table') }}
{#- For every pair of user_ids that could be one person (an account in common, or the same
    mailbox: normalised email without a +tag), whether they were seen on a common
    browser or device, and whether their use was sequential or concurrent: the number of
    distinct days the older user_id (first seen earlier) was still active after the day
    the newer one first appeared. A re-signup is sequential (the old user_id goes quiet
    before the new one appears); two colleagues, or two people sharing a mailbox, are
    active in the same weeks. 0 days = sequential, fewer than
    `identity_concurrent_min_days` = brief_overlap, else concurrent. A common browser or
    device counts (shares_device) only when at most `identity_max_users_per_shared_device`
    user_ids used it. -#}
with

observations as (

    select * from {{ ref('int_identity_observations') }}
    where not is_blocked

),

links as (

    select * from {{ ref('int_identity_links') }}

),

user_days as (

    -- one pass over the user_id observations, grouped by user, account and day: the three
    -- CTEs below read these groups (3.3M at 10.2M events), not the observations (9.9M) three
    -- times through a materialised CTE of every observation
    select
        identifier_value as user_id,
        account_id,
        cast(occurred_at as date) as active_date,
        min(occurred_at) as first_seen_at
    from observations
    where identifier_type = 'user_id'
    group by identifier_value, account_id, cast(occurred_at as date)

),

users as (

    select
        user_id,
        min(first_seen_at) as first_seen_at
    from user_days
    group by user_id

),

-- every account a user_id was seen in: a pair sharing any of them is a candidate, so the
-- matcher finds its pair here whichever account int_identity_user_profiles gives each
user_accounts as (

    select distinct
        user_id,
        account_id
    from user_days
    where account_id is not null

),

active_days as (

    select distinct
        user_id,
        active_date
    from user_days

),

user_emails as (

    select distinct
        regexp_replace(left_value, '[+][^@]*@', '@') as mailbox,
        right_value as user_id
    from links
    where left_type = 'email' and right_type = 'user_id'

),

linked_devices as (

    select distinct
        left_key as device_key,
        right_value as user_id
    from links
    where left_type in ('anonymous_id', 'device_id') and right_type = 'user_id'

),

-- a browser or device is evidence that two user_ids are one person only when no third
-- user_id used it (evidence_devices)
user_devices as (

    {{ evidence_devices('linked_devices', 'device_key', 'user_id') }}

),

candidate_pairs as (

    select
        left_user.user_id as user_id_a,
        right_user.user_id as user_id_b
    from user_accounts as left_user
    inner join user_accounts as right_user
        on
            left_user.account_id = right_user.account_id
            and left_user.user_id < right_user.user_id
    union
    select
        left_email.user_id as user_id_a,
        right_email.user_id as user_id_b
    from user_emails as left_email
    inner join user_emails as right_email
        on
            left_email.mailbox = right_email.mailbox
            and left_email.user_id < right_email.user_id

),

ordered as (

    select
        candidate_pairs.user_id_a,
        candidate_pairs.user_id_b,
        case
            when
                user_a.first_seen_at < user_b.first_seen_at
                or (
                    user_a.first_seen_at = user_b.first_seen_at
                    and user_a.user_id < user_b.user_id
                )
                then user_a.user_id
            else user_b.user_id
        end as older_user_id,
        case
            when user_a.first_seen_at > user_b.first_seen_at then user_a.first_seen_at
            else user_b.first_seen_at
        end as newer_first_seen_at
    from candidate_pairs
    inner join users as user_a on candidate_pairs.user_id_a = user_a.user_id
    inner join users as user_b on candidate_pairs.user_id_b = user_b.user_id

),

overlap as (

    select
        ordered.user_id_a,
        ordered.user_id_b,
        ordered.older_user_id,
        ordered.newer_first_seen_at,
        -- one row per (pair, active day): a pair is unique in `ordered` (a union, one row
        -- per user in `users`) and a day per user in `active_days`, so counting rows counts
        -- distinct days without a distinct aggregate over every pair's days
        count(case
            when active_days.active_date > cast(ordered.newer_first_seen_at as date)
                then 1
        end) as older_active_days_after
    from ordered
    inner join active_days on ordered.older_user_id = active_days.user_id
    group by
        ordered.user_id_a,
        ordered.user_id_b,
        ordered.older_user_id,
        ordered.newer_first_seen_at

),

shared_devices as (

    select
        left_device.user_id as user_id_a,
        right_device.user_id as user_id_b,
        count(*) as shared_device_count
    from user_devices as left_device
    inner join user_devices as right_device
        on
            left_device.device_key = right_device.device_key
            and left_device.user_id < right_device.user_id
    group by left_device.user_id, right_device.user_id

),

final as (

    select
        overlap.user_id_a || '|' || overlap.user_id_b as user_pair_key,
        overlap.user_id_a,
        overlap.user_id_b,
        overlap.older_user_id,
        overlap.newer_first_seen_at,
        overlap.older_active_days_after,
        case
            when overlap.older_active_days_after = 0 then 'sequential'
            when overlap.older_active_days_after < {{ var('identity_concurrent_min_days') }}
                then 'brief_overlap'
            else 'concurrent'
        end as activity_level,
        coalesce(shared_devices.shared_device_count, 0) > 0 as shares_device
    from overlap
    left join shared_devices
        on
            overlap.user_id_a = shared_devices.user_id_a
            and overlap.user_id_b = shared_devices.user_id_b

)

select * from final
