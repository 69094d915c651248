{#- Identifiers the graph refuses to use for linking, and why: placeholders on the
    blocklist, devices and anonymous ids seen with several persons, role email addresses
    shared by more than `identity_max_users_per_email` user_ids, and identifiers whose
    browser/app cluster points at several persons. Emails appear as their keyed hash. -#}
with

observations as (

    select * from {{ ref('int_identity_observations') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

blocked as (

    select
        identifier_key,
        identifier_type,
        identifier_value,
        'blocklisted' as conflict_reason,
        max(blocked_reason) as detail,
        count(*) as event_count
    from observations
    where is_blocked
    group by identifier_key, identifier_type, identifier_value

),

event_counts as (

    select
        identifier_key,
        count(*) as event_count
    from observations
    where not is_blocked
    group by identifier_key

),

unusable as (

    select
        identity_map.identifier_key,
        identity_map.identifier_type,
        identity_map.identifier_value,
        case
            when identity_map.identifier_type = 'email' then 'shared_email'
            else identity_map.resolution_rule
        end as conflict_reason,
        'seen with ' || cast(identity_map.user_count as {{ dbt.type_string() }})
        || ' user_ids' as detail,
        event_counts.event_count
    from identity_map
    inner join event_counts on identity_map.identifier_key = event_counts.identifier_key
    where
        identity_map.resolution_rule in ('shared_identifier', 'ambiguous_cluster')
        or (
            identity_map.identifier_type = 'email'
            and identity_map.user_count > {{ var('identity_max_users_per_email') }}
        )

),

conflicts as (

    select * from blocked
    union all
    select * from unusable

),

final as (

    {#- emails as their keyed hash, as in dim_identifiers (pii.pii_identifiers maps back) -#}
    select
        identifier_type || ':'
        || {{ masked_identifier_value('identifier_type', 'identifier_value') }}
            as identifier_key,
        identifier_type,
        {{ masked_identifier_value('identifier_type', 'identifier_value') }}
            as identifier_value,
        conflict_reason,
        detail,
        event_count
    from conflicts

)

select * from final
