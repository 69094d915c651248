{{ config(materialized='table') }}
{#- Every pair of usable identifiers seen together on at least one valid event, once per
    pair (left key < right key), with when it was first seen and how often. -#}
with

observations as (

    select * from {{ ref('int_identity_observations') }}
    where not is_blocked

),

pairs as (

    select
        left_side.identifier_key as left_key,
        left_side.identifier_type as left_type,
        left_side.identifier_value as left_value,
        right_side.identifier_key as right_key,
        right_side.identifier_type as right_type,
        right_side.identifier_value as right_value,
        left_side.occurred_at
    from observations as left_side
    inner join observations as right_side
        on
            left_side.event_id = right_side.event_id
            and left_side.identifier_key < right_side.identifier_key

),

final as (

    select
        left_key,
        right_key,
        left_type,
        left_value,
        right_type,
        right_value,
        min(occurred_at) as first_seen_at,
        count(*) as event_count
    from pairs
    group by left_key, right_key, left_type, left_value, right_type, right_value

)

select * from final
