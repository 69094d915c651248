{{ config(materialized='table') }}
{#- The latest traits each user_id sent on `identified` (name and email, each in the normal
    form of normalize_identifier; the email split into local part and domain): each trait's
    latest non-empty value, so an identify without an email does not erase the one before. -#}
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

traits as (

    select
        event_id,
        occurred_at,
        {{ normalize_identifier('user_id') }} as user_id,
        nullif({{ normalize_identifier(
            json_extract_scalar('properties', "'first_name'")
        ) }}, '') as first_name,
        nullif({{ normalize_identifier(
            json_extract_scalar('properties', "'last_name'")
        ) }}, '') as last_name,
        nullif({{ normalize_identifier(
            json_extract_scalar('properties', "'email'")
        ) }}, '') as email
    from events

),

-- each trait's latest value separately, as Segment merges traits: an identify that sends
-- only a name (or an alias, which sends none) keeps the email sent before
traits_ranked as (

    select
        user_id,
        first_name,
        last_name,
        email,
        row_number() over (
            partition by user_id
            order by case when first_name is null then 1 else 0 end, occurred_at desc, event_id asc
        ) as first_name_recency,
        row_number() over (
            partition by user_id
            order by case when last_name is null then 1 else 0 end, occurred_at desc, event_id asc
        ) as last_name_recency,
        row_number() over (
            partition by user_id
            order by case when email is null then 1 else 0 end, occurred_at desc, event_id asc
        ) as email_recency
    from traits

),

latest as (

    select
        user_id,
        max(case when first_name_recency = 1 then first_name end) as first_name,
        max(case when last_name_recency = 1 then last_name end) as last_name,
        max(case when email_recency = 1 then email end) as email
    from traits_ranked
    group by user_id

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
    from latest

)

select * from final
