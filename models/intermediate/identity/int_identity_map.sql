{#- The person behind every usable identifier, and the rule that decided it:
    user_graph (a user_id), linked_to_user (seen with the user_ids of exactly one person),
    linked_by_email (an anonymous or device id never seen with a user_id, seen with an
    email whose user_ids are exactly one person's),
    same_device_cluster (its browser/app cluster points at exactly one person),
    anonymous (a cluster never seen with a user: a person of its own, named after the
    cluster's oldest identifier), shared_identifier (seen with several persons: no person),
    ambiguous_cluster (its cluster points at several persons: no person).
    A table: five models (dim_users, dim_identifiers, fct_identity_conflicts, pii_users,
    pii_identifiers) and its two data tests read it, and as a view each of them recomputed
    the whole graph's resolution (docs/performance.md, "Two more views read many times"). -#}
{{ config(materialized='table') }}
with

user_persons as (

    select * from {{ ref('int_identity_user_persons') }}

),

profiles as (

    select * from {{ ref('int_identity_user_profiles') }}

),

direct_persons as (

    select * from {{ ref('int_identity_direct_persons') }}

),

clusters as (

    select * from {{ ref('int_identity_device_clusters') }}

),

member_persons as (

    select
        clusters.device_cluster,
        direct_persons.identifier_key,
        direct_persons.first_seen_at,
        direct_persons.direct_person_id,
        direct_persons.person_count
    from clusters
    inner join direct_persons on clusters.identifier_key = direct_persons.identifier_key

),

cluster_persons as (

    select
        device_cluster,
        count(distinct direct_person_id) as person_count,
        min(direct_person_id) as only_person_id
    from member_persons
    group by device_cluster

),

cluster_founders as (

    select
        device_cluster,
        identifier_key as founding_identifier_key,
        row_number() over (
            partition by device_cluster order by first_seen_at, identifier_key
        ) as age_rank
    from member_persons

),

other_identifiers as (

    select
        direct_persons.identifier_key,
        direct_persons.identifier_type,
        direct_persons.identifier_value,
        direct_persons.first_seen_at,
        direct_persons.user_count,
        case
            when direct_persons.person_count > 1 then 'shared_identifier'
            when
                direct_persons.direct_person_id is not null
                and direct_persons.linked_by = 'email'
                then 'linked_by_email'
            when direct_persons.direct_person_id is not null then 'linked_to_user'
            when direct_persons.identifier_type = 'email' then 'unlinked_email'
            when cluster_persons.person_count = 1 then 'same_device_cluster'
            when cluster_persons.person_count = 0 then 'anonymous'
            else 'ambiguous_cluster'
        end as resolution_rule,
        case
            when direct_persons.person_count > 1 then null
            when direct_persons.direct_person_id is not null
                then direct_persons.direct_person_id
            when direct_persons.identifier_type = 'email' then null
            when cluster_persons.person_count = 1 then cluster_persons.only_person_id
            when cluster_persons.person_count = 0
                then 'per_'
                    || substr({{ keyed_hash('cluster_founders.founding_identifier_key') }}, 1, 16)
        end as person_id
    from direct_persons
    left join clusters on direct_persons.identifier_key = clusters.identifier_key
    left join cluster_persons on clusters.device_cluster = cluster_persons.device_cluster
    left join cluster_founders
        on
            clusters.device_cluster = cluster_founders.device_cluster
            and cluster_founders.age_rank = 1

),

user_identifiers as (

    select
        'user_id:' || user_persons.user_id as identifier_key,
        'user_id' as identifier_type,
        user_persons.user_id as identifier_value,
        profiles.first_seen_at,
        1 as user_count,
        'user_graph' as resolution_rule,
        user_persons.person_id
    from user_persons
    inner join profiles on user_persons.user_id = profiles.user_id

),

final as (

    select * from user_identifiers
    union all
    select * from other_identifiers

)

select * from final
