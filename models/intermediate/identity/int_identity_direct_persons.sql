{{ config(materialized='table') }}
{#- Every usable anonymous id, device id and email with the persons it was seen with
    directly (on an event that also carried a user_id): how many, and which when only one. -#}
with

observations as (

    select * from {{ ref('int_identity_observations') }}
    where not is_blocked and identifier_type != 'user_id'

),

links as (

    select * from {{ ref('int_identity_links') }}

),

user_persons as (

    select * from {{ ref('int_identity_user_persons') }}

),

identifiers as (

    select
        identifier_key,
        identifier_type,
        identifier_value,
        min(occurred_at) as first_seen_at
    from observations
    group by identifier_key, identifier_type, identifier_value

),

user_links as (

    select
        left_key as identifier_key,
        right_value as user_id
    from links
    where right_type = 'user_id' and left_type != 'user_id'
    union all
    select
        right_key as identifier_key,
        left_value as user_id
    from links
    where left_type = 'user_id' and right_type != 'user_id'

),

linked_persons as (

    select
        user_links.identifier_key,
        count(distinct user_links.user_id) as user_count,
        count(distinct user_persons.person_id) as person_count,
        min(user_persons.person_id) as only_person_id
    from user_links
    inner join user_persons on user_links.user_id = user_persons.user_id
    group by user_links.identifier_key

),

final as (

    select
        identifiers.identifier_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.first_seen_at,
        coalesce(linked_persons.user_count, 0) as user_count,
        coalesce(linked_persons.person_count, 0) as person_count,
        case when linked_persons.person_count = 1 then linked_persons.only_person_id end
            as direct_person_id
    from identifiers
    left join linked_persons on identifiers.identifier_key = linked_persons.identifier_key

)

select * from final
