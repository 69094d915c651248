{{ config(materialized='table') }}
{#- Every pair of usable identifiers seen together on at least one valid event, once per
    pair (left key < right key), with when it was first seen and how often.
    The events are paired in int_identity_link_days, incrementally, per receive day, and
    int_identity_link_totals adds the days up per pair, incrementally too; this model keeps
    the pairs whose two keys are not blocked now (docs/incremental_identity_links.md). A
    key is its type, ':' and its value, and no type contains ':', so the type and value are
    read back from the key (int_identity_observations.identifier_key). -#}
with

link_totals as (

    select
        left_key,
        right_key,
        first_seen_at,
        event_count
    from {{ ref('int_identity_link_totals') }}

),

-- the verdict is a function of the key (type and normalised value), the same on every
-- observation of it, including the rows the blocklist re-judgement updated
blocked_keys as (

    select distinct identifier_key
    from {{ ref('int_identity_observations') }}
    where is_blocked

),

counted as (

    select
        link_totals.left_key,
        link_totals.right_key,
        link_totals.first_seen_at,
        link_totals.event_count
    from link_totals
    left join blocked_keys as blocked_left
        on link_totals.left_key = blocked_left.identifier_key
    left join blocked_keys as blocked_right
        on link_totals.right_key = blocked_right.identifier_key
    where
        blocked_left.identifier_key is null
        and blocked_right.identifier_key is null

),

typed as (

    select
        left_key,
        right_key,
        {{ dbt.split_part('left_key', "':'", 1) }} as left_type,
        {{ dbt.split_part('right_key', "':'", 1) }} as right_type,
        first_seen_at,
        event_count
    from counted

),

final as (

    select
        left_key,
        right_key,
        left_type,
        substr(left_key, {{ dbt.length('left_type') }} + 2) as left_value,
        right_type,
        substr(right_key, {{ dbt.length('right_type') }} + 2) as right_value,
        first_seen_at,
        event_count
    from typed

)

select * from final
