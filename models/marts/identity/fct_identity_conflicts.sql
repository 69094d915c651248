{#- Identifiers the graph refuses to use for linking, and why: placeholders on the
    blocklist, devices and anonymous ids seen with several persons, role email addresses
    shared by more than `identity_max_users_per_email` user_ids, and identifiers whose
    browser/app cluster points at several persons. Emails appear as their keyed hash. -#}
with

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
    -- the observations are read twice, each read with its own filter: one CTE read twice
    -- would be materialised whole (21.6M rows at 10M events)
    from {{ ref('int_identity_observations') }}
    where is_blocked
    group by identifier_key, identifier_type, identifier_value

),

unusable_keys as (

    select
        identifier_key,
        identifier_type,
        identifier_value,
        resolution_rule,
        user_count
    from identity_map
    where
        resolution_rule in ('shared_identifier', 'ambiguous_cluster')
        or (
            identifier_type = 'email'
            and user_count > {{ var('identity_max_users_per_email') }}
        )

),

-- the events of the unusable identifiers only: a few keys, not every observation grouped
event_counts as (

    select
        observations.identifier_key,
        count(*) as event_count
    from {{ ref('int_identity_observations') }} as observations
    inner join unusable_keys on observations.identifier_key = unusable_keys.identifier_key
    where not observations.is_blocked
    group by observations.identifier_key

),

unusable as (

    select
        unusable_keys.identifier_key,
        unusable_keys.identifier_type,
        unusable_keys.identifier_value,
        case
            when unusable_keys.identifier_type = 'email' then 'shared_email'
            else unusable_keys.resolution_rule
        end as conflict_reason,
        'seen with ' || cast(unusable_keys.user_count as {{ dbt.type_string() }})
        || ' user_ids' as detail,
        event_counts.event_count
    from unusable_keys
    inner join event_counts on unusable_keys.identifier_key = event_counts.identifier_key

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
