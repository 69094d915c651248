{{ config(materialized='table') }}
{#- One row per identifier seen on a valid event: anonymous_id, device_id, user_id and the
    normalised email of signed_up / identified events (trimmed, lower-cased). Values on the
    blocklist (placeholders like 'null', test ids) are flagged, never used to link. -#}
with

events as (

    select
        event_id,
        event_name,
        occurred_at,
        account_id,
        anonymous_id,
        device_id,
        user_id,
        properties
    from {{ ref('int_events_valid') }}

),

blocklist as (

    select * from {{ ref('identity_blocklist') }}

),

emails as (

    select
        event_id,
        lower(trim({{ json_extract_scalar('properties', "'email'") }})) as email
    from events
    where event_name in ('signed_up', 'identified')

),

unpivoted as (

    select
        event_id,
        occurred_at,
        account_id,
        'anonymous_id' as identifier_type,
        anonymous_id as identifier_value
    from events
    where anonymous_id is not null
    union all
    select
        event_id,
        occurred_at,
        account_id,
        'device_id' as identifier_type,
        device_id as identifier_value
    from events
    where device_id is not null
    union all
    select
        event_id,
        occurred_at,
        account_id,
        'user_id' as identifier_type,
        user_id as identifier_value
    from events
    where user_id is not null
    union all
    select
        events.event_id,
        events.occurred_at,
        events.account_id,
        'email' as identifier_type,
        emails.email as identifier_value
    from events
    inner join emails on events.event_id = emails.event_id
    where emails.email is not null

),

final as (

    select
        unpivoted.event_id,
        unpivoted.occurred_at,
        unpivoted.account_id,
        unpivoted.identifier_type,
        unpivoted.identifier_value,
        unpivoted.identifier_type || ':' || unpivoted.identifier_value as identifier_key,
        blocklist.reason as blocked_reason,
        blocklist.reason is not null or trim(unpivoted.identifier_value) = '' as is_blocked
    from unpivoted
    left join blocklist
        on
            lower(trim(unpivoted.identifier_value)) = lower(blocklist.blocked_value)
            and blocklist.identifier_type in ('*', unpivoted.identifier_type)

)

select * from final
