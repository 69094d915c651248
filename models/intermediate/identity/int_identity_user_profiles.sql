{{ config(materialized='table') }}
{#- One row per usable user_id: its account, when first seen, its deterministic component
    and the latest traits it sent (int_identity_user_traits), for probabilistic matching. -#}
with

components as (

    select * from {{ ref('int_identity_deterministic_components') }}

),

observations as (

    select * from {{ ref('int_identity_observations') }}
    where not is_blocked

),

traits as (

    select * from {{ ref('int_identity_user_traits') }}

),

user_seen as (

    select
        identifier_value as user_id,
        min(occurred_at) as first_seen_at,
        max(account_id) as account_id
    from observations
    where identifier_type = 'user_id'
    group by identifier_value

),

final as (

    select
        user_seen.user_id,
        user_seen.account_id,
        user_seen.first_seen_at,
        components.deterministic_component,
        traits.first_name,
        traits.last_name,
        traits.email,
        traits.email_local_part,
        traits.email_domain,
        traits.full_name
    from user_seen
    inner join components on user_seen.user_id = components.user_id
    left join traits on user_seen.user_id = traits.user_id

)

select * from final
