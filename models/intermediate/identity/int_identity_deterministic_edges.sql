{{ config(materialized='table') }}
{#- A table: two models and four tests read it, and as a view each recomputed the mailbox
    pairs (docs/performance.md, "Views read many times"). -#}
{#- Links between user_ids that need no judgement: the same mailbox (normalised email,
    +tag ignored) used one after the other (a re-signup), and pairs a reviewer approved.
    A mailbox does not link when more than `identity_max_users_per_email` user_ids use it
    (info@), when the two were active concurrently (two people sharing a mailbox), or when
    both sent names and the first or the last name disagrees (name_part_agrees: a
    successor taking over a role address). Every user_id also links to itself so it appears in the
    graph. Pairs a reviewer rejected or split are never linked directly. -#}
with

links as (

    select * from {{ ref('int_identity_links') }}

),

observations as (

    select * from {{ ref('int_identity_observations') }}
    where not is_blocked

),

decisions as (

    select * from {{ ref('int_identity_review_decisions') }}

),

user_overlaps as (

    select * from {{ ref('int_identity_user_overlaps') }}

),

traits as (

    select * from {{ ref('int_identity_user_traits') }}

),

user_email as (

    {#- once per mailbox and user_id: ann+news@ and ann@ are one mailbox -#}
    select
        regexp_replace(left_value, '[+][^@]*@', '@') as email,
        right_value as user_id,
        min(first_seen_at) as first_seen_at
    from links
    where left_type = 'email' and right_type = 'user_id'
    group by regexp_replace(left_value, '[+][^@]*@', '@'), right_value

),

usable_emails as (

    select email
    from user_email
    group by email
    having count(distinct user_id) <= {{ var('identity_max_users_per_email') }}

),

same_email as (

    select
        first_link.user_id as node_a,
        second_link.user_id as node_b,
        'same_email' as link_reason,
        first_link.email as evidence,
        case
            when first_link.first_seen_at > second_link.first_seen_at
                then first_link.first_seen_at
            else second_link.first_seen_at
        end as first_seen_at
    from user_email as first_link
    inner join user_email as second_link
        on
            first_link.email = second_link.email
            and first_link.user_id < second_link.user_id
    inner join usable_emails on first_link.email = usable_emails.email
    inner join user_overlaps
        on
            first_link.user_id = user_overlaps.user_id_a
            and second_link.user_id = user_overlaps.user_id_b
    left join traits as first_traits on first_link.user_id = first_traits.user_id
    left join traits as second_traits on second_link.user_id = second_traits.user_id
    where
        user_overlaps.activity_level != 'concurrent'
        and coalesce(
            {{ name_part_agrees('first_traits.first_name', 'second_traits.first_name') }}
            and {{ name_part_agrees('first_traits.last_name', 'second_traits.last_name') }},
            true
        )

),

approved as (

    select
        user_id_a as node_a,
        user_id_b as node_b,
        'reviewer_approved' as link_reason,
        reviewer || ': ' || coalesce(note, '') as evidence,
        decided_at as first_seen_at
    from decisions
    where decision = 'approve'

),

cannot_link as (

    select
        user_id_a as node_a,
        user_id_b as node_b
    from decisions
    where is_cannot_link

),

user_nodes as (

    select
        identifier_value as node_a,
        identifier_value as node_b,
        'self' as link_reason,
        cast(null as {{ dbt.type_string() }}) as evidence,
        min(occurred_at) as first_seen_at
    from observations
    where identifier_type = 'user_id'
    group by identifier_value

),

linked as (

    select * from same_email
    union all
    select * from approved

),

final as (

    select linked.*
    from linked
    left join cannot_link
        on linked.node_a = cannot_link.node_a and linked.node_b = cannot_link.node_b
    where cannot_link.node_a is null
    union all
    select * from user_nodes

)

select * from final
