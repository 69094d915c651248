{{ config(materialized='table') }}
{#- The latest traits each user_id sent on `identified` (name and email, each in the normal
    form of normalize_identifier; the email split into local part and domain). -#}
with

events as (

    select
        event_id,
        occurred_at,
        user_id,
        properties
    from {{ ref('int_events_valid') }}
    where event_name = 'identified' and user_id is not null

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
        row_number() over (
            partition by {{ normalize_identifier('user_id') }}
            order by occurred_at desc, event_id asc
        ) as recency
    from events

),

final as (

    select
        user_id,
        first_name,
        last_name,
        email,
        {{ dbt.split_part('email', "'@'", 1) }} as email_local_part,
        {{ dbt.split_part('email', "'@'", 2) }} as email_domain,
        first_name || ' ' || last_name as full_name
    from traits_ranked
    where recency = 1

)

select * from final
