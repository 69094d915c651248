{{ config(materialized='table') }}
{#- Every pair of usable identifiers seen together on at least one valid event, once per
    pair (left key < right key), with when it was first seen and how often.
    The pairs are counted on the two keys alone and the type and value of each key are
    joined back from the list of distinct keys afterwards: grouping the 1.8M event pairs of
    a 1M-event world by six text columns was most of the model's cost
    (docs/incremental_increment_models.md). A key is its type, ':' and its value, so the
    keys decide the groups exactly as the six columns did. -#}
with

observations as (

    select
        event_id,
        occurred_at,
        identifier_key
    from {{ ref('int_identity_observations') }}
    where not is_blocked

),

identifiers as (

    select distinct
        identifier_key,
        identifier_type,
        identifier_value
    from {{ ref('int_identity_observations') }}
    where not is_blocked

),

pairs as (

    select
        left_side.identifier_key as left_key,
        right_side.identifier_key as right_key,
        left_side.occurred_at
    from observations as left_side
    inner join observations as right_side
        on
            left_side.event_id = right_side.event_id
            and left_side.identifier_key < right_side.identifier_key

),

counted as (

    select
        left_key,
        right_key,
        min(occurred_at) as first_seen_at,
        count(*) as event_count
    from pairs
    group by left_key, right_key

),

final as (

    select
        counted.left_key,
        counted.right_key,
        left_identifier.identifier_type as left_type,
        left_identifier.identifier_value as left_value,
        right_identifier.identifier_type as right_type,
        right_identifier.identifier_value as right_value,
        counted.first_seen_at,
        counted.event_count
    from counted
    inner join identifiers as left_identifier
        on counted.left_key = left_identifier.identifier_key
    inner join identifiers as right_identifier
        on counted.right_key = right_identifier.identifier_key

)

select * from final
