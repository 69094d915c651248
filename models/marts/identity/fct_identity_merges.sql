{#- Why user_ids belong to one person: every link between two different user_ids the graph
    used (same email, probabilistic match, reviewer approval), and every reviewer decision
    that keeps two user_ids apart (reject, split), with when and why. A shared email is
    shown as its keyed hash (the email_key of dim_users), and so is an email-shaped user_id
    (masked_identifier; pii.pii_identifiers maps `user_id:<keyed hash>` back). -#}
with

edges as (

    select * from {{ ref('int_identity_user_edges') }}
    where node_a != node_b

),

user_persons as (

    select * from {{ ref('int_identity_user_persons') }}

),

decisions as (

    select * from {{ ref('int_identity_review_decisions') }}
    where is_cannot_link

),

merge_links as (

    select
        edges.node_a as user_id_a,
        edges.node_b as user_id_b,
        'merge' as merge_action,
        edges.link_reason,
        {#- the shared email itself stays in the restricted schema: show its keyed hash -#}
        case
            when edges.link_reason = 'same_email'
                then 'email_key=' || {{ keyed_hash('edges.evidence') }}
            else edges.evidence
        end as evidence,
        edges.first_seen_at as decided_at,
        user_persons.person_id
    from edges
    inner join user_persons on edges.node_a = user_persons.user_id

),

separations as (

    select
        user_id_a,
        user_id_b,
        decision as merge_action,
        case decision
            when 'reject' then 'reviewer_rejected' else 'reviewer_split'
        end as link_reason,
        reviewer || ': ' || coalesce(note, '') as evidence,
        decided_at,
        cast(null as {{ dbt.type_string() }}) as person_id
    from decisions

),

unioned as (

    select * from merge_links
    union all
    select * from separations

),

masked as (

    {#- an email-shaped user_id as its keyed hash (masked_identifier, as in every mart), before
        merge_key is built from it: an unkeyed hash of a clear email would be guessable -#}
    select
        {{ masked_identifier('user_id_a') }} as user_id_a,
        {{ masked_identifier('user_id_b') }} as user_id_b,
        merge_action,
        link_reason,
        evidence,
        decided_at,
        person_id
    from unioned

),

final as (

    select
        {{ dbt.hash(
            "merge_action || '|' || user_id_a || '|' || user_id_b || '|' || link_reason"
            ~ " || '|' || coalesce(evidence, '')"
        ) }} as merge_key,
        masked.*
    from masked

)

select * from final
