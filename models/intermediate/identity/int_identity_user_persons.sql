{#- The person behind each user_id. A person's id comes from its oldest user_id (first seen,
    ties broken by the id itself), so rebuilding gives the same ids and a merge keeps the
    older person's id. The id is 'per_' and 16 hex digits of the user_id's keyed hash
    (keyed_hash, HMAC-SHA256 under the identity hash key), not of a plain md5: many
    companies send the email as user_id, and an md5 of a known email is a dictionary look-up
    away from the person (docs/governance.md, "Email-shaped ids"). -#}
with

components as (

    select * from {{ ref('int_identity_user_components') }}

),

profiles as (

    select * from {{ ref('int_identity_user_profiles') }}

),

ranked as (

    select
        components.user_id,
        components.user_component,
        row_number() over (
            partition by components.user_component
            order by profiles.first_seen_at, components.user_id
        ) as age_rank
    from components
    inner join profiles on components.user_id = profiles.user_id

),

founders as (

    select
        user_component,
        user_id as founding_user_id
    from ranked
    where age_rank = 1

),

final as (

    select
        ranked.user_id,
        founders.founding_user_id,
        'per_' || substr({{ keyed_hash('founders.founding_user_id') }}, 1, 16) as person_id
    from ranked
    inner join founders on ranked.user_component = founders.user_component

)

select * from final
