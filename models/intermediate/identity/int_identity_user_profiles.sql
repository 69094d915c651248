{{ config(materialized='table') }}
{#- One row per usable user_id: its account, when first seen, and the latest traits it sent
    (name and email, each in the normal form of normalize_identifier, the email split into
    local part and domain), for probabilistic matching. -#}
with

components as (

    select * from {{ ref('int_identity_deterministic_components') }}

),

observations as (

    select * from {{ ref('int_identity_observations') }}
    where not is_blocked

),

events as (

    select
        event_id,
        occurred_at,
        user_id,
        properties
    from {{ ref('int_events_valid') }}
    where event_name = 'identified' and user_id is not null

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

traits_ranked as (

    select
        {{ normalize_identifier('user_id') }} as user_id,
        nullif({{ normalize_identifier(
            json_extract_scalar('properties', "'first_name'")
        ) }}, '') as first_name,
        nullif({{ normalize_identifier(
            json_extract_scalar('properties', "'last_name'")
        ) }}, '') as last_name,
        nullif({{ normalize_identifier(
            json_extract_scalar('properties', "'email'")
        ) }}, '') as email,
        row_number() over (partition by user_id order by occurred_at desc, event_id asc) as recency
    from events

),

latest_traits as (

    select * from traits_ranked
    where recency = 1

),

final as (

    select
        user_seen.user_id,
        user_seen.account_id,
        user_seen.first_seen_at,
        components.deterministic_component,
        latest_traits.first_name,
        latest_traits.last_name,
        latest_traits.email,
        {{ dbt.split_part('latest_traits.email', "'@'", 1) }} as email_local_part,
        {{ dbt.split_part('latest_traits.email', "'@'", 2) }} as email_domain,
        latest_traits.first_name || ' ' || latest_traits.last_name as full_name
    from user_seen
    inner join components on user_seen.user_id = components.user_id
    left join latest_traits on user_seen.user_id = latest_traits.user_id

)

select * from final
