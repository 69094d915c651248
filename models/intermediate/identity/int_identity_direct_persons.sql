{{ config(materialized='table') }}
{#- Every usable anonymous id, device id and email with the persons it was seen with
    directly (on an event that also carried a user_id): how many, and which when only one.
    An anonymous or device id never seen with a user_id but seen with an email (an identify
    call that sent traits before the login: a newsletter form, an SDK's identify without a
    userId) takes the persons whose user_ids that email was seen with (linked_by = 'email').
    An id seen with a user_id keeps only its direct persons: a shared mailbox on two
    people's browsers must not make either browser shared. -#}
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

-- grouped by the key alone (its type and value are read back from it, as in
-- int_identity_links): one text to hash per observation instead of three
identifier_first_seen as (

    select
        identifier_key,
        min(occurred_at) as first_seen_at
    from observations
    group by identifier_key

),

identifier_types as (

    select
        identifier_key,
        first_seen_at,
        {{ dbt.split_part('identifier_key', "':'", 1) }} as identifier_type
    from identifier_first_seen

),

identifiers as (

    select
        identifier_key,
        identifier_type,
        substr(identifier_key, {{ dbt.length('identifier_type') }} + 2) as identifier_value,
        first_seen_at
    from identifier_types

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

-- anonymous and device ids seen with an email on an event that carried no user_id, and
-- the user_ids that email was seen with (left key < right key: anonymous_id: and
-- device_id: sort before email:, email: before user_id:)
email_user_links as (

    select
        device_email.left_key as identifier_key,
        email_user.right_value as user_id
    from links as device_email
    inner join links as email_user on device_email.right_key = email_user.left_key
    left join user_links as direct on device_email.left_key = direct.identifier_key
    where
        device_email.left_type in ('anonymous_id', 'device_id')
        and device_email.right_type = 'email'
        and email_user.right_type = 'user_id'
        and direct.identifier_key is null

),

routed_links as (

    select
        identifier_key,
        user_id,
        'user_id' as linked_by
    from user_links
    union all
    select
        identifier_key,
        user_id,
        'email' as linked_by
    from email_user_links

),

linked_persons as (

    select
        routed_links.identifier_key,
        min(routed_links.linked_by) as linked_by,
        count(distinct routed_links.user_id) as user_count,
        count(distinct user_persons.person_id) as person_count,
        min(user_persons.person_id) as only_person_id
    from routed_links
    inner join user_persons on routed_links.user_id = user_persons.user_id
    group by routed_links.identifier_key

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
            as direct_person_id,
        linked_persons.linked_by
    from identifiers
    left join linked_persons on identifiers.identifier_key = linked_persons.identifier_key

)

select * from final
